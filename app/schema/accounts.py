"""Accounts in GraphQL: `viewer`, login and logout, password registration and change, staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import accounts, email_addresses, sessions
from app.domain.accounts import LoggedIn
from app.domain.messages import REGISTER_EMAIL_NEXT_STEP
from app.domain.visibility import Audience
from app.models import Patron as PatronModel
from app.models import Staff as StaffModel
from app.models.enums import StaffRole
from app.schema.circulation import PatronCirculation
from app.schema.context import Context
from app.schema.errors import CLIENT_MUTATION_ID, Payload, handle_user_errors
from app.schema.base import described_enum, load_nodes, load_owned_nodes
from app.schema.notices import PatronNotices
from app.schema.privacy import PatronPrivacy
from app.schema.shelves import PatronShelves

StaffRoleEnum = described_enum(StaffRole, "StaffRole", "What a staff account may do.", {
    StaffRole.DESK: "The circulation desk: counter registration, checkout and check-in, holds for patrons, the "
    "calendar, failed notices.",
    StaffRole.ADMIN: "The library's administrators: today the same operations as DESK.",
})


@strawberry.type(description="How the patron wants to be told things.")
class NotificationSettings:
    due_date_reminder: bool = strawberry.field(description="Send the 返却日メール before the due date.")


@strawberry.type(name="Patron", description="A patron (利用者). `viewer` is the logged-in one.")
class Patron(PatronCirculation, PatronNotices, PatronShelves, PatronPrivacy, relay.Node):
    id: relay.NodeID[int]
    card_number: str = strawberry.field(description="利用者番号 (9 digits beginning with 10).")
    name_kana: str = strawberry.field(description="Name in full-width katakana, as registered.")
    email: str | None = strawberry.field(description="Registered, confirmed e-mail address.")
    contact_email: str | None = strawberry.field(description="Address that notices go to.")

    @strawberry.field(description="New address waiting for confirmation through the link sent to it; null "
                      "once that link has expired (the patron must ask again), been used or been replaced.")
    async def pending_email(self, info: Info[Context, None]) -> str | None:
        pending = await email_addresses.pending_address(info.context.deps, self.id)
        return pending.address if pending else None

    @strawberry.field(description="When the link for `pendingEmail` expires (null when nothing is pending).")
    async def pending_email_expires_at(self, info: Info[Context, None]) -> datetime | None:
        pending = await email_addresses.pending_address(info.context.deps, self.id)
        return pending.expires_at if pending else None

    @strawberry.field(description="False while no notice can reach the patron (no contact e-mail): web holds "
                      "are not possible yet (予約のご連絡はメールのみ).")
    def contactable(self) -> bool:
        return email_addresses.reachable(self.model)

    notification_settings: NotificationSettings = strawberry.field(description="How the patron wants to be told "
                                                                   "things (e-mail notices).")
    model: strawberry.Private[PatronModel]

    @classmethod
    def from_model(cls, m: PatronModel) -> Patron:
        return cls(
            id=m.id, card_number=m.card_number, name_kana=m.name_kana, email=m.email,
            contact_email=m.contact_email,
            notification_settings=NotificationSettings(due_date_reminder=m.notify_due_reminder),
            model=m,
        )

    @strawberry.field(description="True once the patron has opted in to keeping a loan history "
                      "(借りた本の履歴). Only for the patron themself (null for staff).")
    async def reading_history_enabled(self, info: Info[Context, None]) -> bool | None:
        if not (await info.context.viewer()).is_patron(self.model.id):
            return None
        return self.model.reading_history_enabled_at is not None

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        return await load_owned_nodes(info, PatronModel, node_ids, cls.from_model, audience=Audience.DESK,
                                      owner=lambda row: row.id)


@strawberry.type(name="Staff", description="A staff account at the circulation desk.")
class Staff(relay.Node):
    id: relay.NodeID[int]
    username: str = strawberry.field(description="The login name.")
    display_name: str = strawberry.field(description="The name shown at the desk.")
    role: StaffRoleEnum = strawberry.field(description="What the account may do.")  # type: ignore[valid-type]

    @classmethod
    def from_model(cls, m: StaffModel) -> Staff:
        return cls(id=m.id, username=m.username, display_name=m.display_name, role=m.role)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await load_nodes(StaffModel, node_ids, cls.from_model, visible=lambda row: viewer.is_staff)


# --- inputs and payloads -------------------------------------------------------------------

_ISSUE_TOKEN = strawberry.field(
    default=False,
    description="Return the session token in the payload (for non-browser clients, sent back as "
    "`Authorization: Bearer`) instead of setting the HttpOnly session cookie.",
)


_PHONE = "The phone number in its three parts, e.g. [\"092\", \"942\", \"1151\"]."


@strawberry.input(description="ログイン: a patron's card number and password.")
class LoginInput:
    card_number: str = strawberry.field(description="利用者番号: 9 half-width digits beginning with 10.")
    password: str = strawberry.field(description="4–8 half-width alphanumerics.")
    issue_token: bool = _ISSUE_TOKEN


@strawberry.type(description="The result of login.")
class LoginPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron now logged in (`viewer`).")
    token: str | None = strawberry.field(default=None, description="Only when `issueToken` was true.")


@strawberry.input(description="ログアウト: nothing to say but that.")
class LogoutInput:
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_MUTATION_ID)


@strawberry.type(description="The result of logout. Clear the client's cache: `viewer` is null now.")
class LogoutPayload(Payload):
    logged_out: bool = strawberry.field(default=False, description="False when there was no session to end.")


@strawberry.input(description="Step 1 of 新規パスワード登録: prove who you are.")
class VerifyPatronIdentityInput:
    card_number: str = strawberry.field(description="利用者番号: 9 half-width digits beginning with 10.")
    name_kana: str = strawberry.field(description="Full-width katakana; hiragana and half-width kana are accepted.")
    birth_date: str = strawberry.field(description="西暦 YYYYMMDD, e.g. 20090301.")
    phone: list[str] = strawberry.field(description=_PHONE)


@strawberry.type(description="The result of verifyPatronIdentity.")
class VerifyPatronIdentityPayload(Payload):
    ticket: str | None = strawberry.field(default=None, description="Short-lived ticket for `registerPassword`.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the ticket stops working.")


@strawberry.input(description="Step 2 of 新規パスワード登録 (also the forgotten-password path).")
class RegisterPasswordInput:
    ticket: str = strawberry.field(description="The ticket from `verifyPatronIdentity`.")
    password: str = strawberry.field(description="The new password: 4–8 half-width alphanumerics, not easily "
                                     "guessed.")
    password_confirmation: str = strawberry.field(description="The same password again (再入力).")
    issue_token: bool = _ISSUE_TOKEN


@strawberry.type(description="The result of registerPassword: the patron is logged in.")
class RegisterPasswordPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron now logged in (`viewer`).")
    token: str | None = strawberry.field(default=None, description="Only when `issueToken` was true.")
    next_step: str | None = strawberry.field(
        default=None, description="What the patron should do next, in Japanese, for the 登録完了 screen: register "
        "an e-mail address when none can reach them (web holds need one). Null when nothing is needed.")


@strawberry.input(description="パスワード変更: the current password, and the new one twice.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now (旧パスワード).")
    new_password: str = strawberry.field(description="4–8 half-width alphanumerics, not easily guessed.")
    new_password_confirmation: str = strawberry.field(description="The new password again (再入力).")


@strawberry.type(description="The result of changePassword. The patron's other sessions have ended.")
class ChangePasswordPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron whose password changed.")


@strawberry.input(description="A staff member's username and password.")
class StaffLoginInput:
    username: str = strawberry.field(description="The staff username.")
    password: str = strawberry.field(description="The staff password.")
    issue_token: bool = _ISSUE_TOKEN


@strawberry.type(description="The result of staffLogin.")
class StaffLoginPayload(Payload):
    staff: Staff | None = strawberry.field(default=None, description="The staff member now logged in "
                                           "(`currentStaff`).")
    token: str | None = strawberry.field(default=None, description="Only when `issueToken` was true.")


@strawberry.input(description="Counter registration of a patron (staff only).")
class RegisterPatronInput:
    card_number: str = strawberry.field(description="利用者番号 of the new card: 9 half-width digits beginning with 10.")
    name_kana: str = strawberry.field(description="Name in katakana (hiragana and half-width kana are converted).")
    birth_date: str = strawberry.field(description="西暦 YYYYMMDD, e.g. 19990101.")
    phone: list[str] = strawberry.field(description=_PHONE)


@strawberry.type(description="The result of registerPatron.")
class RegisterPatronPayload(Payload):
    patron: Patron | None = strawberry.field(default=None, description="The patron registered (no password yet: "
                                             "they register one with 新規パスワード登録).")


async def _deliver_token(ctx: Context, logged_in: LoggedIn, issue_token: bool) -> str | None:
    """Hand the new session to the client: in the payload (API clients) or as a cookie, which
    replaces the browser's earlier session: that one ends, not left to idle out. A browser
    also keeps the proof that it knows the account (`app.domain.throttle`)."""
    # What the patron sees in their list of sessions (viewer.privacy.sessions).
    await sessions.record_device(logged_in.token, ctx.user_agent)
    ctx.forget_session()
    if issue_token:
        return logged_in.token
    if replaced := ctx.session_cookie():
        await sessions.end_by_token(replaced)
    ctx.set_session_cookie(logged_in.token)
    ctx.remember_browser(logged_in.browser_proof)
    return None


# --- root fields ---------------------------------------------------------------------------


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The logged-in patron; null for guests (こんにちは ゲストさん) and staff.")
    async def viewer(self, info: Info[Context, None]) -> Patron | None:
        patron = await info.context.patron()
        return Patron.from_model(patron) if patron else None

    @strawberry.field(description="The logged-in staff member; null otherwise.")
    async def current_staff(self, info: Info[Context, None]) -> Staff | None:
        staff = await info.context.staff()
        return Staff.from_model(staff) if staff else None

    @strawberry.field(
        description="Staff only: the patron with this card number, for the desk (current loans and "
        "holds; never the patron's favorites, shelves or history). Null if unknown or not staff."
    )
    async def patron_by_card_number(
        self, info: Info[Context, None],
        card_number: Annotated[str, strawberry.argument(description="利用者番号: 9 digits beginning with 10.")],
    ) -> Patron | None:
        if await info.context.staff() is None:
            return None
        patron = await accounts.find_patron(card_number)
        return Patron.from_model(patron) if patron else None


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Log a patron in (ログイン).")
    @handle_user_errors(LoginPayload)
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        ctx = info.context
        result = await accounts.login(ctx.deps, input.card_number, input.password, ctx.client_address,
                                      ctx.browser_proofs())
        token = await _deliver_token(ctx, result, input.issue_token)
        return LoginPayload(patron=Patron.from_model(result.patron), token=token)

    @strawberry.mutation(description="End the current session (ログアウト).")
    @handle_user_errors(LogoutPayload)
    async def logout(self, info: Info[Context, None], input: LogoutInput) -> LogoutPayload:
        ctx = info.context
        session = await ctx.session()
        if session is not None:
            await sessions.end(session.id)
        ctx.forget_session()
        ctx.clear_session_cookie()
        return LogoutPayload(logged_out=session is not None)

    @strawberry.mutation(description="新規パスワード登録 step 1: check identity, get a registration ticket.")
    @handle_user_errors(VerifyPatronIdentityPayload)
    async def verify_patron_identity(
        self, info: Info[Context, None], input: VerifyPatronIdentityInput
    ) -> VerifyPatronIdentityPayload:
        ctx = info.context
        ticket = await accounts.verify_identity(
            ctx.deps, input.card_number, input.name_kana, input.birth_date, input.phone, ctx.client_address,
            ctx.browser_proofs(),
        )
        return VerifyPatronIdentityPayload(ticket=ticket.token, expires_at=ticket.expires_at)

    @strawberry.mutation(description="新規パスワード登録 step 2: set the password; ends older sessions and logs in.")
    @handle_user_errors(RegisterPasswordPayload)
    async def register_password(
        self, info: Info[Context, None], input: RegisterPasswordInput
    ) -> RegisterPasswordPayload:
        ctx = info.context
        result = await accounts.register_password(
            ctx.deps, input.ticket, input.password, input.password_confirmation, ctx.browser_proofs()
        )
        token = await _deliver_token(ctx, result, input.issue_token)
        next_step = None if email_addresses.reachable(result.patron) else REGISTER_EMAIL_NEXT_STEP
        return RegisterPasswordPayload(patron=Patron.from_model(result.patron), token=token, next_step=next_step)

    @strawberry.mutation(description="パスワード変更: current password, new twice. Other sessions end.")
    @handle_user_errors(ChangePasswordPayload)
    async def change_password(self, info: Info[Context, None], input: ChangePasswordInput) -> ChangePasswordPayload:
        ctx = info.context
        await ctx.require_patron()
        patron = await accounts.change_password(
            ctx.deps, await ctx.session(), input.current_password, input.new_password,
            input.new_password_confirmation, ctx.client_address, ctx.browser_proofs(),
        )
        return ChangePasswordPayload(patron=Patron.from_model(patron))

    @strawberry.mutation(description="Log a staff member in.")
    @handle_user_errors(StaffLoginPayload)
    async def staff_login(self, info: Info[Context, None], input: StaffLoginInput) -> StaffLoginPayload:
        ctx = info.context
        result = await accounts.staff_login(ctx.deps, input.username, input.password, ctx.client_address,
                                            ctx.browser_proofs())
        token = await _deliver_token(ctx, result, input.issue_token)
        return StaffLoginPayload(staff=Staff.from_model(result.staff), token=token)

    @strawberry.mutation(description="Register a patron at the counter (staff only).")
    @handle_user_errors(RegisterPatronPayload)
    async def register_patron(self, info: Info[Context, None], input: RegisterPatronInput) -> RegisterPatronPayload:
        await info.context.require_staff()
        patron = await accounts.register_patron(
            info.context.deps, input.card_number, input.name_kana, input.birth_date, input.phone
        )
        return RegisterPatronPayload(patron=Patron.from_model(patron))
