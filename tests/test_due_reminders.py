"""Due-date reminders (返却日メール, F15): REMINDER_DAYS before the due date, one per patron and
due date, never twice, only for patrons who want them and have an address; renewal moves them."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain import mailer
from app.domain.deps import Deps
from app.domain.reminders import queue_due_reminders
from app.models import Item, Loan, Notice, Patron
from app.models.enums import NoticeKind
from tests.support import make_patron, make_title

DUE = date(2026, 11, 30)  # Monday, two days after the suite's Saturday


@pytest.fixture
def settings(settings, smtp_server):
    return settings.replace(smtp_port=smtp_server.port)


async def lend(deps: Deps, patron: Patron, due: date = DUE, title: str = "銀河鉄道の夜") -> Loan:
    book = await make_title(deps, title)
    item = await Item.get(title=book)
    return await Loan.create(item=item, title=book, patron=patron, checked_out_at=deps.now(), due_date=due)


async def reminders() -> list[Notice]:
    return await Notice.filter(kind=NoticeKind.DUE_REMINDER).order_by("id")


async def test_a_reminder_is_mailed_two_days_before_the_due_date(deps, smtp_server):
    patron = await make_patron(deps, email="hanako@example.jp")
    loan = await lend(deps, patron)

    assert await queue_due_reminders(deps) == 1
    await mailer.deliver_once(deps)

    [notice] = await reminders()
    assert notice.dedupe_key == f"due_reminder:{patron.id}:2026-11-30"
    assert notice.data == {"due_date": "2026-11-30", "count": 1}
    [mail] = smtp_server.to("hanako@example.jp")
    assert mail.subject == "【古賀市立図書館】返却日のお知らせ"
    assert "返却期限日：2026年11月30日（月）\n点数　　　：1点\n" in mail.body
    assert "銀河鉄道の夜" not in mail.body


async def test_nothing_is_queued_for_loans_due_later(deps, clock):
    patron = await make_patron(deps, email="hanako@example.jp")
    await lend(deps, patron, due=date(2026, 12, 1))

    assert await queue_due_reminders(deps) == 0
    clock.set_date(date(2026, 11, 29))
    assert await queue_due_reminders(deps) == 1


async def test_one_reminder_lists_every_loan_due_that_day(deps):
    patron = await make_patron(deps, email="hanako@example.jp")
    first, second = await lend(deps, patron, title="こころ"), await lend(deps, patron, title="雪国")
    await lend(deps, patron, due=date(2026, 12, 10), title="檸檬")

    await queue_due_reminders(deps)

    [notice] = await reminders()
    assert notice.data["count"] == 2


async def test_running_the_step_again_adds_nothing(deps, clock):
    patron = await make_patron(deps, email="hanako@example.jp")
    await lend(deps, patron)

    assert await queue_due_reminders(deps) == 1
    assert await queue_due_reminders(deps) == 0
    clock.set_date(date(2026, 11, 29))  # the next day still covers the same due date
    assert await queue_due_reminders(deps) == 0
    assert len(await reminders()) == 1


async def test_a_renewal_gets_a_reminder_for_its_new_due_date(deps, clock):
    patron = await make_patron(deps, email="hanako@example.jp")
    loan = await lend(deps, patron)
    await queue_due_reminders(deps)

    await Loan.filter(id=loan.id).update(due_date=date(2026, 12, 12), renewal_count=1)
    clock.set_date(date(2026, 12, 10))
    assert await queue_due_reminders(deps) == 1

    assert [n.data["due_date"] for n in await reminders()] == ["2026-11-30", "2026-12-12"]


async def test_a_missed_day_is_caught_up_before_the_due_date(deps, clock):
    patron = await make_patron(deps, email="hanako@example.jp")
    await lend(deps, patron)
    clock.set_date(date(2026, 11, 30))  # the worker was down on the 28th and 29th

    assert await queue_due_reminders(deps) == 1
    clock.set_date(date(2026, 12, 1))  # overdue: no reminder any more (that is another notice)
    await Notice.all().delete()
    assert await queue_due_reminders(deps) == 0


async def test_no_reminder_for_patrons_who_turned_it_off_or_have_no_address_or_returned_the_book(deps):
    off = await make_patron(deps, "101000001", email="off@example.jp")
    await Patron.filter(id=off.id).update(notify_due_reminder=False)
    no_address = await make_patron(deps, "101000002")
    returned = await make_patron(deps, "101000003", email="returned@example.jp")
    await lend(deps, off)
    await lend(deps, no_address)
    loan = await lend(deps, returned)
    await Loan.filter(id=loan.id).update(returned_at=deps.now())

    assert await queue_due_reminders(deps) == 0


async def test_reminders_go_to_the_contact_address(deps):
    patron = await make_patron(deps, email="hanako@example.jp")
    await Patron.filter(id=patron.id).update(contact_email="family@example.jp")
    await lend(deps, patron)

    await queue_due_reminders(deps)

    assert (await reminders())[0].to_address == "family@example.jp"


async def test_titles_are_listed_only_when_the_library_chose_to_name_them(deps, smtp_server):
    named = Deps(deps.settings.replace(notices_include_titles=True), deps.clock, deps.hasher)
    patron = await make_patron(deps, email="hanako@example.jp")
    await lend(deps, patron, title="こころ")
    await lend(deps, patron, title="雪国")

    await queue_due_reminders(named)
    await mailer.deliver_once(named)

    [mail] = smtp_server.received
    assert "点数　　　：2点\n資料名　　：\n・こころ\n・雪国\n" in mail.body
