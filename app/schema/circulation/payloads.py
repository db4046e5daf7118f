"""The payloads of circulation's mutations: what changed, and the edges a Relay client adds to
or removes from the patron's lists."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.schema import loaders
from app.schema.base import edge_of
from app.schema.catalog import Item, Title
from app.schema.circulation.types import Hold, HoldCartEntry, Loan, PatronCirculation
from app.schema.context import Context
from app.schema.errors import Payload, UserError


async def _listed(info: Info[Context, None], node: Loan | Hold | HoldCartEntry | None,
                  list_field) -> relay.Edge | None:  # type: ignore[type-arg]
    """`node` as an edge of its patron's list `list_field` (a connection field of `Patron`)."""
    if node is None:
        return None
    from app.schema.accounts import Patron

    # The patron's own mutations list the viewer's rows (no query); the desk's, a patron's.
    viewer = await info.context.patron()
    owner = viewer if viewer is not None and viewer.id == node.model.patron_id else \
        await loaders.patrons(info.context).load(node.model.patron_id)
    return await edge_of(info, node, Patron.from_model(owner), list_field)


_HOLDS_EDGE = ("The hold as an edge of the patron's `holds` (ready ones first, then in the order placed: a new "
               "hold comes last), for Relay's `@appendEdge`.")
_CANCELLED_EDGE = ("The hold as an edge of the patron's `cancelledHolds` (latest first), for Relay's `@prependEdge`; "
                   "take it out of `holds` with `@deleteEdge` on `hold.id`.")


@strawberry.type(description="The result of renewLoan.")
class RenewLoanPayload(Payload):
    loan: Loan | None = strawberry.field(
        default=None, description="The loan renewed: its new `dueDate`, `renewalCount` and `renewability`.")


@strawberry.type(description="The result of placeHold.")
class PlaceHoldPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold placed (WAITING).")

    @strawberry.field(description=_HOLDS_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.holds)


@strawberry.type(description="The result of cancelHold.")
class CancelHoldPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold, now CANCELLED.")

    @strawberry.field(description=_CANCELLED_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.cancelled_holds)


@strawberry.type(description="The result of addToHoldCart.")
class AddToHoldCartPayload(Payload):
    entry: HoldCartEntry | None = strawberry.field(default=None, description="The new line of the cart.")

    @strawberry.field(description="The line as an edge of `viewer.holdCart` (in the order added: it comes last), "
                      "for Relay's `@appendEdge`.")
    async def entry_edge(self, info: Info[Context, None]) -> relay.Edge[HoldCartEntry] | None:
        return await _listed(info, self.entry, PatronCirculation.hold_cart)


@strawberry.type(description="The result of removeFromHoldCart.")
class RemoveFromHoldCartPayload(Payload):
    removed_entry_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the cart line removed (for Relay's `@deleteEdge`).")


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


@strawberry.type(description="The result of checkoutItem.")
class CheckoutItemPayload(Payload):
    loan: Loan | None = strawberry.field(default=None, description="The new loan, with its due date.")
    fulfilled_hold: Hold | None = strawberry.field(default=None, description="The patron's hold this loan completed.")

    @strawberry.field(description="The loan as an edge of the patron's `loans` (earliest due date first), for "
                      "Relay's `@appendEdge` or `@prependEdge`.")
    async def loan_edge(self, info: Info[Context, None]) -> relay.Edge[Loan] | None:
        return await _listed(info, self.loan, PatronCirculation.loans)


@strawberry.type(description="The result of checkinItem.")
class CheckinItemPayload(Payload):
    item: Item | None = strawberry.field(default=None, description="The copy, with its new status.")
    loan: Loan | None = strawberry.field(
        default=None, description="The loan that ended (no longer linked to a patron; take it out of `loans` with "
        "`@deleteEdge` on `loan.id`).")
    trapped_hold: Hold | None = strawberry.field(
        default=None, description="The hold the copy is now kept for: put it on the hold shelf."
    )


@strawberry.type(description="The result of placeHoldForPatron.")
class PlaceHoldForPatronPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold placed.")
    warning: str | None = strawberry.field(
        default=None, description="For the desk, in Japanese, when no notice can reach the patron (no contact "
        "e-mail: 予約受付 and 貸出準備完了 will not arrive). Null when the patron can be told by e-mail.")

    @strawberry.field(description=_HOLDS_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.holds)


@strawberry.type(description="The result of cancelHoldForPatron.")
class CancelHoldForPatronPayload(Payload):
    hold: Hold | None = strawberry.field(default=None, description="The hold, now CANCELLED.")
    trapped_hold: Hold | None = strawberry.field(
        default=None, description="The next hold the copy is now kept for, when a ready hold was cancelled."
    )

    @strawberry.field(description=_CANCELLED_EDGE)
    async def hold_edge(self, info: Info[Context, None]) -> relay.Edge[Hold] | None:
        return await _listed(info, self.hold, PatronCirculation.cancelled_holds)
