"""The queue of a title (予約順) and where a free copy goes: to the first waiting hold (kept on
the hold shelf, 貸出準備完了) or back to the shelf."""

from __future__ import annotations

from typing import Iterable, Sequence

from app import db
from app.domain import events, notices
from app.domain.circulation.rules import pickup_deadline_from
from app.domain.deps import Deps
from app.models import Hold, Item, Title
from app.models.enums import EventKind, HoldStatus, ItemStatus, NoticeKind


# The queue of a title (予約順): its waiting holds in the order placed, the id breaking ties. The
# one definition: which hold a copy is trapped for (`trap`) and each hold's place in line.
QUEUE_ORDER = ("placed_at", "id")
WAITING = HoldStatus.WAITING.value


def place_in_line(hold: str) -> str:
    """SQL of the place in line (1 = next) of the waiting hold `hold` (a table alias): how many
    waiting holds of its title come at or before it in `QUEUE_ORDER`."""
    return (f"(SELECT count(*) FROM holds q WHERE q.title_id = {hold}.title_id AND q.status = '{WAITING}' "
            f"AND {_at_or_before('q', hold, QUEUE_ORDER)})")


def _at_or_before(row: str, other: str, columns: Sequence[str]) -> str:
    """SQL: `row` comes at or before `other` in the ascending order of `columns`."""
    first, *rest = columns
    if not rest:
        return f"{row}.{first} <= {other}.{first}"
    return f"({row}.{first} < {other}.{first} OR ({row}.{first} = {other}.{first} AND {_at_or_before(row, other, rest)}))"


async def queue_positions(holds: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Place in line (1 = next) of waiting holds given as (hold id, title id), in one query.
    Holds that are not waiting have no place."""
    ids = sorted({hold_id for hold_id, _ in holds})
    if not ids:
        return {}
    rows = await db.fetch(
        f"SELECT h.id, {place_in_line('h')} AS place FROM holds h "
        f"WHERE h.status = ? AND h.id IN ({', '.join('?' * len(ids))})", WAITING, *ids,
    )
    return {row["id"]: row["place"] for row in rows}


async def route_copy(deps: Deps, item: Item) -> Hold | None:
    """A copy free again goes to the first in line, or back to the shelf (its title is locked)."""
    hold = await trap(deps, item)
    if hold is None:
        await Item.filter(id=item.id).update(status=ItemStatus.AVAILABLE)
    return hold


async def trap(deps: Deps, item: Item) -> Hold | None:
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
