"""The lending rules at their boundaries, as the guide states them, without HTTP: renewals
(延長), holds (予約) and cancelling (取消). Each row is one case: what the patron has, and the
reasons the rule gives (empty: allowed). The API tests show the same rules end to end."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from app.domain.catalog import Availability
from app.domain.circulation import CurrentLoan, HolderState, cancel_blocks, hold_blocks, renewal_blocks
from app.domain.errors import ErrorCode
from app.models.enums import HoldSource, HoldStatus, MaterialType
from app.settings import Policy

TODAY = date(2026, 11, 30)
POLICY = Policy()  # the library's rules: renew once, 10 holds, web holds and renewals of books, magazines, picture books
E = ErrorCode


def _loan(*, due: date = TODAY, renewals: int = 0, returned: bool = False) -> CurrentLoan:
    lent = datetime(2026, 11, 16, 1, tzinfo=timezone.utc)
    return CurrentLoan(1, 1, 1, 1, lent, due, renewals, title=None, holds_waiting=0,  # type: ignore[arg-type]
                       returned_at=lent + timedelta(days=3) if returned else None)


def test_the_policy_the_rules_are_tested_against():
    assert (POLICY.renewal_limit, POLICY.hold_limit) == (1, 10)
    assert set(POLICY.web_renewal_materials) == set(POLICY.web_hold_materials) == {
        MaterialType.BOOK, MaterialType.MAGAZINE, MaterialType.PICTURE_BOOK}


# --- renewals: 「次の予約がなければ貸出期限内に1回のみ可」 -------------------------------------------


@pytest.mark.parametrize(("loan", "holds_waiting", "material", "reasons"), [
    (_loan(due=TODAY), 0, MaterialType.BOOK, []),  # due today is not overdue yet
    (_loan(due=TODAY + timedelta(days=13)), 0, MaterialType.MAGAZINE, []),
    (_loan(due=TODAY - timedelta(days=1)), 0, MaterialType.BOOK, [E.LOAN_OVERDUE]),
    (_loan(renewals=1), 0, MaterialType.BOOK, [E.RENEWAL_LIMIT_REACHED]),  # once only
    (_loan(renewals=2), 0, MaterialType.BOOK, [E.RENEWAL_LIMIT_REACHED]),
    (_loan(), 1, MaterialType.BOOK, [E.RENEWAL_BLOCKED_BY_HOLD]),  # someone is waiting
    (_loan(), 0, MaterialType.PICTURE_BOOK, []),
    (_loan(), 0, MaterialType.CD, [E.MATERIAL_NOT_RENEWABLE_ON_WEB]),
    (_loan(), 0, MaterialType.KAMISHIBAI, [E.MATERIAL_NOT_RENEWABLE_ON_WEB]),
    (_loan(), 0, None, []),  # a title of unknown material is not refused for it
    (_loan(due=TODAY - timedelta(days=1), renewals=1), 2, MaterialType.DVD,
     [E.MATERIAL_NOT_RENEWABLE_ON_WEB, E.LOAN_OVERDUE, E.RENEWAL_LIMIT_REACHED, E.RENEWAL_BLOCKED_BY_HOLD]),
    (_loan(returned=True, renewals=1), 3, MaterialType.CD, [E.ITEM_NOT_ON_LOAN]),  # nothing else matters
])
def test_renewal_blocks(loan, holds_waiting, material, reasons):
    assert [f.code for f in renewal_blocks(loan, TODAY, POLICY, holds_waiting, material)] == reasons


def test_a_library_that_allows_two_renewals_refuses_the_third():
    twice = Policy(renewal_limit=2)
    assert renewal_blocks(_loan(renewals=1), TODAY, twice, 0, MaterialType.BOOK) == []
    [limit] = renewal_blocks(_loan(renewals=2), TODAY, twice, 0, MaterialType.BOOK)
    assert (limit.code, limit.params) == (E.RENEWAL_LIMIT_REACHED, {"limit": 2})


# --- holds: all copies out, a contact address, the limit of 10 --------------------------------

TITLE = 7
OUT = Availability(copies=2, available=0, on_loan=2, material_type=MaterialType.BOOK)
ON_SHELF = Availability(copies=2, available=1, on_loan=1, material_type=MaterialType.BOOK)
NOT_OWNED = Availability(material_type=MaterialType.BOOK)
REFERENCE_ONLY = Availability(reference_copies=1, material_type=MaterialType.BOOK)
CD_OUT = Availability(copies=1, on_loan=1, material_type=MaterialType.CD)


def _holder(*, email: str | None = "koga@example.jp", holds: int = 0, held: bool = False,
            on_loan: bool = False) -> HolderState:
    held_ids = set(range(100, 100 + holds - held)) | ({TITLE} if held else set())
    return HolderState(1, email, held_ids, {TITLE} if on_loan else set())


WEB, COUNTER = HoldSource.WEB, HoldSource.COUNTER
ILL, PURCHASE = HoldSource.INTERLIBRARY_LOAN, HoldSource.PURCHASE_REQUEST


@pytest.mark.parametrize(("holder", "availability", "source", "reasons"), [
    (_holder(), OUT, WEB, []),
    (_holder(email=None), OUT, WEB, [E.NO_CONTACT_EMAIL]),  # 連絡方法はメールのみ
    (_holder(email=None), OUT, COUNTER, []),  # the desk may hold for a patron without e-mail
    (_holder(), CD_OUT, WEB, [E.MATERIAL_NOT_HOLDABLE_ON_WEB]),
    (_holder(), CD_OUT, COUNTER, []),
    (_holder(), ON_SHELF, WEB, [E.TITLE_AVAILABLE_ON_SHELF]),  # borrow it in person
    (_holder(), ON_SHELF, COUNTER, [E.TITLE_AVAILABLE_ON_SHELF]),
    (_holder(), NOT_OWNED, WEB, [E.TITLE_NOT_OWNED]),
    (_holder(), NOT_OWNED, COUNTER, [E.TITLE_NOT_OWNED]),
    (_holder(), NOT_OWNED, ILL, []),  # another library's copy
    (_holder(), NOT_OWNED, PURCHASE, []),  # a copy bought for the patron
    (_holder(), REFERENCE_ONLY, WEB, [E.TITLE_REFERENCE_ONLY]),  # 禁帯出
    (_holder(), REFERENCE_ONLY, ILL, []),
    (_holder(held=True), OUT, WEB, [E.ALREADY_HELD]),
    (_holder(on_loan=True), OUT, WEB, [E.ALREADY_ON_LOAN]),
    (_holder(holds=9), OUT, WEB, []),  # the tenth hold
    (_holder(holds=10), OUT, WEB, [E.HOLD_LIMIT_REACHED]),  # the eleventh
    (_holder(holds=10), NOT_OWNED, PURCHASE, [E.HOLD_LIMIT_REACHED]),  # every source counts
    (_holder(email=None, holds=10), CD_OUT, WEB,
     [E.NO_CONTACT_EMAIL, E.MATERIAL_NOT_HOLDABLE_ON_WEB, E.HOLD_LIMIT_REACHED]),
])
def test_hold_blocks(holder, availability, source, reasons):
    assert [f.code for f in hold_blocks(holder, TITLE, availability, source, POLICY)] == reasons


# --- cancelling: active holds only; interlibrary loans and purchase requests at the counter ----


@pytest.mark.parametrize(("status", "source", "by_staff", "reasons"), [
    (HoldStatus.WAITING, WEB, False, []),
    (HoldStatus.READY, WEB, False, []),  # the copy goes to the next in line
    (HoldStatus.WAITING, COUNTER, False, []),
    (HoldStatus.WAITING, ILL, False, [E.HOLD_CANCEL_AT_COUNTER]),
    (HoldStatus.READY, PURCHASE, False, [E.HOLD_CANCEL_AT_COUNTER]),
    (HoldStatus.WAITING, PURCHASE, False, [E.HOLD_CANCEL_AT_COUNTER]),
    (HoldStatus.WAITING, ILL, True, []),
    (HoldStatus.WAITING, PURCHASE, True, []),
    (HoldStatus.FULFILLED, WEB, False, [E.HOLD_NOT_CANCELLABLE]),
    (HoldStatus.CANCELLED, WEB, False, [E.HOLD_NOT_CANCELLABLE]),
    (HoldStatus.CANCELLED, PURCHASE, True, [E.HOLD_NOT_CANCELLABLE]),
])
def test_cancel_blocks(status, source, by_staff, reasons):
    hold = SimpleNamespace(status=status, source=source)
    assert [f.code for f in cancel_blocks(hold, by_staff=by_staff)] == reasons  # type: ignore[arg-type]
