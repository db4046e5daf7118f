"""The locks of circulation, always taken in this order so two operations never wait for each
other: the patron's `hold_lock` (hold placement, cart), then the titles involved (ascending id),
then the copy's row. On SQLite Tortoise serialises transactions in-process and
`select_for_update` is a no-op."""

from __future__ import annotations

from typing import Iterable

from tortoise.expressions import F

from app.models import Item, Patron, Title


async def lock_patron(patron_id: int) -> None:
    """Serialise hold placement and the cart of one patron (row lock / SQLite write lock)."""
    await Patron.filter(id=patron_id).update(hold_lock=F("hold_lock") + 1)


async def lock_titles(title_ids: Iterable[int]) -> dict[int, Title]:
    """Lock the titles' rows (ascending id, the one lock order) for the rest of the transaction."""
    ids = sorted(set(title_ids))
    if not ids:
        return {}
    return {t.id: t for t in await Title.filter(id__in=ids).order_by("id").select_for_update()}


async def lock_item(item_id: int) -> Item:
    item = await Item.filter(id=item_id).select_for_update().first()
    if item is None:  # copies are withdrawn, never deleted, while a loan or hold names them
        raise RuntimeError(f"copy {item_id} is gone")
    return item
