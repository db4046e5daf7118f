"""Notices to patrons (予約受付・貸出準備完了・返却日・メール確認): recorded in the outbox."""

from __future__ import annotations

from typing import Any

from app.domain.deps import Deps
from app.models import Notice
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
