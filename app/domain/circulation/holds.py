"""Placing and cancelling holds (予約・予約取消), on the web and by staff for a patron."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from tortoise.transactions import in_transaction

from app.domain import catalog, events, notices
from app.domain.circulation.desk import patron_by_card
from app.domain.circulation.locks import lock_item, lock_patron, lock_titles
from app.domain.circulation.queue import route_copy
from app.domain.circulation.rules import HolderState, cancel_blocks, hold_blocks
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Failure
from app.models import Hold, Loan, Patron, Staff
from app.models.enums import ACTIVE_HOLD_STATUSES, CancelReason, EventKind, HoldSource, HoldStatus, NoticeKind


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
        await lock_patron(patron.id)
        (attempt,) = await place_holds(deps, patron.id, [title_id or 0], source, placed_by)
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


async def place_holds(deps: Deps, patron_id: int, title_ids: Sequence[int], source: HoldSource,
                       placed_by: Staff | None) -> list[HoldAttempt]:
    """Place holds on titles in order, each checked against the holds placed before it.

    The caller holds the patron's lock (limit, one hold per title); the title locks taken here
    serialise the placement with check-in and checkout (all copies out).
    """
    now, today = deps.now(), deps.today()
    titles = await lock_titles(title_ids)
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
        await lock_titles([hold.title_id])
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
            next_hold = await route_copy(deps, await lock_item(hold.item_id))
        return Cancelled(await Hold.get(id=hold.id), next_hold)
