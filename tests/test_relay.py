"""Relay, as a client team meets it: add-style mutations return the new edge (with a cursor the
list itself gives out), so `@appendEdge`/`@prependEdge` work, and Relay's compiler accepts the
example client documents in `tests/relay/` against `schema.graphql`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from app.models import Bookshelf, Item
from tests.circulation_support import gid, lend, lend_all, patron
from tests.support import DEFAULT_PASSWORD, STAFF_PASSWORD, codes, make_staff, make_title
from tests.test_graphql_over_http import js_tools

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "relay"


async def _edges(client, path: str, after: str | None = None) -> list[dict]:
    """The edges (cursor and node id) of a list of the viewer, e.g. `holdCart`."""
    data = await client.query(
        f"query($after: String) {{ viewer {{ {path}(first: 100, after: $after) "
        "{ edges { cursor node { id } } } } }", {"after": after})
    return data["viewer"][path]["edges"]


async def test_a_title_put_in_the_cart_comes_back_as_the_carts_last_edge(client, deps):
    hanako = await patron(deps, 1)
    first, second = await make_title(deps, "一冊目"), await make_title(deps, "二冊目")
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    await client.mutate("addToHoldCart", {"titleId": gid("Title", first.id)})

    added = await client.mutate("addToHoldCart", {"titleId": gid("Title", second.id)},
                                "entry { id } entryEdge { cursor node { id title { title } } }")

    edge = added["entryEdge"]
    assert edge["node"]["id"] == added["entry"]["id"] and edge["node"]["title"] == {"title": "二冊目"}
    assert {"cursor": edge["cursor"], "node": {"id": edge["node"]["id"]}} == (await _edges(client, "holdCart"))[-1]
    # The cursor is one the list takes: after the new line there is nothing; after the first, the new one.
    assert await _edges(client, "holdCart", after=edge["cursor"]) == []
    before = (await _edges(client, "holdCart"))[0]["cursor"]
    assert [e["node"]["id"] for e in await _edges(client, "holdCart", after=before)] == [edge["node"]["id"]]


async def test_a_new_favorite_is_the_first_edge_and_adding_it_again_finds_its_place(client, deps):
    hanako = await patron(deps, 1)
    titles = [await make_title(deps, f"本{n}") for n in range(3)]
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    edges = []
    for title in titles:
        added = await client.mutate("addFavorite", {"titleId": gid("Title", title.id)},
                                    "favorite { id } favoriteEdge { cursor node { id } }")
        edges.append(added["favoriteEdge"])
        assert (await _edges(client, "favorites"))[0] == added["favoriteEdge"]

    # Adding the oldest again changes nothing: its edge is where the list has it, last.
    again = await client.mutate("addFavorite", {"titleId": gid("Title", titles[0].id)},
                                "favoriteEdge { cursor node { id } }")
    assert again["favoriteEdge"] == (await _edges(client, "favorites"))[-1]
    assert again["favoriteEdge"]["node"] == edges[0]["node"]


async def test_shelves_and_their_entries_come_back_as_edges_of_their_lists(client, deps):
    hanako = await patron(deps, 1)
    title = await make_title(deps)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    await client.mutate("createBookshelf", {"name": "夏に読む本"})

    created = await client.mutate("createBookshelf", {"name": "冬に読む本"},
                                  "bookshelf { id } bookshelfEdge { cursor node { id name } }")
    assert created["bookshelfEdge"]["node"] == {"id": created["bookshelf"]["id"], "name": "冬に読む本"}
    assert (await _edges(client, "bookshelves"))[-1] == {"cursor": created["bookshelfEdge"]["cursor"],
                                                         "node": {"id": created["bookshelf"]["id"]}}

    shelf_id = created["bookshelf"]["id"]
    added = await client.mutate("addToBookshelf", {"bookshelfId": shelf_id, "titleId": gid("Title", title.id)},
                                "entry { id } entryEdge { cursor node { id } }")
    entries = await client.query(
        "query($id: ID!) { node(id: $id) { id ... on Bookshelf { entries { edges { cursor node { id } } } } } }",
        {"id": shelf_id})
    assert entries["node"]["entries"]["edges"] == [added["entryEdge"]]
    assert await Bookshelf.filter(patron_id=hanako.id).count() == 2


async def test_a_hold_comes_back_as_an_edge_of_holds_and_a_cancelled_one_of_cancelled_holds(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    waiting, ready_soon = await make_title(deps, "予約する本"), await make_title(deps, "もう一冊")
    await lend_all(deps, lender, waiting)
    await lend_all(deps, lender, ready_soon)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    await client.mutate("placeHold", {"titleId": gid("Title", ready_soon.id)})

    placed = await client.mutate("placeHold", {"titleId": gid("Title", waiting.id)},
                                 "hold { id } holdEdge { cursor node { id } }")
    assert placed["holdEdge"] == (await _edges(client, "holds"))[-1]
    assert placed["holdEdge"]["node"]["id"] == placed["hold"]["id"]

    cancelled = await client.mutate("cancelHold", {"holdId": placed["hold"]["id"]},
                                    "holdEdge { cursor node { id status } }")
    assert cancelled["holdEdge"]["node"]["status"] == "CANCELLED"
    first = (await _edges(client, "cancelledHolds"))[0]
    assert first == {"cursor": cancelled["holdEdge"]["cursor"], "node": {"id": placed["hold"]["id"]}}


async def test_placing_the_cart_says_which_lines_left_it_and_gives_each_hold_as_an_edge(client, deps):
    lender, hanako = await patron(deps, 1), await patron(deps, 2)
    out, on_shelf = await make_title(deps, "貸出中の本"), await make_title(deps, "書架にある本")
    await lend(deps, lender, out)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    entries = [(await client.mutate("addToHoldCart", {"titleId": gid("Title", t.id)}, "entry { id }"))["entry"]["id"]
               for t in (out, on_shelf)]

    placed = await client.mutate(
        "placeHoldsFromCart", {}, "results { removedEntryId hold { id } holdEdge { cursor node { id } } errors { code } }")

    held, refused = placed["results"]
    assert held["removedEntryId"] == entries[0] and held["holdEdge"] == (await _edges(client, "holds"))[0]
    assert held["holdEdge"]["node"]["id"] == held["hold"]["id"]
    assert refused == {"removedEntryId": None, "hold": None, "holdEdge": None,
                       "errors": [{"code": "TITLE_AVAILABLE_ON_SHELF"}]}
    assert [e["node"]["id"] for e in await _edges(client, "holdCart")] == [entries[1]]


async def test_the_desk_gets_the_new_loan_and_hold_as_edges_of_the_patrons_lists(client, deps):
    borrower, waiting = await patron(deps, 1), await patron(deps, 2)
    await make_staff(deps)
    title = await make_title(deps)
    await client.staff_login("desk1", STAFF_PASSWORD)
    item = await Item.filter(title_id=title.id).first()

    lent = await client.mutate("checkoutItem", {"cardNumber": borrower.card_number, "barcode": item.barcode},
                               "loan { id } loanEdge { cursor node { id } }")
    held = await client.mutate("placeHoldForPatron",
                               {"cardNumber": waiting.card_number, "titleId": gid("Title", title.id)},
                               "hold { id } holdEdge { cursor node { id } }")

    lists = await client.query(
        "query($a: String!, $b: String!) { a: patronByCardNumber(cardNumber: $a) { id loans { edges { cursor "
        "node { id } } } } b: patronByCardNumber(cardNumber: $b) { id holds { edges { cursor node { id } } } } }",
        {"a": borrower.card_number, "b": waiting.card_number})
    assert lists["a"]["loans"]["edges"] == [lent["loanEdge"]] and lent["loanEdge"]["node"] == lent["loan"]
    assert lists["b"]["holds"]["edges"] == [held["holdEdge"]] and held["holdEdge"]["node"] == held["hold"]


async def test_a_refused_addition_has_no_edge(client, deps):
    hanako = await patron(deps, 1)
    await client.login(hanako.card_number, DEFAULT_PASSWORD)
    refused = await client.mutate("addToHoldCart", {"titleId": gid("Title", 999)}, "entryEdge { cursor }")
    assert refused["entryEdge"] is None and codes(refused) == ["NOT_FOUND"]


def test_relays_compiler_accepts_the_example_client_documents(tmp_path):
    tools = js_tools()
    src = tmp_path / "src"
    shutil.copytree(EXAMPLES, src)
    (src / "__generated__").mkdir()
    config = {"src": "./src", "schema": str(ROOT / "schema.graphql"), "language": "javascript",
              "artifactDirectory": "./src/__generated__", "eagerEsModules": True}
    (tmp_path / "relay.config.json").write_text(json.dumps(config), encoding="utf-8")
    result = subprocess.run(["node", str(tools / "node_modules" / "relay-compiler" / "cli.js")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    generated = sorted(p.name for p in (src / "__generated__").iterdir())
    documents = sorted(p.stem for p in EXAMPLES.glob("*.js"))
    assert generated and all(any(g.startswith(d) for g in generated) for d in documents), generated
