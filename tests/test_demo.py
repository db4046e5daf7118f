"""The demo data set: a demo patron can log in and see themselves, as the README promises."""

from app.demo import DEMO_PATRONS, DEMO_STAFF, load_demo
from app.models import CalendarEvent, Hold, Item, Loan, Title


async def test_demo_patron_logs_in_and_viewer_shows_them(client, deps):
    assert await load_demo(deps, titles=120)
    hanako = DEMO_PATRONS[0]
    await client.login(hanako.card_number, hanako.password)
    viewer = (await client.query("{ viewer { cardNumber nameKana email } }"))["viewer"]
    assert viewer == {"cardNumber": hanako.card_number, "nameKana": hanako.name_kana, "email": hanako.email}


async def test_demo_is_believable_and_loads_only_once(client, deps):
    assert await load_demo(deps, titles=120)
    assert not await load_demo(deps, titles=120)
    assert await Title.all().count() == 120
    assert await Item.all().count() > 120
    assert await Loan.filter(returned_at=None).count() > 10
    assert await Hold.all().count() > 3
    assert await CalendarEvent.filter(title="赤ちゃんおはなし会").exists()
    wagahai = await Title.get(title="吾輩は猫である")
    assert wagahai.title_kana == "ワガハイハネコデアル"
    username, password, _ = DEMO_STAFF[0]
    await client.staff_login(username, password)


async def test_demo_patron_has_a_library_of_her_own_and_the_catalog_is_searchable(client, deps):
    assert await load_demo(deps, titles=120)
    hanako = DEMO_PATRONS[0]
    await client.login(hanako.card_number, hanako.password)
    data = await client.query("""{ viewer {
      favorites { totalCount } bookshelves { edges { node { name entries { totalCount } } } }
      readingHistoryEnabled readingHistory { totalCount }
      readingMarathon { target count months { month count } } } }""")
    viewer = data["viewer"]
    assert viewer["favorites"]["totalCount"] == 4
    assert [e["node"]["name"] for e in viewer["bookshelves"]["edges"]] == ["宮沢賢治を読む", "子どもと読みたい"]
    assert viewer["readingHistoryEnabled"] and viewer["readingHistory"]["totalCount"] == 9
    assert viewer["readingMarathon"]["target"] == 24 and viewer["readingMarathon"]["count"] >= 9
    found = await client.query('{ searchCatalog(keyword: "ぎんがてつどう") { edges { node { title availability { copies } } } } }')
    assert [e["node"]["title"] for e in found["searchCatalog"]["edges"]] == ["銀河鉄道の夜"]
    publisher = await client.query('{ searchCatalog(keyword: "いわなみ", first: 1) { totalCount } }')
    assert publisher["searchCatalog"]["totalCount"] > 0
    calendar = await client.query("{ libraryCalendar(year: 2026, month: 2) { events { day title } } }")
    assert {"day": "2026-02-11", "title": "赤ちゃんおはなし会"} in calendar["libraryCalendar"]["events"]


async def test_the_smallest_demo_still_tells_the_whole_story(client, deps):
    from app.cli import DEMO_MIN_TITLES

    assert await load_demo(deps, titles=DEMO_MIN_TITLES)
    hanako = DEMO_PATRONS[0]
    await client.login(hanako.card_number, hanako.password)
    viewer = (await client.query("{ viewer { loans { totalCount } holds { totalCount } } }"))["viewer"]
    assert viewer["loans"]["totalCount"] == 3 and viewer["holds"]["totalCount"] == 2


def test_a_demo_too_small_for_its_story_is_refused_before_anything_is_written(capsys):
    import pytest

    from app.cli import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["demo", "--titles", "20"])
    assert exit_.value.code == 2
    assert "at least 50 titles" in capsys.readouterr().err
