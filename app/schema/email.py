"""E-mail in GraphQL: request, confirm and remove the address; notice preferences (F3, F5, F15)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain import delivery_advice, email_addresses, notices
from app.domain.messages import EMAIL_REMOVED_HOLDS_WARNING, EMAIL_REMOVED_WARNING
from app.schema.accounts import Patron
from app.schema.context import Context
from app.schema.errors import CLIENT_MUTATION_ID, Payload, handle_user_errors


@strawberry.input(description="Register or change the e-mail address (利用者情報変更 → E-Mail). "
                  "The address stays pending until confirmed through the link mailed to it.")
class RequestEmailChangeInput:
    new_email: str = strawberry.field(description="Half-width, e.g. hanako@example.jp.")
    use_as_contact: bool = strawberry.field(
        default=True, description="今後の連絡先はこのアドレスに変更する: notices go to it from now on.")
    update_hold_contacts: bool = strawberry.field(
        default=True, description="登録済み予約の連絡先もこのアドレスに変更する: existing holds notify it too.")


@strawberry.type(description="The result of requestEmailChange: a confirmation link was mailed to the address.")
class RequestEmailChangePayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron, with `pendingEmail` (and "
                                             "`contactEmail` unchanged until the address is confirmed).")
    pending_email: str | None = strawberry.field(default=None, description="The address the link was sent to.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the link stops working.")


@strawberry.input(description="Confirm an address with the token of the link (登録を確定). No login needed.")
class ConfirmEmailInput:
    token: str = strawberry.field(description="The `token` parameter of the link in the confirmation mail.")


@strawberry.type(description="The result of confirmEmail.")
class ConfirmEmailPayload(Payload):
    email: str | None = strawberry.field(default=None, description="The address now registered.")
    patron: Patron | None = strawberry.field(
        default=None, description="The patron, only when the one logged in here is that patron.")


@strawberry.input(description="削除する: delete the e-mail address.")
class RemoveEmailInput:
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type(description="The result of removeEmail.")
class RemoveEmailPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron, without `email` and "
                                             "`contactEmail`.")
    warning: str | None = strawberry.field(
        default=None, description="Tells the patron that notices (holds included) can no longer reach them.")
    holds_without_contact: int = strawberry.field(
        default=0, description="Active holds that now have no contact address.")


@strawberry.input(description="Notice preferences to change; a field left out stays as it is.")
class UpdateNotificationSettingsInput:
    due_date_reminder: bool | None = strawberry.field(
        default=None, description="Receive the 返却日メール before due dates (null: leave as is).")


@strawberry.type(description="The result of updateNotificationSettings.")
class UpdateNotificationSettingsPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron, with `notificationSettings`.")


@strawberry.type
class EmailMutation:
    @strawberry.mutation(description="Ask to register or change the e-mail address: a confirmation link is mailed to it.")
    @handle_user_errors(RequestEmailChangePayload)
    async def request_email_change(self, info: Info[Context, None],
                                   input: RequestEmailChangeInput) -> RequestEmailChangePayload:
        patron = await info.context.require_patron()
        result = await email_addresses.request_change(
            info.context.deps, patron.id, input.new_email,
            use_as_contact=input.use_as_contact, update_hold_contacts=input.update_hold_contacts,
        )
        return RequestEmailChangePayload(
            patron=Patron.from_model(result.patron), pending_email=result.address, expires_at=result.expires_at
        )

    @strawberry.mutation(description="Confirm a pending address with the token from the mailed link (single use).")
    @handle_user_errors(ConfirmEmailPayload)
    async def confirm_email(self, info: Info[Context, None], input: ConfirmEmailInput) -> ConfirmEmailPayload:
        result = await email_addresses.confirm(info.context.deps, input.token)
        mine = (await info.context.viewer()).is_patron(result.patron.id)
        return ConfirmEmailPayload(email=result.address, patron=Patron.from_model(result.patron) if mine else None)

    @strawberry.mutation(description="Delete the e-mail address (削除する): notices can no longer reach the patron.")
    @handle_user_errors(RemoveEmailPayload)
    async def remove_email(self, info: Info[Context, None], input: RemoveEmailInput) -> RemoveEmailPayload:
        patron = await info.context.require_patron()
        result = await email_addresses.remove(info.context.deps, patron.id)
        warning = EMAIL_REMOVED_WARNING
        if result.holds_without_contact:
            warning += EMAIL_REMOVED_HOLDS_WARNING.format(count=result.holds_without_contact)
        return RemoveEmailPayload(patron=Patron.from_model(result.patron), warning=warning,
                                  holds_without_contact=result.holds_without_contact)

    @strawberry.mutation(description="Change notice preferences, e.g. turn the due-date reminder off.")
    @handle_user_errors(UpdateNotificationSettingsPayload)
    async def update_notification_settings(
        self, info: Info[Context, None], input: UpdateNotificationSettingsInput
    ) -> UpdateNotificationSettingsPayload:
        patron = await info.context.require_patron()
        updated = await notices.update_settings(info.context.deps, patron.id, due_date_reminder=input.due_date_reminder)
        return UpdateNotificationSettingsPayload(patron=Patron.from_model(updated))


@strawberry.type(description="「図書館からのEメールが受信できない方へ」: what a patron can check when the library's "
                 "mail does not arrive. Show it next to the e-mail form and on the hold screens.")
class EmailDeliveryAdvice:
    title: str = strawberry.field(description="The guide's heading, 図書館からのEメールが受信できない方へ.")
    sender_address: str = strawberry.field(
        description="The library's sender address (送信専用) to allow: アドレス指定受信.")
    sender_domain: str = strawberry.field(description="Its domain, to allow instead: ドメイン指定受信.")
    common_mistakes: list[str] = strawberry.field(description="よくある入力ミス例 (typing mistakes to look for).")
    filter_settings: list[str] = strawberry.field(
        description="Spam-filter settings that block the mail (受信拒否・指定受信・なりすまし規制).")
    allow_sender: str = strawberry.field(description="What to do: allow the sender address or domain.")
    also_try: str = strawberry.field(description="When it stopped arriving for no known reason; where to find help.")
    undeliverable_addresses: list[str] = strawberry.field(
        description="Kinds of address the library's mail may not reach (the service refuses them).")
    check_my_page: str = strawberry.field(description="お願い: mail may not arrive; check マイページ regularly.")


@strawberry.type
class EmailQuery:
    @strawberry.field(description="Advice for patrons whose mail from the library does not arrive, with the "
                      "library's sender address and domain (public).")
    def email_delivery_advice(self, info: Info[Context, None]) -> EmailDeliveryAdvice:
        sender = delivery_advice.delivery_advice(info.context.settings)
        return EmailDeliveryAdvice(
            title=delivery_advice.TITLE, sender_address=sender.sender_address, sender_domain=sender.sender_domain,
            common_mistakes=list(delivery_advice.COMMON_MISTAKES), filter_settings=list(delivery_advice.FILTER_SETTINGS),
            allow_sender=delivery_advice.ALLOW_SENDER, also_try=delivery_advice.ALSO_TRY,
            undeliverable_addresses=list(delivery_advice.UNDELIVERABLE_ADDRESSES),
            check_my_page=delivery_advice.CHECK_MY_PAGE,
        )
