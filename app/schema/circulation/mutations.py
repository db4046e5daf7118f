"""The mutations of circulation: the patron's (renew, hold, cancel, the cart) and the desk's
(checkout, check-in, holds for a patron). Each decodes its IDs, calls the domain and wraps the
result."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import circulation
from app.domain.messages import COUNTER_HOLD_NO_CONTACT_WARNING
from app.models import Hold as HoldModel
from app.schema import loaders
from app.schema.base import decode_global_id, encode_global_id
from app.schema.catalog import Item, Title
from app.schema.circulation.inputs import (
    AddToHoldCartInput, CancelHoldForPatronInput, CancelHoldInput, CheckinItemInput, CheckoutItemInput,
    PlaceHoldForPatronInput, PlaceHoldInput, PlaceHoldsFromCartInput, RemoveFromHoldCartInput, RenewLoanInput,
)
from app.schema.circulation.payloads import (
    AddToHoldCartPayload, CancelHoldForPatronPayload, CancelHoldPayload, CheckinItemPayload, CheckoutItemPayload,
    HoldCartLineResult, PlaceHoldForPatronPayload, PlaceHoldPayload, PlaceHoldsFromCartPayload,
    RemoveFromHoldCartPayload, RenewLoanPayload,
)
from app.schema.circulation.types import Hold, HoldCartEntry, Loan
from app.schema.context import Context
from app.schema.errors import UserError, handle_user_errors


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
