"""The lending rules (貸出・延長・予約・取消の規則): pure functions of what a patron and a title
are now, used by both the mutation and the eligibility field a client shows before the patron
tries. `renewal_blocks` (延長), `hold_blocks` (予約), `cancel_blocks` (取消) return `Failure`s whose
codes are the reasons; the dates of loans and pickups skip closed days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from app.domain import calendar
from app.domain.catalog import Availability
from app.domain.deps import Deps
from app.domain.errors import ErrorCode, Failure
from app.domain.messages import MATERIAL_NAMES
from app.models import Hold, Loan
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldSource, MaterialType
from app.settings import Policy

if TYPE_CHECKING:
    from app.domain.circulation.mypage import ActiveHold, CurrentLoan


# Holds that only the counter may cancel: the library has already asked another library or a
# bookseller on the patron's behalf.
_COUNTER_ONLY_CANCEL = (HoldSource.INTERLIBRARY_LOAN, HoldSource.PURCHASE_REQUEST)
# Sources for which the library need not own the title (相互貸借・未所蔵の新刊).
_UNOWNED_ALLOWED = (HoldSource.INTERLIBRARY_LOAN, HoldSource.PURCHASE_REQUEST)


# --- dates ---------------------------------------------------------------------------------


async def due_date_from(deps: Deps, day: date) -> date:
    """返却期限日 of a loan started or renewed on `day`: the loan period later, past closed days."""
    return await calendar.next_open_day(day + timedelta(days=deps.settings.policy.loan_days))


async def pickup_deadline_from(deps: Deps, day: date) -> date:
    """取置期限日 of a copy trapped on `day`: the pickup period later, past closed days."""
    return await calendar.next_open_day(day + timedelta(days=deps.settings.policy.pickup_days))


def local_date(deps: Deps, instant: datetime | None) -> date | None:
    """The library-local date of an instant (a checkout, a placement)."""
    return deps.clock.local(instant).date() if instant else None


def is_overdue(loan: Loan | CurrentLoan, today: date) -> bool:
    """延滞: the due date has passed (a loan due today is not overdue)."""
    return loan.returned_at is None and loan.due_date < today


# --- renewals (延長) -----------------------------------------------------------------------


def renewal_blocks(loan: Loan | CurrentLoan, today: date, policy: Policy, holds_waiting: int,
                   material: MaterialType | None) -> list[Failure]:
    """Why this loan cannot be renewed on the web today; empty when it can (renewability and
    renewLoan). 「現在借りている図書・雑誌の延長(次の予約がなければ貸出期限内に1回のみ可)」"""
    if loan.returned_at is not None:
        return [Failure(ErrorCode.ITEM_NOT_ON_LOAN, ("loan_id",))]
    blocks = []
    if material is not None and material not in policy.web_renewal_materials:
        blocks.append(Failure(ErrorCode.MATERIAL_NOT_RENEWABLE_ON_WEB, ("loan_id",),
                              {"material": MATERIAL_NAMES[material]}))
    if is_overdue(loan, today):
        blocks.append(Failure(ErrorCode.LOAN_OVERDUE, ("loan_id",)))
    if loan.renewal_count >= policy.renewal_limit:
        blocks.append(Failure(ErrorCode.RENEWAL_LIMIT_REACHED, ("loan_id",), {"limit": policy.renewal_limit}))
    if holds_waiting > 0:
        blocks.append(Failure(ErrorCode.RENEWAL_BLOCKED_BY_HOLD, ("loan_id",)))
    return blocks


# --- holds (予約) ---------------------------------------------------------------------------


@dataclass
class HolderState:
    """What the hold rules need to know about a patron: contact, active holds, current loans."""

    patron_id: int
    contact_email: str | None
    held_title_ids: set[int] = field(default_factory=set)
    loaned_title_ids: set[int] = field(default_factory=set)

    @property
    def active_holds(self) -> int:
        return len(self.held_title_ids)


def hold_blocks(state: HolderState, title_id: int, availability: Availability, source: HoldSource,
                policy: Policy) -> list[Failure]:
    """Why this patron cannot place this hold now; empty when they can (placeHold, cart, counter).

    Web holds need a contact address (連絡方法はメールのみ) and a material type the library
    takes web holds on (図書・雑誌 by default); staff at the counter are not limited by either.
    The library must own a loanable copy (interlibrary loans and purchase requests excepted;
    a title kept for use in the library only, 禁帯出, has its own reason) and every copy must be
    out: a copy on the shelf is borrowed in person. Every source counts toward the limit.
    """
    blocks = []
    field_ = ("title_id",)
    web = source is HoldSource.WEB
    if web and not state.contact_email:
        blocks.append(Failure(ErrorCode.NO_CONTACT_EMAIL))
    if web and availability.material_type not in (None, *policy.web_hold_materials):
        blocks.append(Failure(ErrorCode.MATERIAL_NOT_HOLDABLE_ON_WEB, field_,
                              {"material": MATERIAL_NAMES[availability.material_type]}))
    if title_id in state.held_title_ids:
        blocks.append(Failure(ErrorCode.ALREADY_HELD, field_))
    elif title_id in state.loaned_title_ids:
        blocks.append(Failure(ErrorCode.ALREADY_ON_LOAN, field_))
    elif source in _UNOWNED_ALLOWED and availability.copies == 0:
        pass  # another library's copy, or a new one bought for the patron
    elif availability.reference_only:
        blocks.append(Failure(ErrorCode.TITLE_REFERENCE_ONLY, field_))
    elif not availability.owned:
        blocks.append(Failure(ErrorCode.TITLE_NOT_OWNED, field_))
    elif not availability.all_copies_out:
        blocks.append(Failure(ErrorCode.TITLE_AVAILABLE_ON_SHELF, field_))
    if state.active_holds >= policy.hold_limit:
        blocks.append(Failure(ErrorCode.HOLD_LIMIT_REACHED, field_, {"limit": policy.hold_limit}))
    return blocks


def holdable_on_web(availability: Availability, policy: Policy) -> bool:
    """`Title.holdable`: a Web予約 is possible for someone (a material type taken on the web,
    every loanable copy out); the patron's own limits are checked by `hold_blocks`."""
    return availability.all_copies_out and availability.material_type in policy.web_hold_materials


# --- cancelling (予約取消) -----------------------------------------------------------------


def cancel_blocks(hold: Hold | ActiveHold, *, by_staff: bool = False) -> list[Failure]:
    """Why this hold cannot be cancelled (Hold.cancellable and cancelHold): only active holds,
    and interlibrary-loan and purchase-request holds only at the counter."""
    if hold.status not in ACTIVE_HOLD_STATUSES:
        return [Failure(ErrorCode.HOLD_NOT_CANCELLABLE, ("hold_id",))]
    if not by_staff and hold.source in _COUNTER_ONLY_CANCEL:
        return [Failure(ErrorCode.HOLD_CANCEL_AT_COUNTER, ("hold_id",))]
    return []
