"""The hold cart (予約カート): titles put aside to hold later, placed together."""

from __future__ import annotations

from typing import Sequence

from tortoise.transactions import in_transaction

from app.domain.circulation.holds import HoldAttempt, place_holds
from app.domain.circulation.locks import lock_patron
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Failure
from app.models import HoldCartEntry, Patron, Title
from app.models.enums import HoldSource


async def add_to_cart(deps: Deps, patron: Patron, title_id: int | None) -> HoldCartEntry:
    """Put a title in the cart (any title: whether it can be held is decided when placing)."""
    async with in_transaction():
        await lock_patron(patron.id)
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
        await lock_patron(patron.id)
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
        await lock_patron(patron.id)
        cart = dict(await HoldCartEntry.filter(patron_id=patron.id).order_by("added_at", "id").values_list(
            "title_id", "id"
        ))
        chosen = list(cart) if title_ids is None else list(dict.fromkeys(t or 0 for t in title_ids))
        wanted = [t for t in chosen if t in cart]
        attempts = {a.title_id: a for a in await place_holds(deps, patron.id, wanted, HoldSource.WEB, None)}
        placed = [t for t, a in attempts.items() if a.hold is not None]
        for title_id in placed:
            attempts[title_id].cart_entry_id = cart[title_id]
        if placed:
            await HoldCartEntry.filter(patron_id=patron.id, title_id__in=placed).delete()
    return [attempts.get(t) or HoldAttempt(t, failures=[Failure(ErrorCode.NOT_FOUND, ("title_ids",))])
            for t in chosen]
