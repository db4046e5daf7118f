"""資料を探す: keyword search over titles, authors, publishers and their readings, with filters."""

import json
from datetime import timedelta

import pytest

from app.domain import catalog_search
from app.domain.catalog_search import SearchCache
from app.domain.errors import DomainError, ErrorCode
from app.domain.search_index import TitleFields, indexed_columns
from app.models import Hold, Item, Title
from app.models.enums import HoldSource, HoldStatus, ItemStatus, MaterialType
from tests.support import make_item, make_patron, make_title

SEARCH = """
query($keyword: String!, $filter: CatalogFilterInput, $first: Int, $after: String) {
  searchCatalog(keyword: $keyword, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { title author availability { copies available onLoan holdsWaiting } owned holdable } }
  }
}
"""


async def titles_found(client, keyword: str, **variables) -> list[str]:
    data = await client.query(SEARCH, {"keyword": keyword, **variables})
    return [e["node"]["title"] for e in data["searchCatalog"]["edges"]]


@pytest.fixture
async def shelf(deps):
    """A small catalog with readings, as the library records them."""
    await make_title(deps, "吾輩は猫である", title_kana="ワガハイハネコデアル", author="夏目漱石",
                     author_kana="ナツメソウセキ", publisher="岩波書店")
    await make_title(deps, "銀河鉄道の夜", title_kana="ギンガテツドウノヨル", author="宮沢賢治",
                     author_kana="ミヤザワケンジ", publisher="新潮社")
    await make_title(deps, "はじめての宇宙", title_kana="ハジメテノウチュウ", author="古賀花子",
                     author_kana="コガハナコ", publisher="福音館書店")
    await make_title(deps, "コンピューターのひみつ", title_kana="コンピューターノヒミツ", author="山田太郎",
                     author_kana="ヤマダタロウ", publisher="技術評論社")
    await make_title(deps, "ヴァイオリンを弾く猫", title_kana="ヴァイオリンヲヒクネコ", author="鈴木美咲",
                     author_kana="スズキミサキ", publisher="ポプラ社")


async def test_kanji_substring_in_the_middle_of_a_title(client, shelf):
    assert await titles_found(client, "鉄道") == ["銀河鉄道の夜"]
    assert await titles_found(client, "河鉄道の") == ["銀河鉄道の夜"]


async def test_hiragana_finds_the_katakana_reading(client, shelf):
    assert await titles_found(client, "ぎんがてつどう") == ["銀河鉄道の夜"]
    assert await titles_found(client, "ねこである") == ["吾輩は猫である"]


async def test_half_width_katakana_and_full_width_letters_match(client, shelf):
    assert await titles_found(client, "ﾅﾂﾒｿｳｾｷ") == ["吾輩は猫である"]
    assert await titles_found(client, "ﾐﾔｻﾞﾜ") == ["銀河鉄道の夜"]


async def test_katakana_query_finds_a_hiragana_title(client, shelf):
    assert await titles_found(client, "ハジメテノ") == ["はじめての宇宙"]


async def test_kana_variants_match_each_other(client, shelf):
    # The long-vowel mark and ヴァ/バ are spelled both ways.
    assert await titles_found(client, "コンピュータ") == ["コンピューターのひみつ"]
    assert await titles_found(client, "ばいおりん") == ["ヴァイオリンを弾く猫"]


async def test_author_and_publisher_are_searched(client, shelf):
    assert await titles_found(client, "宮沢賢治") == ["銀河鉄道の夜"]
    assert await titles_found(client, "いわなみ") == []  # publisher reading not recorded in this fixture
    assert await titles_found(client, "岩波") == ["吾輩は猫である"]


async def test_one_and_two_character_queries(client, shelf):
    assert await titles_found(client, "猫") == ["ヴァイオリンを弾く猫", "吾輩は猫である"]
    assert await titles_found(client, "宇宙") == ["はじめての宇宙"]
    assert await titles_found(client, "夜") == ["銀河鉄道の夜"]  # the last character of a title


async def test_every_word_must_match(client, shelf):
    assert await titles_found(client, "猫　夏目") == ["吾輩は猫である"]
    assert await titles_found(client, "ねこ すずき") == ["ヴァイオリンを弾く猫"]
    assert await titles_found(client, "猫 宇宙") == []


async def test_no_results_and_no_match_across_fields(client, shelf):
    assert await titles_found(client, "存在しない本") == []
    # 夜 ends the title and ギ begins its reading: they are separate fields.
    assert await titles_found(client, "夜ギ") == []
    assert await titles_found(client, "夜ギンガ") == []


async def test_results_carry_availability(client, deps):
    title = await make_title(deps, "坊っちゃん", title_kana="ボッチャン", copies=0)
    await make_item(deps, title, status=ItemStatus.ON_LOAN)
    await make_item(deps, title, status=ItemStatus.ON_LOAN)
    patron = await make_patron(deps)
    await Hold.create(patron=patron, title=title, source=HoldSource.WEB, status=HoldStatus.WAITING, placed_at=deps.now())
    data = await client.query(SEARCH, {"keyword": "ぼっちゃん"})
    node = data["searchCatalog"]["edges"][0]["node"]
    assert node["availability"] == {"copies": 2, "available": 0, "onLoan": 2, "holdsWaiting": 1}
    assert node["owned"] and node["holdable"]


async def test_paging_through_many_results(client, deps):
    for n in range(7):
        await make_title(deps, f"猫の本 {n}", title_kana=f"ネコノホン {n}")
    first = (await client.query(SEARCH, {"keyword": "ねこのほん", "first": 3}))["searchCatalog"]
    assert first["totalCount"] == 7
    assert [e["node"]["title"] for e in first["edges"]] == ["猫の本 6", "猫の本 5", "猫の本 4"]
    assert first["pageInfo"]["hasNextPage"]
    seen = [e["node"]["title"] for e in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await client.query(SEARCH, {"keyword": "ねこのほん", "first": 3, "after": after}))["searchCatalog"]
        seen += [e["node"]["title"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == [f"猫の本 {n}" for n in range(6, -1, -1)]
    # Short queries page the same way.
    short = (await client.query(SEARCH, {"keyword": "猫", "first": 5}))["searchCatalog"]
    assert short["totalCount"] == 7 and short["pageInfo"]["hasNextPage"]


async def test_filters_material_type_available_now_and_holdable(client, deps):
    await make_title(deps, "猫の絵本", title_kana="ネコノエホン", material_type=MaterialType.PICTURE_BOOK)
    out = await make_title(deps, "猫の図鑑", title_kana="ネコノズカン", copies=0)
    await make_item(deps, out, status=ItemStatus.ON_LOAN)
    await make_item(deps, out, loanable=False)  # a reference copy on the shelf does not make it lendable
    await make_title(deps, "猫の雑誌", title_kana="ネコノザッシ", copies=0, material_type=MaterialType.MAGAZINE)

    async def found(keyword, **flt):
        return sorted(await titles_found(client, keyword, filter=flt))

    for keyword in ("猫の", "猫"):  # the trigram and the bigram index
        assert await found(keyword, materialTypes=["PICTURE_BOOK"]) == ["猫の絵本"]
        assert await found(keyword, availableNow=True) == ["猫の絵本"]
        # Not owned (no copies) is not holdable either.
        assert await found(keyword, holdable=True) == ["猫の図鑑"]
        assert await found(keyword, materialTypes=["BOOK", "MAGAZINE"]) == ["猫の図鑑", "猫の雑誌"]
    assert await found("", holdable=True) == ["猫の図鑑"]


async def test_empty_keyword_lists_the_catalog_newest_first(client, shelf):
    titles = await titles_found(client, "  ")
    assert titles[0] == "ヴァイオリンを弾く猫" and len(titles) == 5


async def test_search_follows_edits_and_deletions(client, deps, shelf):
    title = await Title.get(title="銀河鉄道の夜")
    title.title, title.title_kana = "銀河の果て", "ギンガノハテ"
    for column, value in indexed_columns(TitleFields(title.title, title.title_kana, title.author,
                                                     title.author_kana, title.publisher)).items():
        setattr(title, column, value)
    await title.save()
    assert await titles_found(client, "鉄道") == []
    assert await titles_found(client, "果て") == ["銀河の果て"]
    await title.delete()
    assert await titles_found(client, "銀河") == []
    assert await titles_found(client, "ぎんが") == []


async def test_query_syntax_characters_are_plain_text(client, shelf):
    await make_title(deps=client_deps(client), title="100%の猫", title_kana="")
    for keyword in ('"猫', "猫*", "猫\\", "NEAR(猫)", "猫 OR 夜", "100%猫", "猫_", "AND", "ne*"):
        data = await client.execute(SEARCH, {"keyword": keyword})
        assert "errors" not in data, (keyword, data)
    # Quotes, stars, percents and backslashes are punctuation: they separate words.
    assert await titles_found(client, '"猫*') == ["100%の猫", "ヴァイオリンを弾く猫", "吾輩は猫である"]
    assert await titles_found(client, "100%猫") == ["100%の猫"]
    assert await titles_found(client, "NEAR(猫)") == []  # "near" is a word like any other
    # A keyword of punctuation alone has nothing to find (the whole catalog is listed only for
    # an empty keyword).
    for keyword in ("%", "_", "\\", '"', "*", "（）"):
        data = await client.query(SEARCH_TERMS, {"keyword": keyword})
        assert data["searchCatalog"] == {"totalCount": 0, "totalCountIsExact": True, "searchTerms": [], "edges": []}


def client_deps(client):
    return client.http._transport.app.state.deps


SEARCH_TERMS = """
query($keyword: String!) { searchCatalog(keyword: $keyword) { totalCount totalCountIsExact searchTerms edges { node { title } } } }
"""


@pytest.mark.parametrize(("keyword", "reason"), [
    ("猫" * 201, "KEYWORD_TOO_LONG"),
    ("猫\x85", "KEYWORD_INVALID_CHARACTER"),  # a C1 control character (NEL)
    ("\x9b31m猫", "KEYWORD_INVALID_CHARACTER"),
])
async def test_a_keyword_no_search_can_take_is_a_typed_bad_request(client, shelf, keyword, reason):
    body = await client.execute(SEARCH, {"keyword": keyword})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": reason, "argument": "keyword"}
    assert error["message"].startswith("キーワード")


@pytest.mark.parametrize("keyword", ["猫\x00", "\x1b[31m猫", "猫\ud800", "\udfff"])
async def test_nul_escapes_and_lone_surrogates_are_refused_before_the_search_runs(client, shelf, keyword):
    # Sent as JSON escapes, as a browser would send them: refused before any field runs.
    response = await client.http.post("/graphql", content=json.dumps({"query": SEARCH, "variables": {"keyword": keyword}}),
                                      headers={"content-type": "application/json"})
    body = response.json()
    assert response.status_code in (200, 400) and "data" not in body
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "BAD_REQUEST")
    # The search's own check refuses them too, should they ever reach it (a literal, a caller).
    with pytest.raises(DomainError) as refused:
        catalog_search.parse_keyword(keyword)
    assert refused.value.code is ErrorCode.KEYWORD_INVALID_CHARACTER


async def test_blank_keywords_list_the_whole_catalog(client, shelf):
    for keyword in ("", "  ", "\u3000", "\t\n"):
        data = await client.query(SEARCH_TERMS, {"keyword": keyword})
        assert data["searchCatalog"]["totalCount"] == 5 and data["searchCatalog"]["searchTerms"] == []
    assert (await client.query('{ searchCatalog { totalCount } }'))["searchCatalog"]["totalCount"] == 5


async def test_a_keyword_of_exactly_200_characters_is_searched(client, shelf):
    data = await client.query(SEARCH_TERMS, {"keyword": "猫" + " " * 198 + "夏"})
    assert data["searchCatalog"]["searchTerms"] == ["猫", "夏"]


async def test_new_arrivals_are_recent_titles_newest_first(client, deps):
    today = deps.today()
    await make_title(deps, "今日届いた本", arrived_on=today)
    await make_title(deps, "先週届いた本", arrived_on=today - timedelta(days=7))
    await make_title(deps, "去年の本", arrived_on=today - timedelta(days=365))
    await make_title(deps, "明日届く本", arrived_on=today + timedelta(days=1))
    data = await client.query("{ newArrivals { totalCount edges { node { title arrivedOn } } } }")
    assert [e["node"]["title"] for e in data["newArrivals"]["edges"]] == ["今日届いた本", "先週届いた本"]
    assert data["newArrivals"]["totalCount"] == 2


async def test_most_held_titles_rank_by_active_holds(client, deps):
    popular = await make_title(deps, "人気の本", copies=0)
    quiet = await make_title(deps, "静かな本", copies=0)
    await make_title(deps, "誰も待っていない本")
    patrons = [await make_patron(deps, f"1012345{n:02d}") for n in range(4)]
    for p in patrons[:3]:
        await Hold.create(patron=p, title=popular, source=HoldSource.WEB, status=HoldStatus.WAITING, placed_at=deps.now())
    await Hold.create(patron=patrons[3], title=quiet, source=HoldSource.COUNTER, status=HoldStatus.READY, placed_at=deps.now())
    await Hold.create(patron=patrons[3], title=popular, source=HoldSource.WEB, status=HoldStatus.CANCELLED,
                      placed_at=deps.now())
    data = await client.query("{ mostHeldTitles(first: 10) { totalCount edges { node { title availability { holdsWaiting } } } } }")
    nodes = [e["node"] for e in data["mostHeldTitles"]["edges"]]
    assert [n["title"] for n in nodes] == ["人気の本", "静かな本"]
    assert nodes[0]["availability"]["holdsWaiting"] == 3
    assert data["mostHeldTitles"]["totalCount"] == 2


async def test_title_lists_its_copies(client, deps):
    title = await make_title(deps, "こころ", copies=2)
    await make_item(deps, title, status=ItemStatus.WITHDRAWN)
    data = await client.query('{ searchCatalog(keyword: "こころ") { edges { node { items { barcode status location title { title } } } } } }')
    items = data["searchCatalog"]["edges"][0]["node"]["items"]
    assert [i["status"] for i in items] == ["AVAILABLE", "AVAILABLE"]
    assert items[0]["title"]["title"] == "こころ"
    assert await Item.filter(title=title).count() == 3


async def test_the_filters_follow_the_availability_rules_for_every_copy_status(deps):
    from app.domain.catalog import CatalogFilter, availability

    async def search(keyword, flt, limit):
        return await catalog_search.search(SearchCache(), keyword, flt, limit=limit)

    combos = [[], [ItemStatus.AVAILABLE], [ItemStatus.ON_LOAN], [ItemStatus.ON_HOLD_SHELF, ItemStatus.IN_TRANSIT],
              [ItemStatus.MISSING], [ItemStatus.WITHDRAWN, ItemStatus.ON_LOAN], [ItemStatus.ON_LOAN, ItemStatus.AVAILABLE],
              [ItemStatus.MISSING, ItemStatus.WITHDRAWN]]
    titles = []
    for n, statuses in enumerate(combos):
        title = await make_title(deps, f"猫の本 {n}", title_kana="ネコノホン", copies=0)
        for status in statuses:
            await make_item(deps, title, status=status)
        await make_item(deps, title, status=ItemStatus.AVAILABLE, loanable=False)  # reference copy: never counts
        titles.append(title)
    found = await availability([t.id for t in titles])
    for keyword in ("", "猫", "猫の本", "ねこのほん"):
        holdable = {t.id for t in (await search(keyword, CatalogFilter(holdable=True), limit=50)).titles}
        assert holdable == {i for i, a in found.items() if a.all_copies_out}, keyword
        on_shelf = {t.id for t in (await search(keyword, CatalogFilter(available_now=True), limit=50)).titles}
        assert on_shelf == {i for i, a in found.items() if a.available > 0}, keyword
