"""Notices to patrons (予約受付・貸出準備完了・返却日・メール確認): recorded in the outbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from app.domain import consent
from app.domain.deps import Deps
from app.domain.calendar import valid_period
from app.domain.errors import DomainError, ErrorCode
from app.models import Notice, Patron
from app.models.enums import ConsentKind, NoticeKind, NoticeStatus


async def enqueue(deps: Deps, kind: NoticeKind, *, dedupe_key: str, patron_id: int | None,
                  to_address: str | None, data: dict[str, Any]) -> None:
    """Record a notice in the caller's transaction; a second one for the same event is ignored.

    A notice without an address is kept (the patron sees it in `viewer.notices`) but never sent.
    `data` carries what the message needs (ids, dates as ISO strings, and "title"/"titles",
    which are dropped unless NOTICES_INCLUDE_TITLES is on).
    """
    if not deps.settings.notices_include_titles:
        # Patron privacy: unless the library chose otherwise, no title is kept in the outbox.
        data = {k: v for k, v in data.items() if k not in ("title", "titles")}
    now = deps.now()
    notice = Notice(
        kind=kind,
        patron_id=patron_id,
        to_address=to_address,
        dedupe_key=dedupe_key,
        data=data,
        status=NoticeStatus.PENDING if to_address else NoticeStatus.NO_ADDRESS,
        next_attempt_at=now,
        created_at=now,
    )
    # INSERT ... ON CONFLICT DO NOTHING: a duplicate must not abort the caller's transaction.
    await Notice.bulk_create([notice], ignore_conflicts=True)


# The order of the notices' lists: newest first (the last column breaks ties, for keyset cursors).
NEWEST_FIRST = ("-created_at", "-id")


def for_patron(patron_id: int) -> QuerySet[Notice]:
    """The patron's own notices, newest first (viewer.notices)."""
    return Notice.filter(patron_id=patron_id).order_by(*NEWEST_FIRST)


def failed() -> QuerySet[Notice]:
    """Notices that will not be sent without help, newest first (staff)."""
    return Notice.filter(status=NoticeStatus.FAILED).order_by(*NEWEST_FIRST)


def _back_in_the_outbox(deps: Deps) -> dict[str, Any]:
    """The changes that put a failed notice back in the outbox: due now, with a fresh count."""
    return {"status": NoticeStatus.PENDING, "attempts": 0, "next_attempt_at": deps.now(), "failed_at": None,
            "locked_until": None, "locked_by": None}


async def retry(deps: Deps, notice_id: int) -> Notice:
    """Put a failed notice back in the outbox, to be tried at once with a fresh count (staff)."""
    updated = await Notice.filter(id=notice_id, status=NoticeStatus.FAILED).update(**_back_in_the_outbox(deps))
    if updated != 1:
        if not await Notice.exists(id=notice_id):
            raise DomainError(ErrorCode.NOT_FOUND, "notice_id")
        raise DomainError(ErrorCode.NOTICE_NOT_RETRYABLE, "notice_id")
    return await Notice.get(id=notice_id)


REQUEUE_PERIOD_MAX_YEARS = 1


async def requeue_failed(deps: Deps, period_start: date, period_end: date, *, dry_run: bool = False) -> int:
    """Put back in the outbox every notice that failed between two library days, both included
    (after an outage of the mail server); how many (only counted, on a dry run). Staff."""
    if not valid_period(period_start, period_end, REQUEUE_PERIOD_MAX_YEARS):
        raise DomainError(ErrorCode.INVALID_PERIOD, "period_end", years=REQUEUE_PERIOD_MAX_YEARS)
    failed_in_period = Notice.filter(
        status=NoticeStatus.FAILED,
        failed_at__gte=deps.clock.start_of(period_start),
        failed_at__lt=deps.clock.start_of(period_end + timedelta(days=1)),
    )
    if dry_run:
        return await failed_in_period.count()
    return await failed_in_period.update(**_back_in_the_outbox(deps))


async def update_settings(deps: Deps, patron_id: int, *, due_date_reminder: bool | None) -> Patron:
    """The patron's notice preferences (返却日メールを受け取る); None leaves a setting as it is."""
    async with in_transaction():
        patron = await Patron.select_for_update().get(id=patron_id)
        if due_date_reminder is not None and due_date_reminder != patron.notify_due_reminder:
            await Patron.filter(id=patron_id).update(updated_at=deps.now(), notify_due_reminder=due_date_reminder)
            await consent.record(deps, patron_id, ConsentKind.DUE_REMINDER_ON if due_date_reminder
                                 else ConsentKind.DUE_REMINDER_OFF)
    return await Patron.get(id=patron_id)
