"""The inputs of circulation's mutations."""

from __future__ import annotations

import strawberry

from app.models.enums import HoldSource
from app.schema.circulation.enums import HoldSourceEnum


@strawberry.input(description="延長: the loan to renew.")
class RenewLoanInput:
    loan_id: strawberry.ID = strawberry.field(description="Global ID of one of your current loans.")


@strawberry.input(description="Web予約: the title to hold.")
class PlaceHoldInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title (from the catalog).")


@strawberry.input(description="予約取消: the hold to cancel.")
class CancelHoldInput:
    hold_id: strawberry.ID = strawberry.field(description="Global ID of one of your waiting or ready holds.")


@strawberry.input(description="The title to put in the hold cart.")
class AddToHoldCartInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title (any title: whether it can be "
                                               "held is decided when the cart is placed).")


@strawberry.input(description="The title to take out of the hold cart.")
class RemoveFromHoldCartInput:
    title_id: strawberry.ID = strawberry.field(description="Global ID of a title in your cart.")


@strawberry.input(description="Place the cart's holds: all lines, or some.")
class PlaceHoldsFromCartInput:
    title_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Lines to place (title IDs); all lines of the cart when omitted."
    )


@strawberry.input(description="貸出 at the desk (staff).")
class CheckoutItemInput:
    card_number: str = strawberry.field(description="The borrower's 利用者番号.")
    barcode: str = strawberry.field(description="The copy's barcode.")


@strawberry.input(description="返却 at the desk (staff).")
class CheckinItemInput:
    barcode: str = strawberry.field(description="The barcode of the copy returned.")


@strawberry.input(description="A hold placed by staff (counter, interlibrary loan, purchase request).")
class PlaceHoldForPatronInput:
    card_number: str = strawberry.field(description="The patron's 利用者番号.")
    title_id: strawberry.ID = strawberry.field(description="Global ID of the title.")
    source: HoldSourceEnum = strawberry.field(  # type: ignore[valid-type]
        default=HoldSource.COUNTER, description="Where the request came from (COUNTER when left out).")


@strawberry.input(description="The hold staff cancel.")
class CancelHoldForPatronInput:
    hold_id: strawberry.ID = strawberry.field(description="Global ID of any active hold.")
