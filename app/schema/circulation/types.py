"""The types of circulation in GraphQL: Loan, Hold, HoldCartEntry with their eligibility
(Renewability, Holdability), and the patron's lists (PatronCirculation, a base of `Patron`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import circulation
from app.domain.errors import ErrorCode, Failure
from app.domain.messages import message_for
from app.domain.visibility import Audience
from app.models import Hold as HoldModel
from app.models import HoldCartEntry as HoldCartEntryModel
from app.models import Loan as LoanModel
from app.models.enums import HoldSource, HoldStatus, MaterialType
from app.schema import loaders
from app.schema.base import (After, Connection, First, KeysetPage, connection_of, load_owned_nodes, query_connection,
                             query_page)
from app.schema.catalog import Item, Title
from app.schema.circulation import dataloaders
from app.schema.circulation.enums import CancelReasonEnum, HoldSourceEnum, HoldStatusEnum
from app.schema.context import Context
from app.schema.errors import ErrorCodeEnum

PatronRef = Annotated["Patron", strawberry.lazy("app.schema.accounts")]


@strawberry.type(description="Whether a loan can be renewed now and, if not, why (the same rule as renewLoan).")
class Renewability:
    renewable: bool = strawberry.field(description="The loan can be renewed now (`reasons` is empty).")
    reasons: list[ErrorCodeEnum] = strawberry.field(  # type: ignore[valid-type]
        description="LOAN_OVERDUE, RENEWAL_LIMIT_REACHED, RENEWAL_BLOCKED_BY_HOLD (empty when renewable)."
    )
    messages: list[str] = strawberry.field(description="The reasons in Japanese, in the same order.")


@strawberry.type(description="Whether a title can be held now and, if not, why (the same rule as placeHold).")
class Holdability:
    holdable: bool = strawberry.field(description="A hold can be placed now (`reasons` is empty).")
    reasons: list[ErrorCodeEnum] = strawberry.field(  # type: ignore[valid-type]
        description="NO_CONTACT_EMAIL, ALREADY_HELD, ALREADY_ON_LOAN, TITLE_NOT_OWNED, "
        "TITLE_AVAILABLE_ON_SHELF, HOLD_LIMIT_REACHED (empty when holdable)."
    )
    messages: list[str] = strawberry.field(description="The reasons in Japanese, in the same order.")


def _reasons(failures: list[Failure]) -> tuple[list[ErrorCode], list[str]]:
    return [f.code for f in failures], [message_for(f) for f in failures]


@strawberry.type(name="Loan", description="A loan (貸出). Visible to its patron and to staff.")
class Loan(relay.Node):
    id: relay.NodeID[int]
    checked_out_on: date = strawberry.field(description="貸出日 (library-local date).")
    due_date: date = strawberry.field(description="返却期限日: never a closed day.")
    renewal_count: int = strawberry.field(description="Times renewed (延長回数).")
    overdue: bool = strawberry.field(description="The due date has passed (a loan due today is not overdue).")
    returned_on: date | None = strawberry.field(description="Set once the copy is back (staff view only).")
    model: strawberry.Private[LoanModel | circulation.CurrentLoan]

    @classmethod
    def from_model(cls, m: LoanModel | circulation.CurrentLoan, ctx: Context) -> Loan:
        today = ctx.today()
        return cls(
            id=m.id, checked_out_on=circulation.local_date(ctx.deps, m.checked_out_at), due_date=m.due_date,
            renewal_count=m.renewal_count, overdue=circulation.is_overdue(m, today),
            returned_on=circulation.local_date(ctx.deps, m.returned_at), model=m,
        )

    @strawberry.field(description="The title borrowed.")
    def title(self, info: Info[Context, None]) -> Title:
        return dataloaders.title_of(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="The copy lent.")
    async def item(self, info: Info[Context, None]) -> Item:
        return Item.from_model(await dataloaders.items(info.context).load(self.model.item_id))

    @strawberry.field(description="Can the patron renew (延長) now? If not, the reasons.")
    def renewability(self, info: Info[Context, None]) -> Renewability:
        ctx = info.context

        def decide(holds_waiting: int, material: MaterialType | None) -> Renewability:
            blocks = circulation.renewal_blocks(self.model, ctx.today(), ctx.settings.policy, holds_waiting,
                                                material)
            reasons, messages = _reasons(blocks)
            return Renewability(renewable=not blocks, reasons=reasons, messages=messages)

        if isinstance(self.model, circulation.CurrentLoan):
            return decide(self.model.holds_waiting, self.model.title.material_type)
        return loaders.then(loaders.availability(ctx).load(self.model.title_id),  # type: ignore[return-value]
                            lambda queue: decide(queue.holds_waiting, queue.material_type))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        # A returned loan, linked to nobody, is visible to staff only.
        return await load_owned_nodes(info, LoanModel, node_ids, lambda m: cls.from_model(m, info.context),
                                      audience=Audience.DESK)


@strawberry.type(name="Hold", description="A hold (予約). Visible to its patron and to staff.")
class Hold(relay.Node):
    id: relay.NodeID[int]
    status: HoldStatusEnum = strawberry.field(description="Where the hold stands.")  # type: ignore[valid-type]
    source: HoldSourceEnum = strawberry.field(description="Where it was placed.")  # type: ignore[valid-type]
    placed_on: date = strawberry.field(description="予約日.")
    ready_on: date | None = strawberry.field(description="Day the copy was kept for the patron (貸出準備完了).")
    pickup_deadline: date | None = strawberry.field(description="取置期限日: collect by this day (while READY).")
    cancelled_on: date | None = strawberry.field(description="Day the hold was cancelled or expired (CANCELLED).")
    cancel_reason: CancelReasonEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="Why it was cancelled (CANCELLED only).")
    contact_email: str | None = strawberry.field(description="Where notices about this hold go.")
    model: strawberry.Private[HoldModel | circulation.ActiveHold]

    @classmethod
    def from_model(cls, m: HoldModel | circulation.ActiveHold, ctx: Context) -> Hold:
        return cls(
            id=m.id, status=m.status, source=m.source, placed_on=circulation.local_date(ctx.deps, m.placed_at),
            ready_on=circulation.local_date(ctx.deps, m.ready_at),
            pickup_deadline=m.pickup_deadline if m.status is HoldStatus.READY else None,
            cancelled_on=circulation.local_date(ctx.deps, m.cancelled_at), cancel_reason=m.cancel_reason,
            contact_email=m.contact_email, model=m,
        )

    @strawberry.field(description="The title held.")
    def title(self, info: Info[Context, None]) -> Title:
        return dataloaders.title_of(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="Place in line while WAITING (1 = next); null otherwise.")
    def queue_position(self, info: Info[Context, None]) -> int | None:
        if self.model.status is not HoldStatus.WAITING:
            return None
        if isinstance(self.model, circulation.ActiveHold):
            return self.model.queue_position
        return dataloaders.queue_positions(info.context).load((self.model.id, self.model.title_id))  # type: ignore[return-value]

    @strawberry.field(description="Can the patron cancel it on the web (the same rule as cancelHold)?")
    def cancellable(self) -> bool:
        return not circulation.cancel_blocks(self.model)

    @strawberry.field(description="The copy kept at the desk (READY holds).")
    async def item(self, info: Info[Context, None]) -> Item | None:
        if self.model.item_id is None or self.model.status is not HoldStatus.READY:
            return None
        return Item.from_model(await dataloaders.items(info.context).load(self.model.item_id))

    @strawberry.field(description="The patron the hold is for.")
    async def patron(self, info: Info[Context, None]) -> PatronRef:
        from app.schema.accounts import Patron

        return Patron.from_model(await loaders.patrons(info.context).load(self.model.patron_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        return await load_owned_nodes(info, HoldModel, node_ids, lambda m: cls.from_model(m, info.context),
                                      audience=Audience.DESK)


@strawberry.type(name="HoldCartEntry", description="A title in the hold cart (予約カート).")
class HoldCartEntry(relay.Node):
    id: relay.NodeID[int]
    added_at: datetime = strawberry.field(description="When the title was put in the cart.")
    model: strawberry.Private[HoldCartEntryModel | circulation.CartLine]

    @classmethod
    def from_model(cls, m: HoldCartEntryModel | circulation.CartLine) -> HoldCartEntry:
        return cls(id=m.id, added_at=m.added_at, model=m)

    @strawberry.field(description="The title to hold.")
    def title(self, info: Info[Context, None]) -> Title:
        return dataloaders.title_of(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="Could this line be held now (the rule placeHoldsFromCart applies)?")
    async def holdability(self, info: Info[Context, None]) -> Holdability:
        ctx = info.context
        state = await dataloaders.holder_states(ctx).load(self.model.patron_id)
        availability = await loaders.availability(ctx).load(self.model.title_id)
        blocks = circulation.hold_blocks(state, self.model.title_id, availability, HoldSource.WEB, ctx.settings.policy)
        reasons, messages = _reasons(blocks)
        return Holdability(holdable=not blocks, reasons=reasons, messages=messages)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        # The cart is a wish list, like favorites: the patron's own, not the desk's business.
        return await load_owned_nodes(info, HoldCartEntryModel, node_ids, cls.from_model, audience=Audience.OWNER)


# --- the patron's fields (My Page: 貸出中一覧, 予約中一覧, 取消済予約一覧, 予約カート) --------------


@strawberry.type
class PatronCirculation:
    """Circulation fields of `Patron` (a mixin of the Patron type)."""

    @strawberry.field(description="Current loans (貸出中一覧), earliest due date first.")
    async def loans(self, info: Info[Context, None], first: First = None, after: After = None) -> Connection[Loan]:
        ctx = info.context
        page = KeysetPage(first, after, ctx.settings.max_page_size, "Patron.loans", circulation.LOAN_LIST_KEY_TYPES)
        rows, total = await circulation.current_loans(self.model.id, page.after, page.limit + 1)
        if page.limit == 0:
            return page.counted(total, bool(rows))
        return page.connection(rows, [circulation.loan_list_key(r) for r in rows],
                               lambda m: Loan.from_model(m, ctx), _total=total)

    @strawberry.field(description="Active holds (予約中一覧): ready ones first, then in the order placed.")
    async def holds(self, info: Info[Context, None], first: First = None, after: After = None) -> Connection[Hold]:
        ctx = info.context
        page = KeysetPage(first, after, ctx.settings.max_page_size, "Patron.holds", circulation.HOLD_LIST_KEY_TYPES)
        # Active holds are few (the hold limit): read whole, paged here.
        rows = await circulation.active_holds(self.model.id)
        return connection_of(rows, page, lambda m: Hold.from_model(m, ctx), key=circulation.hold_list_key)

    @strawberry.field(description="Cancelled and expired holds (取消済予約一覧), latest first.")
    async def cancelled_holds(self, info: Info[Context, None], first: First = None,
                              after: After = None) -> Connection[Hold]:
        ctx = info.context
        page = query_page(HoldModel, first, after, ctx.settings.max_page_size, kind="Patron.cancelledHolds",
                          order=circulation.CANCELLED_ORDER)
        query = circulation.cancelled_holds(self.model.id)

        def node(row: HoldModel) -> Hold:
            dataloaders.with_titles(ctx, [row])  # read with its title: no query for it
            return Hold.from_model(row, ctx)

        return await query_connection(query.select_related("title"), page, node, query.count)

    @strawberry.field(description="The hold cart (予約カート), in the order titles were added. Only for the "
                      "patron themself (a wish list, like favorites: null for staff).")
    async def hold_cart(self, info: Info[Context, None], first: First = None,
                        after: After = None) -> Connection[HoldCartEntry] | None:
        ctx = info.context
        page = KeysetPage(first, after, ctx.settings.max_page_size, "Patron.holdCart", circulation.CART_KEY_TYPES)
        if not (await ctx.viewer()).is_patron(self.model.id):
            return None
        # The cart is short (the cart limit): read whole, counted and paged here.
        rows = await circulation.cart_lines(self.model.id)
        return connection_of(rows, page, HoldCartEntry.from_model, key=circulation.cart_key)
