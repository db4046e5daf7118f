"""Circulation in GraphQL: loans, holds, the hold cart (the patron's My Page) and the staff desk.

Resolvers stay thin: the rules are in `app.domain.circulation`. Every field a list can ask for
per row (title, copy, renewability, queue position, holdability) goes through a per-request
DataLoader, so My Page costs the same few statements for 1 loan or 30.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Awaitable, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import circulation
from app.domain.errors import ErrorCode, Failure
from app.domain.messages import COUNTER_HOLD_NO_CONTACT_WARNING, message_for
from app.domain.visibility import Audience
from app.models import Hold as HoldModel
from app.models import HoldCartEntry as HoldCartEntryModel
from app.models import Item as ItemModel
from app.models import Loan as LoanModel
from app.models.enums import CancelReason, HoldSource, HoldStatus, MaterialType
from app.schema import loaders
from app.schema.base import (
    After, Connection, First, KeysetPage, connection_of, decode_global_id, described_enum, edge_of, encode_global_id,
    load_nodes, query_connection,
)
from app.schema.catalog import Item, Title
from app.schema.context import Context
from app.schema.errors import ErrorCodeEnum, Payload, UserError, handle_user_errors

PatronRef = Annotated["Patron", strawberry.lazy("app.schema.accounts")]

HoldStatusEnum = described_enum(HoldStatus, "HoldStatus", "Where a hold stands.", {
    HoldStatus.WAITING: "予約待ち: waiting for a copy (see `queuePosition`).",
    HoldStatus.READY: "貸出準備完了: a copy is kept at the desk for the patron until the pickup deadline.",
    HoldStatus.FULFILLED: "The patron borrowed the copy: the hold is done.",
    HoldStatus.CANCELLED: "取消済: cancelled by the patron or staff, or expired (see `cancelReason`).",
})
HoldSourceEnum = described_enum(
    HoldSource, "HoldSource", "Where a hold was placed. Holds of every source count toward the patron's limit.", {
        HoldSource.WEB: "Web予約: placed by the patron on the web.",
        HoldSource.COUNTER: "Placed by staff at the counter (窓口).",
        HoldSource.INTERLIBRARY_LOAN: "An interlibrary-loan request (相互貸借): cancelled at the counter only.",
        HoldSource.PURCHASE_REQUEST: "A purchase request (購入リクエスト): cancelled at the counter only.",
    })
CancelReasonEnum = described_enum(CancelReason, "CancelReason", "Why a hold was cancelled.", {
    CancelReason.PATRON: "The patron cancelled it.",
    CancelReason.STAFF: "Staff cancelled it (e.g. on the patron's request at the counter).",
    CancelReason.EXPIRED: "Not collected by the pickup deadline (取置期限日): the copy went to the next in line.",
})


# --- loaders ------------------------------------------------------------------------------


def _items(ctx: Context):
    async def batch(ids: list[int]) -> list[ItemModel | None]:
        found = {i.id: i for i in await ItemModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loaders.loader(ctx, "items", batch)


def _queue_positions(ctx: Context):
    async def batch(keys: list[tuple[int, int]]) -> list[int | None]:
        found = await circulation.queue_positions(keys)
        return [found.get(hold_id) for hold_id, _ in keys]

    return loaders.loader(ctx, "queue_positions", batch)


def _holder_states(ctx: Context):
    async def batch(ids: list[int]) -> list[circulation.HolderState]:
        found = await circulation.holder_states(ids)
        return [found.get(i, circulation.HolderState(i, None)) for i in ids]

    return loaders.loader(ctx, "holder_states", batch)


def _with_titles(ctx: Context, rows: list) -> list:
    """Rows fetched with their title joined in: the titles loader is primed, so no list pays a
    second query (or a query per row) for titles."""
    loaders.titles(ctx).prime_many({row.title_id: row.title for row in rows})
    return rows


# Rows of My Page's lists come with what their fields show (title, queue, place in line):
# sync resolvers answer from the row; models (mutations, the desk, `node`) go through loaders.
_READ_WITH_TITLE = (circulation.CurrentLoan, circulation.ActiveHold, circulation.CartLine)


def _title(ctx: Context, row: object) -> Title | Awaitable[Title]:
    if isinstance(row, _READ_WITH_TITLE):
        return Title.from_model(row.title)
    return loaders.then(loaders.titles(ctx).load(row.title_id), Title.from_model)  # type: ignore[attr-defined]


# --- types --------------------------------------------------------------------------------


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
        today = ctx.deps.today()
        return cls(
            id=m.id, checked_out_on=circulation.local_date(ctx.deps, m.checked_out_at), due_date=m.due_date,
            renewal_count=m.renewal_count, overdue=circulation.is_overdue(m, today),
            returned_on=circulation.local_date(ctx.deps, m.returned_at), model=m,
        )

    @strawberry.field(description="The title borrowed.")
    def title(self, info: Info[Context, None]) -> Title:
        return _title(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="The copy lent.")
    async def item(self, info: Info[Context, None]) -> Item:
        return Item.from_model(await _items(info.context).load(self.model.item_id))

    @strawberry.field(description="Can the patron renew (延長) now? If not, the reasons.")
    def renewability(self, info: Info[Context, None]) -> Renewability:
        ctx = info.context

        def decide(holds_waiting: int, material: MaterialType | None) -> Renewability:
            blocks = circulation.renewal_blocks(self.model, ctx.deps.today(), ctx.settings.policy, holds_waiting,
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
        viewer = await info.context.viewer()
        return await load_nodes(LoanModel, node_ids, lambda m: cls.from_model(m, info.context),
                                visible=lambda m: viewer.sees(m.patron_id))


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
        return _title(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="Place in line while WAITING (1 = next); null otherwise.")
    def queue_position(self, info: Info[Context, None]) -> int | None:
        if self.model.status is not HoldStatus.WAITING:
            return None
        if isinstance(self.model, circulation.ActiveHold):
            return self.model.queue_position
        return _queue_positions(info.context).load((self.model.id, self.model.title_id))  # type: ignore[return-value]

    @strawberry.field(description="Can the patron cancel it on the web (the same rule as cancelHold)?")
    def cancellable(self) -> bool:
        return not circulation.cancel_blocks(self.model)

    @strawberry.field(description="The copy kept at the desk (READY holds).")
    async def item(self, info: Info[Context, None]) -> Item | None:
        if self.model.item_id is None or self.model.status is not HoldStatus.READY:
            return None
        return Item.from_model(await _items(info.context).load(self.model.item_id))

    @strawberry.field(description="The patron the hold is for.")
    async def patron(self, info: Info[Context, None]) -> PatronRef:
        from app.schema.accounts import Patron

        return Patron.from_model(await loaders.patrons(info.context).load(self.model.patron_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await load_nodes(HoldModel, node_ids, lambda m: cls.from_model(m, info.context),
                                visible=lambda m: viewer.sees(m.patron_id))


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
        return _title(info.context, self.model)  # type: ignore[return-value]

    @strawberry.field(description="Could this line be held now (the rule placeHoldsFromCart applies)?")
    async def holdability(self, info: Info[Context, None]) -> Holdability:
        ctx = info.context
        state = await _holder_states(ctx).load(self.model.patron_id)
        availability = await loaders.availability(ctx).load(self.model.title_id)
        blocks = circulation.hold_blocks(state, self.model.title_id, availability, HoldSource.WEB, ctx.settings.policy)
        reasons, messages = _reasons(blocks)
        return Holdability(holdable=not blocks, reasons=reasons, messages=messages)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        # The cart is a wish list, like favorites: the patron's own, not the desk's business.
        viewer = await info.context.viewer()
        return await load_nodes(HoldCartEntryModel, node_ids, cls.from_model,
                                visible=lambda m: viewer.sees(m.patron_id, Audience.OWNER))


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
        # Active holds are few (the hold limit): read whole, paged here.
        rows = await circulation.active_holds(self.model.id)
        return connection_of(rows, first, after, ctx.settings.max_page_size, lambda m: Hold.from_model(m, ctx),
                             kind="Patron.holds", key=circulation.hold_list_key, types=circulation.HOLD_LIST_KEY_TYPES)

    @strawberry.field(description="Cancelled and expired holds (取消済予約一覧), latest first.")
    async def cancelled_holds(self, info: Info[Context, None], first: First = None,
                              after: After = None) -> Connection[Hold]:
        ctx = info.context
        query = circulation.cancelled_holds(self.model.id)

        def node(row: HoldModel) -> Hold:
            _with_titles(ctx, [row])  # read with its title: no query for it
            return Hold.from_model(row, ctx)

        return await query_connection(query.select_related("title"), first, after, ctx.settings.max_page_size, node,
                                      query.count, kind="Patron.cancelledHolds", order=circulation.CANCELLED_ORDER)

    @strawberry.field(description="The hold cart (予約カート), in the order titles were added. Only for the "
                      "patron themself (a wish list, like favorites: null for staff).")
    async def hold_cart(self, info: Info[Context, None], first: First = None,
                        after: After = None) -> Connection[HoldCartEntry] | None:
        ctx = info.context
        if not (await ctx.viewer()).sees(self.model.id, Audience.OWNER):
            return None
        # The cart is short (the cart limit): read whole, counted and paged here.
        rows = await circulation.cart_lines(self.model.id)
        return connection_of(rows, first, after, ctx.settings.max_page_size, HoldCartEntry.from_model,
                             kind="Patron.holdCart", key=circulation.cart_key, types=circulation.CART_KEY_TYPES)


# --- inputs and payloads ------------------------------------------------------------------


async def _listed(info: Info[Context, None], node: Loan | Hold | HoldCartEntry | None,
                  list_field) -> relay.Edge | None:  # type: ignore[type-arg]
    """`node` as an edge of its patron's list `list_field` (a connection field of `Patron`)."""
    if node is None:
        return None
    from app.schema.accounts import Patron

    owner = Patron.from_model(await loaders.patrons(info.context).load(node.model.patron_id))
    return await edge_of(info, node, owner, list_field)


_HOLDS_EDGE = ("The hold as an edge of the patron's `holds` (ready ones first, then in the order placed: a new "
               "hold comes last), for Relay's `@appendEdge`.")
_CANCELLED_EDGE = ("The hold as an edge of the patron's `cancelledHolds` (latest first), for Relay's `@prependEdge`; "
                   "take it out of `holds` with `@deleteEdge` on `hold.id`.")


@strawberry.input(description="延長: the loan to renew.")
class RenewLoanInput:
    loan_id: strawberry.ID = strawberry.field(description="Global ID of one of your current loans.")


@strawberry.type(description="The result of renewLoan.")
class RenewLoanPayload(Payload):
    loan: Loan | None = strawberry.field(
        default=None, description="The loan renewed: its new `dueDate`, `renewalCount` and `renewability`.")


@strawberry.input(description="Web予約: the title to hold.")
class PlaceHoldInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title (from the catalog).")


@strawberry.type(description="The result of placeHold.")
class PlaceHoldPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold placed (WAITING).")

    @strawberry.field(description=_HOLDS_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.holds)


@strawberry.input(description="予約取消: the hold to cancel.")
class CancelHoldInput:
    hold_id: strawberry.ID = strawberry.field(description="Global ID of one of your waiting or ready holds.")


@strawberry.type(description="The result of cancelHold.")
class CancelHoldPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold, now CANCELLED.")

    @strawberry.field(description=_CANCELLED_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.cancelled_holds)


@strawberry.input(description="The title to put in the hold cart.")
class AddToHoldCartInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title (any title: whether it can be "
                                               "held is decided when the cart is placed).")


@strawberry.type(description="The result of addToHoldCart.")
class AddToHoldCartPayload(Payload):
    entry: HoldCartEntry | None = strawberry.field(default=None, description="The new line of the cart.")

    @strawberry.field(description="The line as an edge of `viewer.holdCart` (in the order added: it comes last), "
                      "for Relay's `@appendEdge`.")
    async def entry_edge(self, info: Info[Context, None]) -> relay.Edge[HoldCartEntry] | None:
        return await _listed(info, self.entry, PatronCirculation.hold_cart)


@strawberry.input(description="The title to take out of the hold cart.")
class RemoveFromHoldCartInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of a title in your cart.")


@strawberry.type(description="The result of removeFromHoldCart.")
class RemoveFromHoldCartPayload(Payload):
    removed_entry_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the cart line removed (for Relay's `@deleteEdge`).")


@strawberry.input(description="Place the cart's holds: all lines, or some.")
class PlaceHoldsFromCartInput:
    title_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Lines to place (title IDs); all lines of the cart when omitted."
    )


@strawberry.type(description="The outcome of one cart line: the hold placed, or why not.")
class HoldCartLineResult:
    title: Title | None = strawberry.field(description="The title of the line (null for an ID that names none).")
    hold: Hold | None = strawberry.field(description="The hold placed; null when the line failed.")
    errors: list[UserError] = strawberry.field(description="Why this line was not placed (empty when it was).")
    removed_entry_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the cart line, which left the cart because its hold was placed (for Relay's "
        "`@deleteEdge`); null when the line stays.")

    @strawberry.field(description=_HOLDS_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.holds)


@strawberry.type(description="The result of placeHoldsFromCart.")
class PlaceHoldsFromCartPayload(Payload):
    results: list[HoldCartLineResult] = strawberry.field(
        default_factory=list, description="One result per line asked for, in the order of the cart.")


@strawberry.input(description="貸出 at the desk (staff).")
class CheckoutItemInput:
    card_number: str = strawberry.field(description="The borrower's 利用者番号.")
    barcode: str = strawberry.field(description="The copy's barcode.")


@strawberry.type(description="The result of checkoutItem.")
class CheckoutItemPayload(Payload):
    loan: Loan | None = strawberry.field(default=None, description="The new loan, with its due date.")
    fulfilled_hold: Hold | None = strawberry.field(default=None, description="The patron's hold this loan completed.")

    @strawberry.field(description="The loan as an edge of the patron's `loans` (earliest due date first), for "
                      "Relay's `@appendEdge` or `@prependEdge`.")
    async def loan_edge(self, info: Info[Context, None]) -> relay.Edge[Loan] | None:
        return await _listed(info, self.loan, PatronCirculation.loans)


@strawberry.input(description="返却 at the desk (staff).")
class CheckinItemInput:
    barcode: str = strawberry.field(description="The barcode of the copy returned.")


@strawberry.type(description="The result of checkinItem.")
class CheckinItemPayload(Payload):
    item: Item | None = strawberry.field(default=None, description="The copy, with its new status.")
    loan: Loan | None = strawberry.field(
        default=None, description="The loan that ended (no longer linked to a patron; take it out of `loans` with "
        "`@deleteEdge` on `loan.id`).")
    trapped_hold: Hold | None = strawberry.field(
        default=None, description="The hold the copy is now kept for: put it on the hold shelf."
    )


@strawberry.input(description="A hold placed by staff (counter, interlibrary loan, purchase request).")
class PlaceHoldForPatronInput:
    card_number: str = strawberry.field(description="The patron's 利用者番号.")
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title.")
    source: HoldSourceEnum = strawberry.field(  # type: ignore[valid-type]
        default=HoldSource.COUNTER, description="Where the request came from (COUNTER when left out).")


@strawberry.type(description="The result of placeHoldForPatron.")
class PlaceHoldForPatronPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold placed.")
    warning: str | None = strawberry.field(
        default=None, description="For the desk, in Japanese, when no notice can reach the patron (no contact "
        "e-mail: 予約受付 and 貸出準備完了 will not arrive). Null when the patron can be told by e-mail.")

    @strawberry.field(description=_HOLDS_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.holds)


@strawberry.input(description="The hold staff cancel.")
class CancelHoldForPatronInput:
    hold_id: strawberry.ID = strawberry.field(description="Global ID of any active hold.")


@strawberry.type(description="The result of cancelHoldForPatron.")
class CancelHoldForPatronPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold, now CANCELLED.")
    trapped_hold: Hold | None = strawberry.field(
        default=None, description="The next hold the copy is now kept for, when a ready hold was cancelled."
    )

    @strawberry.field(description=_CANCELLED_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.cancelled_holds)


def _hold(m: HoldModel | None, ctx: Context) -> Hold | None:
    return Hold.from_model(m, ctx) if m is not None else None


# --- root fields ----------------------------------------------------------------------------


@strawberry.type
class CirculationMutation:
    @strawberry.mutation(description="延長: renew your loan once, while not overdue and nobody waits for the title.")
    @handle_user_errors(RenewLoanPayload)
    async def renew_loan(self, info: Info[Context, None], input: RenewLoanInput) -> RenewLoanPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        loan = await circulation.renew_loan(ctx.deps, patron, decode_global_id(input.loan_id, "Loan"))
        return RenewLoanPayload(loan=Loan.from_model(loan, ctx))

    @strawberry.mutation(description="Web予約: hold a title whose copies are all out (予約受付 e-mail follows).")
    @handle_user_errors(PlaceHoldPayload)
    async def place_hold(self, info: Info[Context, None], input: PlaceHoldInput) -> PlaceHoldPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        hold = await circulation.place_hold(ctx.deps, patron, decode_global_id(input.title_id, "Title"))
        return PlaceHoldPayload(hold=Hold.from_model(hold, ctx))

    @strawberry.mutation(description="予約取消: cancel your waiting or ready hold (a ready copy goes to the next in line).")
    @handle_user_errors(CancelHoldPayload)
    async def cancel_hold(self, info: Info[Context, None], input: CancelHoldInput) -> CancelHoldPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        done = await circulation.cancel_hold(ctx.deps, decode_global_id(input.hold_id, "Hold"), patron=patron)
        return CancelHoldPayload(hold=Hold.from_model(done.hold, ctx))

    @strawberry.mutation(description="Put a title in the hold cart (予約カート).")
    @handle_user_errors(AddToHoldCartPayload)
    async def add_to_hold_cart(self, info: Info[Context, None], input: AddToHoldCartInput) -> AddToHoldCartPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        entry = await circulation.add_to_cart(ctx.deps, patron, decode_global_id(input.title_id, "Title"))
        return AddToHoldCartPayload(entry=HoldCartEntry.from_model(entry))

    @strawberry.mutation(description="Take a title out of the hold cart.")
    @handle_user_errors(RemoveFromHoldCartPayload)
    async def remove_from_hold_cart(self, info: Info[Context, None],
                                    input: RemoveFromHoldCartInput) -> RemoveFromHoldCartPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        entry_id = await circulation.remove_from_cart(ctx.deps, patron, decode_global_id(input.title_id, "Title"))
        return RemoveFromHoldCartPayload(removed_entry_id=encode_global_id("HoldCartEntry", entry_id))

    @strawberry.mutation(description="Place the cart's holds at once; each line succeeds or fails with its own reason.")
    @handle_user_errors(PlaceHoldsFromCartPayload)
    async def place_holds_from_cart(self, info: Info[Context, None],
                                    input: PlaceHoldsFromCartInput) -> PlaceHoldsFromCartPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        chosen = None if input.title_ids is None else [decode_global_id(t, "Title") for t in input.title_ids]
        attempts = await circulation.place_holds_from_cart(ctx.deps, patron, chosen)
        titles = await loaders.titles(ctx).load_many([a.title_id for a in attempts])
        return PlaceHoldsFromCartPayload(results=[
            HoldCartLineResult(
                title=Title.from_model(title) if title else None, hold=_hold(a.hold, ctx),
                errors=[UserError.from_failure(f) for f in a.failures],
                removed_entry_id=encode_global_id("HoldCartEntry", a.cart_entry_id),
            )
            for a, title in zip(attempts, titles)
        ])

    # --- staff ------------------------------------------------------------------------------

    @strawberry.mutation(description="貸出 (staff): lend a copy to a patron; completes their hold on the title.")
    @handle_user_errors(CheckoutItemPayload)
    async def checkout_item(self, info: Info[Context, None], input: CheckoutItemInput) -> CheckoutItemPayload:
        ctx = info.context
        await ctx.require_staff()
        done = await circulation.checkout(ctx.deps, input.card_number, input.barcode)
        return CheckoutItemPayload(loan=Loan.from_model(done.loan, ctx), fulfilled_hold=_hold(done.fulfilled_hold, ctx))

    @strawberry.mutation(description="返却 (staff): end the loan; the copy is kept for the first in line, if any.")
    @handle_user_errors(CheckinItemPayload)
    async def checkin_item(self, info: Info[Context, None], input: CheckinItemInput) -> CheckinItemPayload:
        ctx = info.context
        await ctx.require_staff()
        done = await circulation.checkin(ctx.deps, input.barcode)
        return CheckinItemPayload(
            item=Item.from_model(done.item), loan=Loan.from_model(done.loan, ctx) if done.loan else None,
            trapped_hold=_hold(done.trapped_hold, ctx),
        )

    @strawberry.mutation(description="Hold for a patron (staff): counter, interlibrary loan or purchase request.")
    @handle_user_errors(PlaceHoldForPatronPayload)
    async def place_hold_for_patron(self, info: Info[Context, None],
                                    input: PlaceHoldForPatronInput) -> PlaceHoldForPatronPayload:
        ctx = info.context
        staff = await ctx.require_staff()
        hold = await circulation.place_hold_for_patron(
            ctx.deps, staff, input.card_number, decode_global_id(input.title_id, "Title"), input.source
        )
        # 「窓口で予約された場合も、メール連絡となります」: the desk must know when it cannot be.
        warning = None if hold.contact_email else COUNTER_HOLD_NO_CONTACT_WARNING
        return PlaceHoldForPatronPayload(hold=Hold.from_model(hold, ctx), warning=warning)

    @strawberry.mutation(description="Cancel any active hold (staff), e.g. on the patron's request at the counter.")
    @handle_user_errors(CancelHoldForPatronPayload)
    async def cancel_hold_for_patron(self, info: Info[Context, None],
                                     input: CancelHoldForPatronInput) -> CancelHoldForPatronPayload:
        ctx = info.context
        staff = await ctx.require_staff()
        done = await circulation.cancel_hold(ctx.deps, decode_global_id(input.hold_id, "Hold"), staff=staff)
        return CancelHoldForPatronPayload(hold=Hold.from_model(done.hold, ctx), trapped_hold=_hold(done.next_hold, ctx))


NODE_TYPES = [Loan, Hold, HoldCartEntry]
