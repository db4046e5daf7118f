"""The whole story of the issue: a patron registers an address from GraphiQL, receives the
confirmation mail, confirms on the link page, then receives the hold-received, hold-ready and
due-reminder mails as circulation runs, all through the worker and a real SMTP server."""

from __future__ import annotations

from datetime import datetime

import pytest
from strawberry import relay

from app.models import Item, Patron
from app.worker import Worker
from tests.conftest import http_client
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, GraphQLClient, make_patron, make_staff, make_title


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


async def test_a_patron_registers_an_address_and_then_gets_every_notice_there(app, client, deps, smtp_server, clock):
    await make_patron(deps, "101234567")
    worker = Worker(deps, holder="story-worker")
    await worker.start()
    try:
        # 利用者情報変更 → E-Mail: the address is pending and a confirmation mail goes out.
        await client.login("101234567", DEFAULT_PASSWORD)
        payload = await client.mutate("requestEmailChange", {"newEmail": "hanako@example.jp"}, "pendingEmail")
        assert payload == {"errors": [], "pendingEmail": "hanako@example.jp"}
        await worker.iterate()
        [confirmation] = smtp_server.to("hanako@example.jp")

        # The patron opens the link and presses 登録を確定する.
        async with http_client(app) as browser:
            link = f"/email/confirm?token={confirmation.confirmation_token()}"
            assert "登録を確定する" in (await browser.get(link)).text
            done = await browser.post("/email/confirm", data={"token": confirmation.confirmation_token()})
        assert "登録が完了しました" in done.text
        patron = await Patron.get()
        assert patron.contact_email == "hanako@example.jp"

        # Someone else has the only copy; the patron places a web hold (予約受付).
        title = await make_title(deps, "銀河鉄道の夜")
        item = await Item.get(title=title)
        await make_patron(deps, "107654321")
        await make_staff(deps)
        async with http_client(app, address="198.51.100.30") as desk_http:
            desk = GraphQLClient(desk_http)
            await desk.staff_login("desk1", STAFF_PASSWORD)
            assert (await desk.mutate("checkoutItem", {"cardNumber": "107654321", "barcode": item.barcode}))["errors"] == []
            hold = await client.mutate("placeHold", {"titleId": relay.to_base64("Title", title.id)}, "hold { status }")
            assert hold == {"errors": [], "hold": {"status": "WAITING"}}
            await worker.iterate()

            # The copy comes back and is kept for the patron (貸出準備完了), who collects it.
            assert (await desk.mutate("checkinItem", {"barcode": item.barcode}))["errors"] == []
            await worker.iterate()
            loan = await desk.mutate("checkoutItem", {"cardNumber": "101234567", "barcode": item.barcode},
                                     "loan { dueDate }")
            assert loan == {"errors": [], "loan": {"dueDate": "2026-12-12"}}

        # The loan is due on 12 December: the reminder comes on the 10th, once.
        clock.set(datetime(2026, 12, 10, 9, 0))
        await client.login("101234567", DEFAULT_PASSWORD)
        await worker.iterate()
        await worker.iterate()
    finally:
        await worker.stop()

    assert [m.subject for m in smtp_server.to("hanako@example.jp")] == [
        "【古賀市立図書館】メールアドレス登録の確認",
        "【古賀市立図書館】予約受付のお知らせ",
        "【古賀市立図書館】貸出準備完了のお知らせ",
        "【古賀市立図書館】返却日のお知らせ",
    ]
    # Titles stay out of the mails by default (patron privacy).
    assert not any("銀河鉄道の夜" in m.body for m in smtp_server.received)
    data = await client.query("{ viewer { notices { edges { node { kind status } } } } }")
    assert [e["node"] for e in data["viewer"]["notices"]["edges"]] == [
        {"kind": "DUE_REMINDER", "status": "SENT"},
        {"kind": "HOLD_READY", "status": "SENT"},
        {"kind": "HOLD_RECEIVED", "status": "SENT"},
        {"kind": "EMAIL_CONFIRMATION", "status": "SENT"},
    ]
