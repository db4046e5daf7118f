"""Notices to patrons (予約受付・貸出準備完了・返却日・メール確認): recorded in the outbox."""

from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.models import Notice, Patron
from app.models.enums import NoticeKind, NoticeStatus


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


def for_patron(patron_id: int) -> QuerySet[Notice]:
    """The patron's own notices, newest first (viewer.notices)."""
    return Notice.filter(patron_id=patron_id).order_by("-created_at", "-id")


def failed() -> QuerySet[Notice]:
    """Notices that will not be sent without help, newest first (staff)."""
    return Notice.filter(status=NoticeStatus.FAILED).order_by("-created_at", "-id")


async def retry(deps: Deps, notice_id: int) -> Notice:
    """Put a failed notice back in the outbox, to be tried at once with a fresh count (staff)."""
    now = deps.now()
    updated = await Notice.filter(id=notice_id, status=NoticeStatus.FAILED).update(
        status=NoticeStatus.PENDING, attempts=0, next_attempt_at=now, locked_until=None, locked_by=None,
    )
    if updated != 1:
        if not await Notice.exists(id=notice_id):
            raise DomainError(ErrorCode.NOT_FOUND, "notice_id")
        raise DomainError(ErrorCode.NOTICE_NOT_RETRYABLE, "notice_id")
    return await Notice.get(id=notice_id)


async def update_settings(deps: Deps, patron_id: int, *, due_date_reminder: bool | None) -> Patron:
    """The patron's notice preferences (返却日メールを受け取る); None leaves a setting as it is."""
    changes: dict[str, Any] = {}
    if due_date_reminder is not None:
        changes["notify_due_reminder"] = due_date_reminder
    if changes:
        await Patron.filter(id=patron_id).update(updated_at=deps.now(), **changes)
    return await Patron.get(id=patron_id)
