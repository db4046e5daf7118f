"""No stale count, ever: the search caches its counts per process, under the catalog versions the
database bumps on every change of a title or a copy; desk operations, imports and another
process's writes are seen by the very next search."""

from __future__ import annotations

from app.domain import circulation
from app.domain.catalog_import import import_catalog
from app.domain.deps import Deps
from app.main import create_app
from app.models import Item, Title
from app.models.enums import ItemStatus
from tests.circulation_support import patron
from tests.conftest import http_client
from tests.support import GraphQLClient, make_item, make_title

FACETS = """
query($keyword: String!, $filter: CatalogFilterInput) {
  searchCatalog(keyword: $keyword, filter: $filter) {
    totalCount
    edges { node { title availability { available } } }
    facets { materialTypes { materialType count } availableNow { count } holdable { count } }
  }
}
"""


async def facets(client, keyword: str, **flt) -> dict:
    return (await client.query(FACETS, {"keyword": keyword, "filter": flt or None}))["searchCatalog"]


def by_type(result: dict) -> dict[str, int]:
    return {f["materialType"]: f["count"] for f in result["facets"]["materialTypes"] if f["count"]}


async def test_a_checkout_and_a_checkin_show_in_the_next_searchs_counts(client, deps):
    title = await make_title(deps, "風の本", title_kana="カゼノホン")
    await make_title(deps, "風の歌", title_kana="カゼノウタ")
    before = await facets(client, "風")
    assert before["facets"]["availableNow"]["count"] == 2 and before["facets"]["holdable"]["count"] == 0

    borrower = await patron(deps, 1)
    item = await Item.get(title_id=title.id)
    await circulation.checkout(deps, borrower.card_number, item.barcode)
    after = await facets(client, "風")
    assert after["facets"]["availableNow"]["count"] == 1 and after["facets"]["holdable"]["count"] == 1
    assert (await facets(client, "風", holdable=True))["totalCount"] == 1
    assert (await facets(client, "風", availableNow=True))["totalCount"] == 1

    await circulation.checkin(deps, item.barcode)
    back = await facets(client, "風", availableNow=True)
    assert back["totalCount"] == 2 and back["facets"]["holdable"]["count"] == 0


async def test_another_process_writing_is_seen_by_this_ones_cache(client, deps, settings, clock):
    """Two app processes (here two apps, each with its own cache): what one writes, the other's
    next search counts."""
    await make_title(deps, "雲の本", title_kana="クモノホン")
    assert (await facets(client, "雲"))["totalCount"] == 1  # cached here

    other = create_app(settings, clock, manage_database=False)
    other_deps: Deps = other.state.deps
    assert other_deps.search_cache is not deps.search_cache
    async with http_client(other, address="198.51.100.99") as http:
        other_client = GraphQLClient(http)
        assert (await facets(other_client, "雲"))["totalCount"] == 1
        await make_title(other_deps, "雲の図鑑", title_kana="クモノズカン")
        item = await Item.filter(title__title="雲の本").first()
        item.status = ItemStatus.MISSING
        await item.save()
        seen_there = await facets(other_client, "雲")
    seen_here = await facets(client, "雲")
    assert seen_here == seen_there
    assert seen_here["totalCount"] == 2 and seen_here["facets"]["availableNow"]["count"] == 1


async def test_an_import_that_updates_titles_moves_them_in_the_index_and_the_counts(client, deps):
    first = ("isbn,title,title_kana,material_type,barcode\n"
             "9784003101018,吾輩は猫である,ワガハイハネコデアル,book,C-1\n"
             "9784101010137,坊っちゃん,ボッチャン,book,C-2\n")
    await import_catalog(deps, first)
    before = await facets(client, "猫")
    assert [e["node"]["title"] for e in before["edges"]] == ["吾輩は猫である"] and by_type(before) == {"BOOK": 1}

    # The same ISBN, a new title, reading and material type: the old words no longer find it.
    second = ("isbn,title,title_kana,material_type\n"
              "9784003101018,犬の紙芝居,イヌノカミシバイ,kamishibai\n")
    report = await import_catalog(deps, second)
    assert report.titles_updated == 1
    assert (await facets(client, "猫"))["totalCount"] == 0
    assert (await facets(client, "ねこ"))["totalCount"] == 0
    now = await facets(client, "いぬ")
    assert [e["node"]["title"] for e in now["edges"]] == ["犬の紙芝居"] and by_type(now) == {"KAMISHIBAI": 1}
    assert (await facets(client, "犬の紙芝居", materialTypes=["KAMISHIBAI"]))["totalCount"] == 1
    assert await Title.all().count() == 2


async def test_a_new_copy_and_a_removed_title_change_the_counts(client, deps):
    title = await make_title(deps, "空の本", title_kana="ソラノホン", copies=0)
    assert (await facets(client, "空"))["facets"]["availableNow"]["count"] == 0
    await make_item(deps, title)
    assert (await facets(client, "空"))["facets"]["availableNow"]["count"] == 1
    await title.delete()
    assert (await facets(client, "空"))["totalCount"] == 0


async def test_a_page_read_with_the_catalog_versions_is_the_page_read_after_them(deps):
    """Once a keyword's counts are kept, its next search reads the page together with the
    catalog's versions (planned with the counts kept for the versions read last) and keeps it
    only if those versions still stand. Whatever happened in between, it answers exactly what a
    search with nothing kept answers."""
    from app.domain.catalog import CatalogFilter
    from app.domain.catalog_search import SearchCache, SearchSort, search
    from app.models.enums import MaterialType

    for n, (name, kana) in enumerate([("風の本", "カゼノホン"), ("風の歌", "カゼノウタ"), ("北風", "キタカゼ"),
                                      ("風の又三郎", "カゼノマタサブロウ"), ("風車", "フウシャ")]):
        await make_title(deps, name, title_kana=kana, copies=1 + n % 2,
                         material_type=MaterialType.PICTURE_BOOK if n == 3 else MaterialType.BOOK)
    views = [(SearchSort.RELEVANCE, CatalogFilter()), (SearchSort.TITLE_READING, CatalogFilter()),
             (SearchSort.NEWEST, CatalogFilter(available_now=True)),
             (SearchSort.RELEVANCE, CatalogFilter(material_types=(MaterialType.PICTURE_BOOK,)))]
    kept = SearchCache()

    async def both(keyword: str) -> None:
        for sort, flt in views:
            for limit in (2, 20):
                warm = await search(kept, keyword, flt, sort, limit=limit)
                fresh = await search(SearchCache(), keyword, flt, sort, limit=limit)
                assert (warm.titles, warm.keys, warm.availability, warm.known_count) == \
                       (fresh.titles, fresh.keys, fresh.availability, fresh.known_count)
                assert (await warm.facets()) == (await fresh.facets())
                if warm.known_facets is not None:  # kept facets are the facets counted now
                    assert warm.known_facets == await fresh.facets()

    await both("風")  # counts computed and kept
    await both("風")  # pages read with the versions, which stand
    borrower = await patron(deps, 1)
    item = await Item.filter(title__title="風の本").first()
    await circulation.checkout(deps, borrower.card_number, item.barcode)  # copies change
    await both("風")
    await make_title(deps, "風の谷", title_kana="カゼノタニ")  # titles change
    await both("風")
    assert kept.state is not None
