"""Circulation (貸出・延長・予約・予約カート・カウンター業務): the library's lending rules.

Each rule is one function used by both the mutation and the eligibility field a client shows
before the patron tries: `renewal_blocks` (延長), `hold_blocks` (予約), `cancel_blocks` (取消).
They return `Failure`s whose codes are the reasons.

Concurrency: every operation that changes holds or copies runs in one transaction that first
locks what it depends on, always in the same order so two operations never wait for each
other: the patron's `hold_lock` (hold placement, cart), then the titles involved (ascending
id), then the copy's row. The partial unique indexes of migration 0002 (one active hold per
patron and title, one ready hold per copy, one open loan per copy) back the locks up. On
SQLite Tortoise serialises transactions in-process and `select_for_update` is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app import db
from app.domain import calendar, catalog, events, notices, shelves
from app.domain.accounts import parse_card_number
from app.domain.catalog import Availability
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Failure, Validator
from app.domain.messages import MATERIAL_NAMES
from app.domain.normalize import nfkc
from app.models import Hold, HoldCartEntry, Item, Loan, Patron, Staff, Title
from app.models.enums import (
    ACTIVE_HOLD_STATUSES,
    CancelReason,
    EventKind,
    HoldSource,
    HoldStatus,
    ItemStatus,
    MaterialType,
    NoticeKind,
)
from app.settings import Policy

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


async def renew_loan(deps: Deps, patron: Patron, loan_id: int | None) -> Loan:
    """延長: the patron's own current loan, due again a loan period from today."""
    today, now = deps.today(), deps.now()
    async with in_transaction():
        # The row lock makes two simultaneous renewals of one loan take turns (renew once).
        loan = await Loan.filter(id=loan_id or 0, patron_id=patron.id, returned_at=None).select_for_update().first()
        if loan is None:
            raise DomainError(ErrorCode.NOT_FOUND, "loan_id")
        queue = (await catalog.availability([loan.title_id]))[loan.title_id]
        blocks = renewal_blocks(loan, today, deps.settings.policy, queue.holds_waiting, queue.material_type)
        if blocks:
            raise DomainError(failures=blocks)
        # A renewal never shortens a loan (e.g. renewed on the day it was lent).
        due = max(loan.due_date, await due_date_from(deps, today))
        renewed = await Loan.filter(id=loan.id, renewal_count=loan.renewal_count, returned_at=None).update(
            renewal_count=F("renewal_count") + 1, due_date=due, last_renewed_at=now
        )
        if renewed != 1:  # only without row locks (never expected): someone renewed first
            raise DomainError(ErrorCode.RENEWAL_LIMIT_REACHED, "loan_id", limit=deps.settings.policy.renewal_limit)
        return await Loan.get(id=loan.id)


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


async def holder_states(patron_ids: Iterable[int]) -> dict[int, HolderState]:
    """The hold-rule state of many patrons in three queries."""
    ids = list(set(patron_ids))
    if not ids:
        return {}
    states = {
        pid: HolderState(pid, email)
        for pid, email in await Patron.filter(id__in=ids).values_list("id", "contact_email")
    }
    for pid, tid in await Hold.filter(patron_id__in=ids, status__in=ACTIVE_HOLD_STATUSES).values_list(
        "patron_id", "title_id"
    ):
        states[pid].held_title_ids.add(tid)
    for pid, tid in await Loan.filter(patron_id__in=ids, returned_at=None).values_list("patron_id", "title_id"):
        states[pid].loaned_title_ids.add(tid)
    return states


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


@dataclass
class HoldAttempt:
    """One title of a batch of placements: the hold placed, or why not."""

    title_id: int
    hold: Hold | None = None
    failures: list[Failure] = field(default_factory=list)
    cart_entry_id: int | None = None  # the cart line that left the cart when its hold was placed


async def place_hold(deps: Deps, patron: Patron, title_id: int | None, *,
                     source: HoldSource = HoldSource.WEB, placed_by: Staff | None = None) -> Hold:
    """予約: one hold on a title, from the web or by staff for the patron."""
    async with in_transaction():
        await _lock_patron(patron.id)
        (attempt,) = await _place_holds(deps, patron.id, [title_id or 0], source, placed_by)
        if attempt.failures:
            raise DomainError(failures=attempt.failures)
    if attempt.hold is None:
        raise RuntimeError("a hold attempt without failures placed no hold")
    return attempt.hold


async def place_hold_for_patron(deps: Deps, staff: Staff, card_number: str, title_id: int | None,
                                source: HoldSource) -> Hold:
    """A hold placed by staff for a patron: at the counter, or an interlibrary-loan or purchase
    request (these two may be for titles the library does not own)."""
    if source is HoldSource.WEB:
        raise DomainError(ErrorCode.INVALID_INPUT, "source")
    patron = await patron_by_card(card_number)
    return await place_hold(deps, patron, title_id, source=source, placed_by=staff)


async def _place_holds(deps: Deps, patron_id: int, title_ids: Sequence[int], source: HoldSource,
                       placed_by: Staff | None) -> list[HoldAttempt]:
    """Place holds on titles in order, each checked against the holds placed before it.

    The caller holds the patron's lock (limit, one hold per title); the title locks taken here
    serialise the placement with check-in and checkout (all copies out).
    """
    now, today = deps.now(), deps.today()
    titles = await _lock_titles(title_ids)
    availability = await catalog.availability(titles.keys())
    state = (await holder_states([patron_id]))[patron_id]
    attempts = []
    for title_id in title_ids:
        attempt = HoldAttempt(title_id)
        attempts.append(attempt)
        title = titles.get(title_id)
        if title is None:
            attempt.failures = [Failure(ErrorCode.NOT_FOUND, ("title_id",))]
            continue
        attempt.failures = hold_blocks(state, title_id, availability[title_id], source, deps.settings.policy)
        if attempt.failures:
            continue
        hold = await Hold.create(
            patron_id=patron_id, title_id=title_id, source=source, status=HoldStatus.WAITING,
            contact_email=state.contact_email, placed_at=now,
            placed_by_id=placed_by.id if placed_by else None,
        )
        state.held_title_ids.add(title_id)
        attempt.hold = hold
        # 予約受付: counter holds are told by e-mail too (メール連絡のみ).
        await notices.enqueue(
            deps, NoticeKind.HOLD_RECEIVED, dedupe_key=f"hold_received:{hold.id}", patron_id=patron_id,
            to_address=hold.contact_email,
            data={"hold_id": hold.id, "title": title.title, "placed_on": today.isoformat(),
                  "source": source.value},
        )
    return attempts


# The queue of a title (予約順): its waiting holds in the order placed, the id breaking ties. The
# one definition: which hold a copy is trapped for (`_trap`) and each hold's place in line.
QUEUE_ORDER = ("placed_at", "id")


def _place_in_line(hold: str) -> str:
    """SQL of the place in line (1 = next) of the waiting hold `hold` (a table alias): how many
    waiting holds of its title come at or before it in `QUEUE_ORDER`."""
    return (f"(SELECT count(*) FROM holds q WHERE q.title_id = {hold}.title_id AND q.status = '{_WAITING}' "
            f"AND {_at_or_before('q', hold, QUEUE_ORDER)})")


def _at_or_before(row: str, other: str, columns: Sequence[str]) -> str:
    """SQL: `row` comes at or before `other` in the ascending order of `columns`."""
    first, *rest = columns
    if not rest:
        return f"{row}.{first} <= {other}.{first}"
    return f"({row}.{first} < {other}.{first} OR ({row}.{first} = {other}.{first} AND {_at_or_before(row, other, rest)}))"


_WAITING = HoldStatus.WAITING.value


async def queue_positions(holds: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Place in line (1 = next) of waiting holds given as (hold id, title id), in one query.
    Holds that are not waiting have no place."""
    ids = sorted({hold_id for hold_id, _ in holds})
    if not ids:
        return {}
    rows = await db.fetch(
        f"SELECT h.id, {_place_in_line('h')} AS place FROM holds h "
        f"WHERE h.status = ? AND h.id IN ({', '.join('?' * len(ids))})", _WAITING, *ids,
    )
    return {row["id"]: row["place"] for row in rows}


def cancel_blocks(hold: Hold, *, by_staff: bool = False) -> list[Failure]:
    """Why this hold cannot be cancelled (Hold.cancellable and cancelHold): only active holds,
    and interlibrary-loan and purchase-request holds only at the counter."""
    if hold.status not in ACTIVE_HOLD_STATUSES:
        return [Failure(ErrorCode.HOLD_NOT_CANCELLABLE, ("hold_id",))]
    if not by_staff and hold.source in _COUNTER_ONLY_CANCEL:
        return [Failure(ErrorCode.HOLD_CANCEL_AT_COUNTER, ("hold_id",))]
    return []


@dataclass
class Cancelled:
    """A cancelled hold, and the hold its copy went to next (if it was ready and someone waits)."""

    hold: Hold
    next_hold: Hold | None = None


async def cancel_hold(deps: Deps, hold_id: int | None, *, patron: Patron | None = None,
                      staff: Staff | None = None) -> Cancelled:
    """予約取消 by the patron (their own hold) or by staff. A ready copy goes to the next in line."""
    if (patron is None) == (staff is None):
        raise ValueError("a hold is cancelled either by its patron or by staff")
    now = deps.now()
    async with in_transaction():
        hold = await Hold.get_or_none(id=hold_id or 0)
        if hold is None or (patron is not None and hold.patron_id != patron.id):
            raise DomainError(ErrorCode.NOT_FOUND, "hold_id")
        await _lock_titles([hold.title_id])
        hold = await Hold.get(id=hold.id)
        blocks = cancel_blocks(hold, by_staff=staff is not None)
        if blocks:
            raise DomainError(failures=blocks)
        reason = CancelReason.STAFF if staff else CancelReason.PATRON
        await Hold.filter(id=hold.id, status=hold.status).update(
            status=HoldStatus.CANCELLED, cancelled_at=now, cancel_reason=reason
        )
        await events.publish(deps, hold.patron_id, EventKind.HOLD_CANCELLED, hold_id=hold.id, reason=reason.value)
        next_hold = None
        if hold.status is HoldStatus.READY and hold.item_id is not None:
            next_hold = await _route_copy(deps, await _lock_item(hold.item_id))
        return Cancelled(await Hold.get(id=hold.id), next_hold)


# --- the hold cart (予約カート) -------------------------------------------------------------


async def add_to_cart(deps: Deps, patron: Patron, title_id: int | None) -> HoldCartEntry:
    """Put a title in the cart (any title: whether it can be held is decided when placing)."""
    async with in_transaction():
        await _lock_patron(patron.id)
        if not await Title.exists(id=title_id or 0):
            raise DomainError(ErrorCode.NOT_FOUND, "title_id")
        if await HoldCartEntry.exists(patron_id=patron.id, title_id=title_id):
            raise DomainError(ErrorCode.ALREADY_IN_CART, "title_id")
        limit = deps.settings.policy.hold_cart_limit
        if await HoldCartEntry.filter(patron_id=patron.id).count() >= limit:
            raise DomainError(ErrorCode.LIMIT_REACHED, "title_id", limit=limit)
        return await HoldCartEntry.create(patron_id=patron.id, title_id=title_id, added_at=deps.now())


async def remove_from_cart(deps: Deps, patron: Patron, title_id: int | None) -> int:
    """Take a title out of the cart; returns the id of the removed entry."""
    async with in_transaction():
        await _lock_patron(patron.id)
        entry = await HoldCartEntry.get_or_none(patron_id=patron.id, title_id=title_id or 0)
        if entry is None:
            raise DomainError(ErrorCode.NOT_FOUND, "title_id")
        await HoldCartEntry.filter(id=entry.id).delete()
        return entry.id


async def place_holds_from_cart(deps: Deps, patron: Patron,
                                title_ids: Sequence[int | None] | None = None) -> list[HoldAttempt]:
    """Place a hold for every title in the cart (or the chosen ones), in the order they were
    added. Each line succeeds or fails on its own, the limit counting the lines placed before
    it; placed lines leave the cart."""
    async with in_transaction():
        await _lock_patron(patron.id)
        cart = dict(await HoldCartEntry.filter(patron_id=patron.id).order_by("added_at", "id").values_list(
            "title_id", "id"
        ))
        chosen = list(cart) if title_ids is None else list(dict.fromkeys(t or 0 for t in title_ids))
        wanted = [t for t in chosen if t in cart]
        attempts = {a.title_id: a for a in await _place_holds(deps, patron.id, wanted, HoldSource.WEB, None)}
        placed = [t for t, a in attempts.items() if a.hold is not None]
        for title_id in placed:
            attempts[title_id].cart_entry_id = cart[title_id]
        if placed:
            await HoldCartEntry.filter(patron_id=patron.id, title_id__in=placed).delete()
    return [attempts.get(t) or HoldAttempt(t, failures=[Failure(ErrorCode.NOT_FOUND, ("title_ids",))])
            for t in chosen]


# --- the circulation desk (貸出・返却) -------------------------------------------------------


@dataclass
class Checkout:
    loan: Loan
    fulfilled_hold: Hold | None = None


@dataclass
class Checkin:
    item: Item
    loan: Loan | None = None
    trapped_hold: Hold | None = None


async def patron_by_card(card_number: str) -> Patron:
    """The patron a staff member names by card number; inactive cards are refused."""
    v = Validator()
    card = parse_card_number(card_number, v)
    v.check()
    patron = await Patron.get_or_none(card_number=card)
    if patron is None:
        raise DomainError(ErrorCode.NOT_FOUND, "card_number")
    if not patron.is_active:
        raise DomainError(ErrorCode.PATRON_INACTIVE, "card_number")
    return patron


def _barcode(raw: str, v: Validator) -> str:
    code = nfkc(raw or "").strip()
    if not catalog.is_barcode(code):
        v.add(ErrorCode.NOT_FOUND, "barcode")
    return code


async def checkout(deps: Deps, card_number: str, barcode: str) -> Checkout:
    """貸出 at the desk. The due date skips closed days; a copy held for this patron (or any
    active hold of theirs on the title) is fulfilled; a copy held for another is refused."""
    v = Validator()
    parse_card_number(card_number, v)
    code = _barcode(barcode, v)
    v.check()
    now, today = deps.now(), deps.today()
    async with in_transaction():
        patron = await patron_by_card(card_number)
        item = await _item_by_barcode(code)
        await _lock_titles([item.title_id])
        item = await _lock_item(item.id)
        if not item.loanable or item.status not in (ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF):
            raise DomainError(ErrorCode.ITEM_NOT_AVAILABLE, "barcode")
        if await Loan.exists(item_id=item.id, returned_at=None):
            raise DomainError(ErrorCode.ITEM_NOT_AVAILABLE, "barcode")
        trapped = await Hold.get_or_none(item_id=item.id, status=HoldStatus.READY)
        if trapped is not None and trapped.patron_id != patron.id:
            raise DomainError(ErrorCode.ITEM_HELD_FOR_ANOTHER_PATRON, "barcode")
        own = await Hold.get_or_none(patron_id=patron.id, title_id=item.title_id, status__in=ACTIVE_HOLD_STATUSES)
        if own is not None:
            await Hold.filter(id=own.id).update(status=HoldStatus.FULFILLED, fulfilled_at=now)
            if own.status is HoldStatus.READY and own.item_id not in (None, item.id):
                # They took another copy from the shelf: the one kept for them moves on.
                await _route_copy(deps, await _lock_item(own.item_id))
            own = await Hold.get(id=own.id)
        loan = await Loan.create(
            item_id=item.id, title_id=item.title_id, patron_id=patron.id, checked_out_at=now,
            due_date=await due_date_from(deps, today),
        )
        await Item.filter(id=item.id).update(status=ItemStatus.ON_LOAN)
        await shelves.record_checkout(patron, item.title_id, today)
        return Checkout(loan, own)


async def checkin(deps: Deps, barcode: str) -> Checkin:
    """返却 at the desk: the loan ends and forgets its patron; the copy is trapped for the first
    in line (貸出準備完了) or goes back to the shelf.

    A copy on the shelf that is not on loan (a new or interlibrary-loan copy that arrived) is
    also trapped when someone waits for its title; otherwise it is refused as not on loan.
    """
    v = Validator()
    code = _barcode(barcode, v)
    v.check()
    now = deps.now()
    async with in_transaction():
        item = await _item_by_barcode(code)
        await _lock_titles([item.title_id])
        item = await _lock_item(item.id)
        loan = await Loan.get_or_none(item_id=item.id, returned_at=None)
        if loan is not None:
            # Privacy: a returned loan keeps no link to the patron, whatever the history choice
            # (the opt-in history lives in its own table), and their fulfilled hold goes too.
            await Loan.filter(id=loan.id).update(returned_at=now, patron_id=None)
            if loan.patron_id is not None:
                await Hold.filter(patron_id=loan.patron_id, title_id=loan.title_id, status=HoldStatus.FULFILLED).delete()
            trapped = await _route_copy(deps, item)
            loan = await Loan.get(id=loan.id)
        elif item.status is ItemStatus.AVAILABLE and item.loanable:
            trapped = await _trap(deps, item)
            if trapped is None:
                raise DomainError(ErrorCode.ITEM_NOT_ON_LOAN, "barcode")
        else:
            raise DomainError(ErrorCode.ITEM_NOT_ON_LOAN, "barcode")
        return Checkin(await Item.get(id=item.id), loan, trapped)


# --- expiry of uncollected holds (取置期限切れ) ---------------------------------------------


@dataclass
class ExpiryReport:
    expired: int = 0
    moved_on: int = 0
    shelved: int = 0


async def expire_holds(deps: Deps) -> ExpiryReport:
    """Ready holds past their pickup deadline are cancelled (expired); each copy goes to the
    next in line or back to the shelf. Safe to run again: a hold expires once.
    (The `library expire-holds` command and the worker call this.)"""
    today, now = deps.today(), deps.now()
    report = ExpiryReport()
    overdue = await Hold.filter(status=HoldStatus.READY, pickup_deadline__lt=today).order_by(
        "pickup_deadline", "id"
    ).values_list("id", "title_id")
    for hold_id, title_id in overdue:
        # One short transaction per hold: a busy desk is never blocked behind the whole run.
        async with in_transaction():
            await _lock_titles([title_id])
            expired = await Hold.filter(id=hold_id, status=HoldStatus.READY, pickup_deadline__lt=today).update(
                status=HoldStatus.CANCELLED, cancelled_at=now, cancel_reason=CancelReason.EXPIRED
            )
            if not expired:
                continue
            report.expired += 1
            hold = await Hold.get(id=hold_id)
            await events.publish(deps, hold.patron_id, EventKind.HOLD_EXPIRED, hold_id=hold_id)
            item_id = hold.item_id
            if item_id is None:
                continue
            if await _route_copy(deps, await _lock_item(item_id)):
                report.moved_on += 1
            else:
                report.shelved += 1
    return report


# --- copies moving between shelf, loan and hold shelf ---------------------------------------


async def _lock_patron(patron_id: int) -> None:
    """Serialise hold placement and the cart of one patron (row lock / SQLite write lock)."""
    await Patron.filter(id=patron_id).update(hold_lock=F("hold_lock") + 1)


async def _lock_titles(title_ids: Iterable[int]) -> dict[int, Title]:
    """Lock the titles' rows (ascending id, the one lock order) for the rest of the transaction."""
    ids = sorted(set(title_ids))
    if not ids:
        return {}
    return {t.id: t for t in await Title.filter(id__in=ids).order_by("id").select_for_update()}


async def _lock_item(item_id: int) -> Item:
    item = await Item.filter(id=item_id).select_for_update().first()
    if item is None:  # copies are withdrawn, never deleted, while a loan or hold names them
        raise RuntimeError(f"copy {item_id} is gone")
    return item


async def _item_by_barcode(code: str) -> Item:
    item = await Item.get_or_none(barcode=code)
    if item is None:
        raise DomainError(ErrorCode.NOT_FOUND, "barcode")
    return item


async def _route_copy(deps: Deps, item: Item) -> Hold | None:
    """A copy free again goes to the first in line, or back to the shelf (its title is locked)."""
    hold = await _trap(deps, item)
    if hold is None:
        await Item.filter(id=item.id).update(status=ItemStatus.AVAILABLE)
    return hold


async def _trap(deps: Deps, item: Item) -> Hold | None:
    """Keep the copy for the first waiting hold of its title: ready, pickup deadline, notice."""
    if not item.loanable:
        return None
    hold = await Hold.filter(title_id=item.title_id, status=HoldStatus.WAITING).order_by(*QUEUE_ORDER).first()
    if hold is None:
        return None
    today = deps.today()
    deadline = await pickup_deadline_from(deps, today)
    await Hold.filter(id=hold.id, status=HoldStatus.WAITING).update(
        status=HoldStatus.READY, item_id=item.id, ready_at=deps.now(), pickup_deadline=deadline
    )
    await Item.filter(id=item.id).update(status=ItemStatus.ON_HOLD_SHELF)
    title = await Title.get(id=item.title_id)
    # 貸出準備完了: to the hold's own contact address (the patron may have moved it there).
    await notices.enqueue(
        deps, NoticeKind.HOLD_READY, dedupe_key=f"hold_ready:{hold.id}:{today.isoformat()}",
        patron_id=hold.patron_id, to_address=hold.contact_email,
        data={"hold_id": hold.id, "title": title.title, "pickup_deadline": deadline.isoformat()},
    )
    await events.publish(deps, hold.patron_id, EventKind.HOLD_READY, hold_id=hold.id,
                         pickup_deadline=deadline.isoformat())
    return await Hold.get(id=hold.id)


# --- My Page reads (貸出中一覧・予約中一覧・予約カート) ------------------------------------------
#
# Read on every visit of My Page: one hand-written statement per list, titles joined, only the
# columns shown, rows as plain objects with the models' attribute names (the rules above take
# them as they take models). No model instances and no query building: they cost more than
# the database does here.


_TITLE_COLUMNS = ", ".join(f"t.{f} AS t_{f}" for f in catalog.SHOWN_COLUMNS)


def _title_row(row: dict) -> catalog.ShownTitle:
    return catalog.ShownTitle.from_row(row, prefix="t_", id_column="title_id")


@dataclass(slots=True)
class CurrentLoan:
    """A current loan with its title and the number of holds waiting for the title."""

    id: int
    item_id: int
    title_id: int
    patron_id: int
    checked_out_at: datetime
    due_date: date
    renewal_count: int
    title: catalog.ShownTitle
    holds_waiting: int
    returned_at: datetime | None = None


# The order of 貸出中一覧: earliest due date first, the id breaking ties (a keyset: (due date, id)).
LOAN_LIST_KEY_TYPES = (date, int)


def loan_list_key(loan: CurrentLoan) -> tuple[date, int]:
    return (loan.due_date, loan.id)


async def current_loans(patron_id: int, after: tuple[date, int] | None, limit: int) -> tuple[list[CurrentLoan], int]:
    """Up to `limit` of the patron's current loans after the key `after` (from the start: None),
    earliest due date first, and the number of all of them: one statement."""
    keyset, values = "", []
    if after is not None:
        keyset, values = " AND (l.due_date > ? OR (l.due_date = ? AND l.id > ?))", [after[0], after[0], after[1]]
    rows = await db.fetch(
        "SELECT l.id, l.item_id, l.title_id, l.checked_out_at, l.due_date, l.renewal_count, "
        f"{catalog.holds_waiting_sql('l.title_id')} AS holds_waiting, "
        "(SELECT count(*) FROM loans a WHERE a.patron_id = l.patron_id AND a.returned_at IS NULL) AS total, "
        f"{_TITLE_COLUMNS} "
        "FROM loans l JOIN titles t ON t.id = l.title_id WHERE l.patron_id = ? AND l.returned_at IS NULL"
        f"{keyset} ORDER BY l.due_date, l.id LIMIT ?",
        patron_id, *values, limit,
    )
    loans = [
        CurrentLoan(row["id"], row["item_id"], row["title_id"], patron_id, db.to_datetime(row["checked_out_at"]),
                    db.to_date(row["due_date"]), row["renewal_count"], _title_row(row), row["holds_waiting"])
        for row in rows
    ]
    if rows:
        return loans, rows[0]["total"]
    total = await db.fetch("SELECT count(*) AS n FROM loans WHERE patron_id = ? AND returned_at IS NULL", patron_id) \
        if after is not None else [{"n": 0}]
    return loans, total[0]["n"]


@dataclass(slots=True)
class ActiveHold:
    """A waiting or ready hold with its title and, while waiting, its place in line."""

    id: int
    patron_id: int
    title_id: int
    item_id: int | None
    source: HoldSource
    status: HoldStatus
    contact_email: str | None
    placed_at: datetime
    ready_at: datetime | None
    pickup_deadline: date | None
    title: catalog.ShownTitle
    queue_position: int | None
    cancelled_at: datetime | None = None
    cancel_reason: CancelReason | None = None


# The order of 予約中一覧: ready holds first (to collect), then in the order placed, the id breaking
# ties (a keyset: (0 for ready, placed at, id)).
HOLD_LIST_KEY_TYPES = (int, datetime, int)


def hold_list_key(hold: ActiveHold) -> tuple[int, datetime, int]:
    return (0 if hold.status is HoldStatus.READY else 1, hold.placed_at, hold.id)


# The order of the cart: in the order titles were added (a keyset: (added at, id)).
CART_KEY_TYPES = (datetime, int)


def cart_key(line: CartLine) -> tuple[datetime, int]:
    return (line.added_at, line.id)


async def active_holds(patron_id: int) -> list[ActiveHold]:
    """The patron's waiting and ready holds, ready ones first, then in the order placed: one statement."""
    rows = await db.fetch(
        "SELECT h.id, h.title_id, h.item_id, h.source, h.status, h.contact_email, h.placed_at, h.ready_at, "
        f"h.pickup_deadline, CASE WHEN h.status = ? THEN {_place_in_line('h')} END AS queue_position, "
        f"{_TITLE_COLUMNS} FROM holds h JOIN titles t ON t.id = h.title_id "
        "WHERE h.patron_id = ? AND h.status IN (?, ?)",
        _WAITING, patron_id, *(s.value for s in ACTIVE_HOLD_STATUSES),
    )
    holds = [
        ActiveHold(row["id"], patron_id, row["title_id"], row["item_id"], HoldSource(row["source"]),
                   HoldStatus(row["status"]), row["contact_email"], db.to_datetime(row["placed_at"]),
                   db.to_datetime(row["ready_at"]), db.to_date(row["pickup_deadline"]), _title_row(row),
                   row["queue_position"])
        for row in rows
    ]
    holds.sort(key=hold_list_key)
    return holds


@dataclass(slots=True)
class CartLine:
    """A title in the hold cart, with the title."""

    id: int
    patron_id: int
    title_id: int
    added_at: datetime
    title: catalog.ShownTitle


async def cart_lines(patron_id: int) -> list[CartLine]:
    """The whole hold cart (at most the cart limit), in the order titles were added: one statement."""
    rows = await db.fetch(
        f"SELECT c.id, c.title_id, c.added_at, {_TITLE_COLUMNS} FROM hold_cart_entries c "
        "JOIN titles t ON t.id = c.title_id WHERE c.patron_id = ? ORDER BY c.added_at, c.id",
        patron_id,
    )
    return [CartLine(row["id"], patron_id, row["title_id"], db.to_datetime(row["added_at"]), _title_row(row))
            for row in rows]
