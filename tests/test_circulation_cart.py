"""予約カート: collect titles, see which could be held, then place them all at once."""

from app.models import Hold, HoldCartEntry, Notice
from app.models.enums import HoldSource, NoticeKind
from tests.circulation_support import gid, hold, lend, patron
from tests.support import DEFAULT_PASSWORD, codes, make_title

CART = ("{ viewer { holdCart { totalCount edges { node { id title { title } "
        "holdability { holdable reasons messages } } } } } }")
RESULTS = "results { title { title } hold { status queuePosition } errors { code field message } }"


async def _add(client, title_id: int):
    return await client.mutate("addToHoldCart", {"titleId": gid("Title", title_id)}, "entry { id title { title } }")


async def _cart(client) -> list[dict]:
    return [e["node"] for e in (await client.query(CART))["viewer"]["holdCart"]["edges"]]


async def test_titles_collect_in_the_cart_with_whether_each_could_be_held(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    out, on_shelf = await make_title(deps, "貸出中の本"), await make_title(deps, "書架にある本")
    await lend(deps, lender, out)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)

    added = await _add(client, out.id)
    assert added["errors"] == [] and added["entry"]["title"] == {"title": "貸出中の本"}
    await _add(client, on_shelf.id)

    lines = await _cart(client)
    assert [(line["title"]["title"], line["holdability"]["holdable"], line["holdability"]["reasons"]) for line in lines] == [
        ("貸出中の本", True, []),
        ("書架にある本", False, ["TITLE_AVAILABLE_ON_SHELF"]),
    ]
    assert lines[1]["holdability"]["messages"] == ["この資料は貸出可能です。予約せずに図書館でお借りください。"]


async def test_a_title_is_in_the_cart_once_and_can_be_taken_out(client, deps):
    hanako = await patron(deps, 1)
    title = await make_title(deps)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    entry_id = (await _add(client, title.id))["entry"]["id"]
    assert codes(await _add(client, title.id)) == ["ALREADY_IN_CART"]
    assert codes(await _add(client, title.id + 99)) == ["NOT_FOUND"]

    removed = await client.mutate("removeFromHoldCart", {"titleId": gid("Title", title.id)}, "removedEntryId")

    assert removed == {"errors": [], "removedEntryId": entry_id}
    assert await _cart(client) == []
    assert codes(await client.mutate("removeFromHoldCart", {"titleId": gid("Title", title.id)})) == ["NOT_FOUND"]


async def test_the_cart_has_a_size_limit(client, deps, settings):
    hanako = await patron(deps, 1)
    limit = settings.policy.hold_cart_limit
    titles = [await make_title(deps, f"本{n}") for n in range(limit + 1)]
    await HoldCartEntry.bulk_create([HoldCartEntry(patron_id=hanako.id, title_id=t.id, added_at=deps.now())
                                     for t in titles[:limit]])
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    payload = await _add(client, titles[-1].id)
    assert codes(payload) == ["LIMIT_REACHED"] and f"{limit}件" in payload["errors"][0]["message"]


async def test_placing_the_cart_reports_each_line_and_keeps_the_failed_ones(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    out, on_shelf, held = await make_title(deps, "貸出中の本"), await make_title(deps, "書架にある本"), await make_title(deps, "予約済みの本")
    await lend(deps, lender, out)
    await lend(deps, lender, held)
    await hold(deps, hanako, held)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    for title in (out, on_shelf, held):
        await _add(client, title.id)

    payload = await client.mutate("placeHoldsFromCart", {}, RESULTS)

    assert payload["errors"] == []
    assert [(r["title"]["title"], r["hold"], [e["code"] for e in r["errors"]]) for r in payload["results"]] == [
        ("貸出中の本", {"status": "WAITING", "queuePosition": 1}, []),
        ("書架にある本", None, ["TITLE_AVAILABLE_ON_SHELF"]),
        ("予約済みの本", None, ["ALREADY_HELD"]),
    ]
    assert [line["title"]["title"] for line in await _cart(client)] == ["書架にある本", "予約済みの本"]
    assert await Notice.filter(kind=NoticeKind.HOLD_RECEIVED, patron_id=hanako.id).count() == 2


async def test_the_hold_limit_counts_lines_placed_earlier_in_the_same_batch(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    titles = [await make_title(deps, f"本{n}") for n in range(5)]
    for title in titles:
        await lend(deps, lender, title)
    extra = [await make_title(deps, f"既存{n}") for n in range(8)]
    for n, title in enumerate(extra):
        await lend(deps, lender, title)
        await hold(deps, hanako, title, HoldSource.COUNTER if n % 2 else HoldSource.WEB)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    for title in titles:
        await _add(client, title.id)

    results = (await client.mutate("placeHoldsFromCart", {}, RESULTS))["results"]

    assert [[e["code"] for e in r["errors"]] for r in results] == [[], [], ["HOLD_LIMIT_REACHED"],
                                                                    ["HOLD_LIMIT_REACHED"], ["HOLD_LIMIT_REACHED"]]
    assert await Hold.filter(patron_id=hanako.id).count() == 10
    assert len(await _cart(client)) == 3


async def test_chosen_lines_only_and_unknown_lines(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    first, second = await make_title(deps, "一冊目"), await make_title(deps, "二冊目")
    await lend(deps, lender, first)
    await lend(deps, lender, second)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    await _add(client, first.id)
    await _add(client, second.id)

    payload = await client.mutate("placeHoldsFromCart", {"titleIds": [gid("Title", second.id), "bogus"]}, RESULTS)

    assert [(r["title"], [e["code"] for e in r["errors"]]) for r in payload["results"]] == [
        ({"title": "二冊目"}, []), (None, ["NOT_FOUND"])]
    assert [line["title"]["title"] for line in await _cart(client)] == ["一冊目"]


async def test_a_patron_without_email_is_told_on_every_line(client, deps):
    lender, taro = await patron(deps, 1), await patron(deps, 2, email=False)
    title = await make_title(deps)
    await lend(deps, lender, title)
    await client.login(taro.card_number, DEFAULT_PASSWORD)
    await _add(client, title.id)
    assert (await _cart(client))[0]["holdability"]["reasons"] == ["NO_CONTACT_EMAIL"]
    (result,) = (await client.mutate("placeHoldsFromCart", {}, RESULTS))["results"]
    assert [e["code"] for e in result["errors"]] == ["NO_CONTACT_EMAIL"]
    assert not await Hold.exists()


async def test_the_cart_is_the_patrons_own(client, other_client, deps):
    hanako, taro = await patron(deps, 1), await patron(deps, 2)
    title = await make_title(deps)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    entry_id = (await _add(client, title.id))["entry"]["id"]
    await other_client.login(taro.card_number, DEFAULT_PASSWORD)
    assert await _cart(other_client) == []
    assert (await other_client.query("query($id: ID!) { node(id: $id) { id } }", {"id": entry_id})) == {"node": None}
    assert codes(await other_client.mutate("removeFromHoldCart", {"titleId": gid("Title", title.id)})) == ["NOT_FOUND"]
    assert codes(await other_client.mutate("placeHoldsFromCart", {"titleIds": [gid("Title", title.id)]}, RESULTS)) == []
    assert await HoldCartEntry.filter(patron_id=hanako.id).count() == 1
