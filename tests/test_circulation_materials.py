"""「予約できる資料　古賀市立図書館が所蔵している貸出中の図書・雑誌」 and 「現在借りている図書・雑誌の
延長」: which material types may be held and renewed on the web (a policy), and titles kept for use
in the library only (禁帯出)."""

from __future__ import annotations

import pytest

from app.models import Patron
from app.models.enums import HoldSource, MaterialType
from app.settings import Policy, Settings
from tests.circulation_support import gid, lend_all, logged_in, patron
from tests.support import STAFF_PASSWORD, codes, make_item, make_staff, make_title

TITLE_FIELDS = "owned referenceOnly holdable"
RENEWABILITY = "{ viewer { loans { edges { node { renewability { renewable reasons messages } } } } } }"


async def _title(client, title_id: int) -> dict:
    data = await client.query(f'{{ node(id: "{gid("Title", title_id)}") {{ ... on Title {{ {TITLE_FIELDS} }} }} }}')
    return data["node"]


async def _lent_out(deps, material: MaterialType, name: str = "貸出中の資料"):
    title = await make_title(deps, name, material_type=material)
    lender = await Patron.get_or_none(card_number="100000009") or await patron(deps, 9)
    await lend_all(deps, lender, title)
    return title


@pytest.mark.parametrize("material", [MaterialType.CD, MaterialType.DVD, MaterialType.KAMISHIBAI])
async def test_cannot_web_hold_a_cd_a_dvd_or_a_kamishibai(app, deps, material):
    title = await _lent_out(deps, material)
    hanako = await patron(deps, 1)
    async with logged_in(app, hanako) as client:
        await client.mutate("addToHoldCart", {"titleId": gid("Title", title.id)}, "entry { id }")
        cart = await client.query("{ viewer { holdCart { edges { node { holdability { holdable reasons messages } } } } } }")
        placed = await client.mutate("placeHold", {"titleId": gid("Title", title.id)}, "hold { id }")
        shown = await _title(client, title.id)

    (line,) = cart["viewer"]["holdCart"]["edges"]
    assert line["node"]["holdability"]["holdable"] is False
    assert line["node"]["holdability"]["reasons"] == ["MATERIAL_NOT_HOLDABLE_ON_WEB"]
    assert "Webでは予約できません" in line["node"]["holdability"]["messages"][0]
    assert codes(placed) == ["MATERIAL_NOT_HOLDABLE_ON_WEB"]
    assert shown == {"owned": True, "referenceOnly": False, "holdable": False}


@pytest.mark.parametrize("material", [MaterialType.BOOK, MaterialType.MAGAZINE, MaterialType.PICTURE_BOOK])
async def test_books_magazines_and_picture_books_can_be_held_on_the_web(app, deps, material):
    title = await _lent_out(deps, material)
    async with logged_in(app, await patron(deps, 1)) as client:
        assert (await _title(client, title.id))["holdable"] is True
        assert codes(await client.mutate("placeHold", {"titleId": gid("Title", title.id)}, "hold { id }")) == []


async def test_staff_at_the_counter_may_hold_a_dvd_for_a_patron(other_client, deps):
    title = await _lent_out(deps, MaterialType.DVD)
    taro = await patron(deps, 2)
    staff = await make_staff(deps)
    await other_client.staff_login(staff.username, STAFF_PASSWORD)
    payload = await other_client.mutate(
        "placeHoldForPatron",
        {"cardNumber": taro.card_number, "titleId": gid("Title", title.id), "source": HoldSource.COUNTER.name},
        "hold { status }")
    assert payload["errors"] == [] and payload["hold"]["status"] == "WAITING"


async def test_cannot_renew_a_dvd_on_the_web_and_the_reason_shows_before_trying(app, deps):
    from tests.circulation_support import lend

    hanako = await patron(deps, 1)
    dvd = await make_title(deps, "映画", material_type=MaterialType.DVD)
    loan = await lend(deps, hanako, dvd)
    async with logged_in(app, hanako) as client:
        (edge,) = (await client.query(RENEWABILITY))["viewer"]["loans"]["edges"]
        renewed = await client.mutate("renewLoan", {"loanId": gid("Loan", loan.id)}, "loan { renewalCount }")
    assert edge["node"]["renewability"] == {
        "renewable": False, "reasons": ["MATERIAL_NOT_RENEWABLE_ON_WEB"],
        "messages": ["DVDはWebでは延長できません。図書館カウンターでお申し出ください。"],
    }
    assert codes(renewed) == ["MATERIAL_NOT_RENEWABLE_ON_WEB"]


async def test_the_library_decides_which_material_types_are_held_and_renewed_on_the_web(deps, settings, clock):
    from app.main import create_app
    from tests.circulation_support import lend

    env = {"WEB_HOLD_MATERIALS": "book,magazine,picture_book,cd", "WEB_RENEWAL_MATERIALS": "book, cd"}
    policy = Settings.from_env({**env, "SECRET_KEY": "x"}).policy
    assert policy.web_hold_materials == (MaterialType.BOOK, MaterialType.MAGAZINE, MaterialType.PICTURE_BOOK,
                                         MaterialType.CD)
    assert policy.web_renewal_materials == (MaterialType.BOOK, MaterialType.CD)
    with pytest.raises(RuntimeError, match="WEB_HOLD_MATERIALS"):
        Settings.from_env({"WEB_HOLD_MATERIALS": "book,vinyl", "SECRET_KEY": "x"})

    app = create_app(settings.replace(policy=Policy(web_hold_materials=policy.web_hold_materials,
                                                    web_renewal_materials=policy.web_renewal_materials)),
                     clock, manage_database=False)
    cd = await _lent_out(deps, MaterialType.CD, "ＣＤ")
    hanako = await patron(deps, 1)
    loan = await lend(deps, hanako, await make_title(deps, "音楽", material_type=MaterialType.CD))
    async with logged_in(app, hanako) as client:
        assert codes(await client.mutate("placeHold", {"titleId": gid("Title", cd.id)}, "hold { id }")) == []
        renewed = await client.mutate("renewLoan", {"loanId": gid("Loan", loan.id)}, "loan { renewalCount }")
    assert codes(renewed) == [] and renewed["loan"]["renewalCount"] == 1


async def test_a_reference_only_title_is_owned_and_refused_with_its_own_reason(app, deps):
    local = await make_title(deps, "古賀市史", copies=0)
    await make_item(deps, local, loanable=False)
    async with logged_in(app, await patron(deps, 1)) as client:
        shown = await _title(client, local.id)
        placed = await client.mutate("placeHold", {"titleId": gid("Title", local.id)}, "hold { id }")
    assert shown == {"owned": True, "referenceOnly": True, "holdable": False}
    assert placed["errors"] == [{
        "code": "TITLE_REFERENCE_ONLY", "field": ["input", "titleId"],
        "message": "この資料は館内でご利用いただく資料（禁帯出）のため、予約できません。",
    }]


async def test_the_holdable_filter_agrees_with_title_holdable(client, deps):
    for material in MaterialType:
        await _lent_out(deps, material, f"資料 {material.value}")
    data = await client.query(
        "{ all: searchCatalog(keyword: \"資料\", first: 50) { edges { node { title holdable } } }"
        "  held: searchCatalog(keyword: \"資料\", filter: { holdable: true }, first: 50) { edges { node { title } } } }")
    holdable = {e["node"]["title"] for e in data["all"]["edges"] if e["node"]["holdable"]}
    assert holdable == {e["node"]["title"] for e in data["held"]["edges"]}
    assert holdable == {"資料 book", "資料 magazine", "資料 picture_book"}
