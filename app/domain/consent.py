"""The consent ledger (同意の記録): when the patron turned the loan history or the due-date mail
on or off, registered, changed or removed their address, or deleted their reading records.

Each entry is a kind and a library day, nothing else: never the address before or after, so the
ledger keeps no old address the rules do not need. It is written in the transaction of the
change it records, and kept while the patron is registered.
"""

from __future__ import annotations

from app.domain.deps import Deps
from app.models import ConsentRecord
from app.models.enums import ConsentKind


async def record(deps: Deps, patron_id: int, kind: ConsentKind) -> None:
    """Add an entry for today (call it inside the transaction of the change)."""
    await ConsentRecord.create(patron_id=patron_id, kind=kind, on_date=deps.today())


async def ledger(patron_id: int) -> list[ConsentRecord]:
    """The patron's entries, oldest first."""
    return await ConsentRecord.filter(patron_id=patron_id).order_by("on_date", "id")
