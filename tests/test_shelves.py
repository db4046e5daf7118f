"""マイページ: お気に入り一覧 and My本棚 (shelves the patron makes)."""

import pytest
from strawberry import relay

from app.models import Bookshelf, BookshelfEntry, Favorite
from tests.support import DEFAULT_PASSWORD, codes, make_patron, make_staff, make_title, STAFF_PASSWORD


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


@pytest.fixture
async def hanako(deps, client):
    patron = await make_patron(deps, "100000001", name_kana="コガハナコ")
    await client.login("100000001", DEFAULT_PASSWORD)
    return patron


@pytest.fixture
async def books(deps):
    return [await make_title(deps, t, title_kana=k) for t, k in
            [("こころ", "ココロ"), ("坊っちゃん", "ボッチャン"), ("三四郎", "サンシロウ")]]


FAVORITES = "{ viewer { favorites { totalCount edges { node { id addedAt title { title isFavorite } } } } } }"


async def favorite_titles(client) -> list[str]:
    data = await client.query(FAVORITES)
    return [e["node"]["title"]["title"] for e in data["viewer"]["favorites"]["edges"]]


# --- favorites ----------------------------------------------------------------------------


async def test_add_favorites_newest_first_and_adding_twice_changes_nothing(client, clock, hanako, books):
    for book in books[:2]:
        payload = await client.mutate("addFavorite", {"titleId": gid("Title", book.id)}, "favorite { title { title } }")
        assert payload["errors"] == []
        clock.advance(minutes=1)
    again = await client.mutate("addFavorite", {"titleId": gid("Title", books[0].id)}, "favorite { id }")
    assert again["errors"] == []
    assert await favorite_titles(client) == ["坊っちゃん", "こころ"]
    data = await client.query(FAVORITES)
    assert all(e["node"]["title"]["isFavorite"] for e in data["viewer"]["favorites"]["edges"])
    assert data["viewer"]["favorites"]["totalCount"] == 2


async def test_remove_favorite(client, hanako, books):
    await client.mutate("addFavorite", {"titleId": gid("Title", books[0].id)})
    payload = await client.mutate("removeFavorite", {"titleId": gid("Title", books[0].id)}, "removedFavoriteId")
    assert payload["errors"] == [] and payload["removedFavoriteId"]
    assert await favorite_titles(client) == []
    # Removing what is not there is not an error, and says nothing was removed.
    again = await client.mutate("removeFavorite", {"titleId": gid("Title", books[0].id)}, "removedFavoriteId")
    assert again == {"errors": [], "removedFavoriteId": None}


@pytest.mark.parametrize("title_id", ["VGl0bGU6OTk5OTk=", "not-an-id", "SXRlbTox"])  # Title:99999, junk, Item:1
async def test_unknown_title_ids_are_not_found(client, hanako, books, title_id):
    for name in ("addFavorite", "removeFavorite"):
        payload = await client.mutate(name, {"titleId": title_id})
        assert codes(payload) == ["NOT_FOUND"]
        assert payload["errors"][0]["field"] == ["input", "titleId"]
    assert await Favorite.all().count() == 0


async def test_favorites_need_a_logged_in_patron(client, other_client, deps, books):
    guest = await client.mutate("addFavorite", {"titleId": gid("Title", books[0].id)})
    assert codes(guest) == ["NOT_AUTHENTICATED"]
    await make_staff(deps)
    await other_client.staff_login("desk1", STAFF_PASSWORD)
    staff = await other_client.mutate("addFavorite", {"titleId": gid("Title", books[0].id)})
    assert codes(staff) == ["FORBIDDEN"]
    data = await client.query('{ searchCatalog(keyword: "こころ") { edges { node { isFavorite } } } }')
    assert data["searchCatalog"]["edges"][0]["node"]["isFavorite"] is False


async def test_favorites_have_a_cap(client, deps, settings, hanako):
    deps.settings = settings.replace(favorite_limit=2)
    titles = [await make_title(deps, f"本{n}") for n in range(3)]
    for t in titles[:2]:
        assert (await client.mutate("addFavorite", {"titleId": gid("Title", t.id)}))["errors"] == []
    payload = await client.mutate("addFavorite", {"titleId": gid("Title", titles[2].id)})
    assert codes(payload) == ["LIMIT_REACHED"]
    assert "2件" in payload["errors"][0]["message"]


async def test_another_patrons_favorites_are_invisible(client, other_client, deps, hanako, books):
    added = await client.mutate("addFavorite", {"titleId": gid("Title", books[0].id)}, "favorite { id }")
    await make_patron(deps, "100000002")
    await other_client.login("100000002", DEFAULT_PASSWORD)
    data = await other_client.query("query($id: ID!) { node(id: $id) { id } }", {"id": added["favorite"]["id"]})
    assert data["node"] is None
    assert await favorite_titles(other_client) == []


# --- bookshelves ----------------------------------------------------------------------------

SHELVES = """{ viewer { bookshelves { totalCount edges { node { id name
  entries { totalCount edges { node { title { title } } } } } } } } }"""


async def create_shelf(client, name: str) -> dict:
    return await client.mutate("createBookshelf", {"name": name}, "bookshelf { id name }")


async def test_create_a_shelf_with_a_trimmed_name(client, hanako):
    payload = await create_shelf(client, "　夏に読む本  ")
    assert payload["errors"] == [] and payload["bookshelf"]["name"] == "夏に読む本"
    data = await client.query(SHELVES)
    assert [e["node"]["name"] for e in data["viewer"]["bookshelves"]["edges"]] == ["夏に読む本"]


@pytest.mark.parametrize("name, code", [("", "NAME_REQUIRED"), ("　 ", "NAME_REQUIRED"), ("本" * 51, "NAME_TOO_LONG")])
async def test_shelf_names_are_required_and_bounded(client, hanako, name, code):
    payload = await create_shelf(client, name)
    assert codes(payload) == [code] and payload["errors"][0]["field"] == ["input", "name"]
    assert await Bookshelf.all().count() == 0


async def test_fifty_characters_is_long_enough(client, hanako):
    assert (await create_shelf(client, "本" * 50))["errors"] == []


async def test_shelf_names_are_unique_per_patron(client, other_client, deps, hanako):
    await create_shelf(client, "ＳＦ")
    assert codes(await create_shelf(client, "SF")) == ["NAME_TAKEN"]  # full-width is the same name
    await make_patron(deps, "100000002")
    await other_client.login("100000002", DEFAULT_PASSWORD)
    assert (await create_shelf(other_client, "SF"))["errors"] == []


async def test_shelves_have_a_cap(client, deps, settings, hanako):
    deps.settings = settings.replace(bookshelf_limit=2)
    await create_shelf(client, "一")
    await create_shelf(client, "二")
    payload = await create_shelf(client, "三")
    assert codes(payload) == ["LIMIT_REACHED"]


async def test_rename_a_shelf(client, hanako):
    shelf = (await create_shelf(client, "あとで読む"))["bookshelf"]
    other = (await create_shelf(client, "読んだ"))["bookshelf"]
    renamed = await client.mutate("renameBookshelf", {"bookshelfId": shelf["id"], "name": " 今年読む "}, "bookshelf { name }")
    assert renamed == {"errors": [], "bookshelf": {"name": "今年読む"}}
    taken = await client.mutate("renameBookshelf", {"bookshelfId": shelf["id"], "name": "読んだ"})
    assert codes(taken) == ["NAME_TAKEN"]
    same = await client.mutate("renameBookshelf", {"bookshelfId": other["id"], "name": "読んだ"})
    assert same["errors"] == []
    empty = await client.mutate("renameBookshelf", {"bookshelfId": shelf["id"], "name": ""})
    assert codes(empty) == ["NAME_REQUIRED"]


async def test_put_titles_on_a_shelf_and_take_them_off(client, clock, hanako, books):
    shelf = (await create_shelf(client, "夏目漱石"))["bookshelf"]
    for book in books:
        payload = await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", book.id)},
                                      "bookshelf { name } entry { title { title } }")
        assert payload["errors"] == [] and payload["entry"]["title"]["title"] == book.title
        clock.advance(minutes=1)
    again = await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[0].id)})
    assert again["errors"] == []
    removed = await client.mutate("removeFromBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[1].id)},
                                  "removedEntryId bookshelf { entries { totalCount } }")
    assert removed["errors"] == [] and removed["removedEntryId"]
    assert removed["bookshelf"]["entries"]["totalCount"] == 2
    data = await client.query(SHELVES)
    entries = data["viewer"]["bookshelves"]["edges"][0]["node"]["entries"]["edges"]
    assert [e["node"]["title"]["title"] for e in entries] == ["三四郎", "こころ"]


async def test_shelf_entries_have_a_cap(client, deps, settings, hanako, books):
    deps.settings = settings.replace(bookshelf_entry_limit=2)
    shelf = (await create_shelf(client, "棚"))["bookshelf"]
    for book in books[:2]:
        await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", book.id)})
    payload = await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[2].id)})
    assert codes(payload) == ["LIMIT_REACHED"]


async def test_delete_a_shelf_removes_its_entries_not_the_titles(client, hanako, books):
    shelf = (await create_shelf(client, "棚"))["bookshelf"]
    await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[0].id)})
    payload = await client.mutate("deleteBookshelf", {"bookshelfId": shelf["id"]}, "deletedBookshelfId")
    assert payload == {"errors": [], "deletedBookshelfId": shelf["id"]}
    assert await Bookshelf.all().count() == 0 and await BookshelfEntry.all().count() == 0
    again = await client.mutate("deleteBookshelf", {"bookshelfId": shelf["id"]})
    assert codes(again) == ["NOT_FOUND"]


async def test_another_patrons_shelf_is_not_found(client, other_client, deps, hanako, books):
    shelf = (await create_shelf(client, "ひみつの棚"))["bookshelf"]
    await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[0].id)})
    await make_patron(deps, "100000002")
    await other_client.login("100000002", DEFAULT_PASSWORD)
    title_id = gid("Title", books[1].id)
    attempts = [
        ("renameBookshelf", {"bookshelfId": shelf["id"], "name": "乗っ取り"}),
        ("deleteBookshelf", {"bookshelfId": shelf["id"]}),
        ("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": title_id}),
        ("removeFromBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", books[0].id)}),
    ]
    for name, input in attempts:
        payload = await other_client.mutate(name, input)
        assert codes(payload) == ["NOT_FOUND"], name
        assert payload["errors"][0]["field"] == ["input", "bookshelfId"]
    entry_id = gid("BookshelfEntry", (await BookshelfEntry.first()).id)
    for node_id in (shelf["id"], entry_id):
        data = await other_client.query("query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert data["node"] is None
    assert (await Bookshelf.get()).name == "ひみつの棚"
    assert await BookshelfEntry.all().count() == 1


async def test_unknown_title_on_a_shelf_is_not_found(client, hanako):
    shelf = (await create_shelf(client, "棚"))["bookshelf"]
    payload = await client.mutate("addToBookshelf", {"bookshelfId": shelf["id"], "titleId": gid("Title", 424242)})
    assert codes(payload) == ["NOT_FOUND"] and payload["errors"][0]["field"] == ["input", "titleId"]


async def test_own_shelf_is_reachable_by_node_id(client, hanako):
    shelf = (await create_shelf(client, "棚"))["bookshelf"]
    data = await client.query("query($id: ID!) { node(id: $id) { ... on Bookshelf { name } } }", {"id": shelf["id"]})
    assert data["node"] == {"name": "棚"}
