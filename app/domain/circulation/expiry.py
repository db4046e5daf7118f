"""Expiry of uncollected holds (取置期限切れ): the daily run of the worker and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app.domain import events
from app.domain.circulation.locks import lock_item, lock_titles
from app.domain.circulation.queue import route_copy
from app.domain.deps import Deps
from app.models import Hold
from app.models.enums import CancelReason, EventKind, HoldStatus


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
            await lock_titles([title_id])
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
            if await route_copy(deps, await lock_item(item_id)):
                report.moved_on += 1
            else:
                report.shelved += 1
    return report
