"""The catalog: what a title's copies are doing now (availability) and its search text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from tortoise.functions import Count

from app.domain.normalize import search_key
from app.models import Hold, Item
from app.models.enums import HoldStatus, ItemStatus

# Copies in these states are not part of the collection a patron can borrow from.
_GONE = (ItemStatus.MISSING, ItemStatus.WITHDRAWN)


@dataclass(frozen=True)
class Availability:
    """貸出状況 of one title: loanable copies, how many are on the shelf, on loan, and the queue."""

    copies: int = 0
    available: int = 0
    on_loan: int = 0
    holds_waiting: int = 0

    @property
    def owned(self) -> bool:
        return self.copies > 0

    @property
    def all_copies_out(self) -> bool:
        """Every loanable copy is checked out or otherwise off the shelf: a web hold is allowed."""
        return self.owned and self.available == 0


async def availability(title_ids: Iterable[int]) -> dict[int, Availability]:
    """Availability of many titles in two grouped queries (never one query per title)."""
    ids = list(set(title_ids))
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {i: {"copies": 0, "available": 0, "on_loan": 0, "holds_waiting": 0} for i in ids}
    rows = (
        await Item.filter(title_id__in=ids, loanable=True)
        .exclude(status__in=_GONE)
        .annotate(n=Count("id"))
        .group_by("title_id", "status")
        .values("title_id", "status", "n")
    )
    for row in rows:
        c = counts[row["title_id"]]
        c["copies"] += row["n"]
        if row["status"] == ItemStatus.AVAILABLE:
            c["available"] += row["n"]
        elif row["status"] == ItemStatus.ON_LOAN:
            c["on_loan"] += row["n"]
    holds = (
        await Hold.filter(title_id__in=ids, status=HoldStatus.WAITING)
        .annotate(n=Count("id"))
        .group_by("title_id")
        .values("title_id", "n")
    )
    for row in holds:
        counts[row["title_id"]]["holds_waiting"] = row["n"]
    return {i: Availability(**c) for i, c in counts.items()}


def index_text(*parts: str | None) -> str:
    """The normalised text a title is found by (title, author, publisher and their readings)."""
    return search_key(" ".join(p for p in parts if p))
