"""The circulation desk (貸出・返却): checkout and check-in by staff."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app.domain import catalog, shelves
from app.domain.accounts import parse_card_number
from app.domain.circulation.locks import lock_item, lock_titles
from app.domain.circulation.queue import route_copy, trap
from app.domain.circulation.rules import due_date_from
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Validator
from app.domain.normalize import nfkc
from app.models import Hold, Item, Loan, Patron
from app.models.enums import ACTIVE_HOLD_STATUSES, HoldStatus, ItemStatus


@dataclass
class Checkout:
    loan: Loan
    fulfilled_hold: Hold | None = None


@dataclass
class Checkin:
    item: Item
    loan: Loan | None = None
    trapped_hold: Hold | None = None


async def patron_by_card(card_number: str) -> Patron:
    """The patron a staff member names by card number; inactive cards are refused."""
    v = Validator()
    card = parse_card_number(card_number, v)
    v.check()
    patron = await Patron.get_or_none(card_number=card)
    if patron is None:
        raise DomainError(ErrorCode.NOT_FOUND, "card_number")
    if not patron.is_active:
        raise DomainError(ErrorCode.PATRON_INACTIVE, "card_number")
    return patron


def _barcode(raw: str, v: Validator) -> str:
    code = nfkc(raw or "").strip()
    if not catalog.is_barcode(code):
        v.add(ErrorCode.NOT_FOUND, "barcode")
    return code


async def checkout(deps: Deps, card_number: str, barcode: str) -> Checkout:
    """貸出 at the desk. The due date skips closed days; a copy held for this patron (or any
    active hold of theirs on the title) is fulfilled; a copy held for another is refused."""
    v = Validator()
    parse_card_number(card_number, v)
    code = _barcode(barcode, v)
    v.check()
    now, today = deps.now(), deps.today()
    async with in_transaction():
        patron = await patron_by_card(card_number)
        item = await _item_by_barcode(code)
        await lock_titles([item.title_id])
        item = await lock_item(item.id)
        if not item.loanable or item.status not in (ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF):
            raise DomainError(ErrorCode.ITEM_NOT_AVAILABLE, "barcode")
        if await Loan.exists(item_id=item.id, returned_at=None):
            raise DomainError(ErrorCode.ITEM_NOT_AVAILABLE, "barcode")
        trapped = await Hold.get_or_none(item_id=item.id, status=HoldStatus.READY)
        if trapped is not None and trapped.patron_id != patron.id:
            raise DomainError(ErrorCode.ITEM_HELD_FOR_ANOTHER_PATRON, "barcode")
        own = await Hold.get_or_none(patron_id=patron.id, title_id=item.title_id, status__in=ACTIVE_HOLD_STATUSES)
        if own is not None:
            await Hold.filter(id=own.id).update(status=HoldStatus.FULFILLED, fulfilled_at=now)
            if own.status is HoldStatus.READY and own.item_id not in (None, item.id):
                # They took another copy from the shelf: the one kept for them moves on.
                await route_copy(deps, await lock_item(own.item_id))
            own = await Hold.get(id=own.id)
        loan = await Loan.create(
            item_id=item.id, title_id=item.title_id, patron_id=patron.id, checked_out_at=now,
            due_date=await due_date_from(deps, today),
        )
        await Item.filter(id=item.id).update(status=ItemStatus.ON_LOAN)
        await shelves.record_checkout(patron, item.title_id, today)
        return Checkout(loan, own)


async def checkin(deps: Deps, barcode: str) -> Checkin:
    """返却 at the desk: the loan ends and forgets its patron; the copy is trapped for the first
    in line (貸出準備完了) or goes back to the shelf.

    A copy on the shelf that is not on loan (a new or interlibrary-loan copy that arrived) is
    also trapped when someone waits for its title; otherwise it is refused as not on loan.
    """
    v = Validator()
    code = _barcode(barcode, v)
    v.check()
    now = deps.now()
    async with in_transaction():
        item = await _item_by_barcode(code)
        await lock_titles([item.title_id])
        item = await lock_item(item.id)
        loan = await Loan.get_or_none(item_id=item.id, returned_at=None)
        if loan is not None:
            # Privacy: a returned loan keeps no link to the patron, whatever the history choice
            # (the opt-in history lives in its own table), and their fulfilled hold goes too.
            await Loan.filter(id=loan.id).update(returned_at=now, patron_id=None)
            if loan.patron_id is not None:
                await Hold.filter(patron_id=loan.patron_id, title_id=loan.title_id, status=HoldStatus.FULFILLED).delete()
            trapped = await route_copy(deps, item)
            loan = await Loan.get(id=loan.id)
        elif item.status is ItemStatus.AVAILABLE and item.loanable:
            trapped = await trap(deps, item)
            if trapped is None:
                raise DomainError(ErrorCode.ITEM_NOT_ON_LOAN, "barcode")
        else:
            raise DomainError(ErrorCode.ITEM_NOT_ON_LOAN, "barcode")
        return Checkin(await Item.get(id=item.id), loan, trapped)


async def _item_by_barcode(code: str) -> Item:
    item = await Item.get_or_none(barcode=code)
    if item is None:
        raise DomainError(ErrorCode.NOT_FOUND, "barcode")
    return item
