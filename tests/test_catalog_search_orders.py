"""Sorting and narrowing a result list as an OPAC user expects: relevance, newest, 五十音順, and
the count of every narrowing option for the current keyword (facets)."""

from __future__ import annotations

import pytest

from app.domain.search_index import reading_key
from app.models.enums import ItemStatus, MaterialType
from tests.support import make_item, make_title

SEARCH = """
query($keyword: String!, $sort: CatalogSort, $filter: CatalogFilterInput, $first: Int) {
  searchCatalog(keyword: $keyword, sort: $sort, filter: $filter, first: $first) {
    totalCount totalCountIsExact
    edges { node { title } }
    facets {
      materialTypes { materialType count isExact }
      availableNow { count isExact }
      holdable { count isExact }
    }
  }
}
"""


async def search(client, keyword: str, **variables) -> dict:
    return (await client.query(SEARCH, {"keyword": keyword, **variables}))["searchCatalog"]


async def titles(client, keyword: str, **variables) -> list[str]:
    return [e["node"]["title"] for e in (await search(client, keyword, **variables))["edges"]]


async def test_relevance_puts_the_exact_title_first_then_title_matches_then_author_and_publisher(client, deps):
    # Created oldest first: without relevance, the newest record would lead.
    await make_title(deps, "猫", title_kana="ネコ", author="佐藤花子")
    await make_title(deps, "猫の事務所", title_kana="ネコノジムショ", author="宮沢賢治")
    await make_title(deps, "犬と暮らす", title_kana="イヌトクラス", author="猫田一郎", author_kana="ネコタイチロウ")
    await make_title(deps, "どうぶつ図鑑", title_kana="ドウブツズカン", publisher="猫の手書房")
    await make_title(deps, "吾輩は猫である", title_kana="ワガハイハネコデアル", author="夏目漱石")
    assert await titles(client, "猫") == ["猫", "吾輩は猫である", "猫の事務所", "どうぶつ図鑑", "犬と暮らす"]
    # The reading counts as the title; an exact reading is an exact title.
    assert (await titles(client, "ねこ"))[:3] == ["猫", "吾輩は猫である", "猫の事務所"]
    # Every word must be in the title for a title match.
    assert await titles(client, "猫 夏目") == ["吾輩は猫である"]
    assert await titles(client, "猫 事務所") == ["猫の事務所"]


async def test_relevance_is_the_default_and_each_sort_lists_every_match_once(client, deps):
    for n in range(6):
        await make_title(deps, f"宇宙の本 {n}", title_kana=f"ウチュウノホン {n}", published_year=2000 + n % 3)
    await make_title(deps, "宇宙", title_kana="ウチュウ", published_year=1990)
    default = await titles(client, "宇宙")
    assert default == await titles(client, "宇宙", sort="RELEVANCE")
    assert default[0] == "宇宙"
    for sort in ("RELEVANCE", "NEWEST", "TITLE_READING"):
        assert sorted(await titles(client, "宇宙", sort=sort)) == sorted(default), sort


async def test_newest_sorts_by_year_of_publication_with_unknown_years_last(client, deps):
    await make_title(deps, "古い星の本", title_kana="フルイホシノホン", published_year=1970)
    await make_title(deps, "年のない星の本", title_kana="トシノナイホシノホン", published_year=None)
    await make_title(deps, "新しい星の本", title_kana="アタラシイホシノホン", published_year=2024)
    await make_title(deps, "星の本 上", title_kana="ホシノホン 1", published_year=2001)
    await make_title(deps, "星の本 下", title_kana="ホシノホン 2", published_year=2001)
    assert await titles(client, "星", sort="NEWEST") == [
        "新しい星の本", "星の本 下", "星の本 上", "古い星の本", "年のない星の本"]


async def test_title_reading_sorts_in_gojuon_order(client, deps):
    for title, kana in [("学校の本", "ガッコウノホン"), ("かっぱの本", "カッパノホン"), ("赤い本", "アカイホン"),
                        ("パンの本", "パンノホン"), ("はなの本", "ハナノホン"), ("ABCの本", ""), ("漢字だけの本", "")]:
        await make_title(deps, title, title_kana=kana)
    # ガ sorts with カ (カツコ before カツハ), パ with ハ (ハナ before パン); a title without a
    # reading sorts by its own text: letters first, kanji after every kana.
    assert await titles(client, "本", sort="TITLE_READING") == [
        "ABCの本", "赤い本", "学校の本", "かっぱの本", "はなの本", "パンの本", "漢字だけの本"]


def test_the_reading_key_sets_sound_marks_aside_then_breaks_ties_with_them():
    assert reading_key("ハハ") < reading_key("パパ") < reading_key("ハハオヤ")
    assert reading_key("カ") < reading_key("ガ") < reading_key("カキ")


async def test_facets_count_each_material_type_and_availability_for_the_keyword(client, deps):
    on_shelf = await make_title(deps, "森の絵本", title_kana="モリノエホン", material_type=MaterialType.PICTURE_BOOK)
    out = await make_title(deps, "森の図鑑", title_kana="モリノズカン", copies=0)
    await make_item(deps, out, status=ItemStatus.ON_LOAN)
    await make_title(deps, "森の紙芝居", title_kana="モリノカミシバイ", material_type=MaterialType.KAMISHIBAI, copies=0)
    await make_title(deps, "海の図鑑", title_kana="ウミノズカン")
    await make_item(deps, on_shelf, status=ItemStatus.ON_LOAN)

    result = await search(client, "森")
    assert result["totalCount"] == 3 and result["totalCountIsExact"]
    counts = {f["materialType"]: f["count"] for f in result["facets"]["materialTypes"]}
    assert counts == {"BOOK": 1, "MAGAZINE": 0, "PICTURE_BOOK": 1, "KAMISHIBAI": 1, "CD": 0, "DVD": 0, "OTHER": 0}
    assert result["facets"]["availableNow"] == {"count": 1, "isExact": True}
    assert result["facets"]["holdable"] == {"count": 1, "isExact": True}  # the 紙芝居 has no copy: not owned

    # Narrowed by type: the availability options count within the type, the types ignore their
    # own choice (every type keeps its count, so the client can offer them all).
    books = await search(client, "森", filter={"materialTypes": ["BOOK"]})
    assert [e["node"]["title"] for e in books["edges"]] == ["森の図鑑"] and books["totalCount"] == 1
    assert books["facets"]["availableNow"]["count"] == 0 and books["facets"]["holdable"]["count"] == 1
    assert {f["materialType"]: f["count"] for f in books["facets"]["materialTypes"]} == counts

    # Narrowed to what is on the shelf: the type counts follow.
    now = await search(client, "森", filter={"availableNow": True})
    assert [e["node"]["title"] for e in now["edges"]] == ["森の絵本"] and now["totalCount"] == 1
    assert {f["materialType"]: f["count"] for f in now["facets"]["materialTypes"] if f["count"]} == {"PICTURE_BOOK": 1}
    assert now["facets"]["availableNow"]["count"] == 1 and now["facets"]["holdable"]["count"] == 1


@pytest.mark.parametrize("sort", ["RELEVANCE", "NEWEST", "TITLE_READING"])
async def test_narrowing_applies_to_every_sort(client, deps, sort):
    for n in range(4):
        await make_title(deps, f"雪の紙芝居 {n}", title_kana=f"ユキノカミシバイ {n}", material_type=MaterialType.KAMISHIBAI)
        await make_title(deps, f"雪の本 {n}", title_kana=f"ユキノホン {n}")
    found = await titles(client, "雪", sort=sort, filter={"materialTypes": ["KAMISHIBAI"]}, first=10)
    assert sorted(found) == [f"雪の紙芝居 {n}" for n in range(4)]
