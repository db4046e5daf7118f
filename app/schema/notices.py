"""Notices in GraphQL: a patron's own notices (`viewer.notices`), failed notices for staff."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import notice_templates, notices
from app.domain.errors import DomainError, ErrorCode
from app.domain.visibility import Audience
from app.models import Notice as NoticeModel
from app.models.enums import NoticeKind, NoticeStatus
from app.schema import loaders
from app.schema.base import (
    After, Connection, First, decode_global_id, described_enum, load_owned_nodes, query_connection, query_page,
)
from app.schema.context import Context
from app.schema.errors import Payload, handle_user_errors

if TYPE_CHECKING:
    from app.schema.accounts import Patron

NoticeKindEnum = described_enum(NoticeKind, "NoticeKind", "What a notice tells the patron.", {
    NoticeKind.HOLD_RECEIVED: "予約受付のお知らせ: a hold was placed (on the web or at the counter).",
    NoticeKind.HOLD_READY: "貸出準備完了のお知らせ: a held copy is kept at the desk until the pickup deadline.",
    NoticeKind.DUE_REMINDER: "返却日のお知らせ: loans fall due soon (the patron can turn it off).",
    NoticeKind.EMAIL_CONFIRMATION: "メールアドレス確認: the link that confirms a new address, sent to that address.",
    NoticeKind.EMAIL_CHANGED: "メールアドレス変更のお知らせ: the address was changed (sent to the old one).",
    NoticeKind.PASSWORD_CHANGED: "パスワード変更のお知らせ: the password was set or changed (no link; "
                                 "\"if this was not you, contact the library\").",
})
NoticeStatusEnum = described_enum(NoticeStatus, "NoticeStatus", "Whether a notice was sent.", {
    NoticeStatus.PENDING: "Waiting to be sent (or retried: see `nextAttemptAt`).",
    NoticeStatus.SENT: "Accepted by the mail server.",
    NoticeStatus.FAILED: "Will not be sent without help: staff can retry it (see `lastError`).",
    NoticeStatus.NO_ADDRESS: "Not sent: the patron had no contact address.",
})


@strawberry.type(name="Notice", description="A notice by e-mail (お知らせメール) and whether it was sent. "
                 "Only its kind and delivery are shown, never its text.")
class Notice(relay.Node):
    id: relay.NodeID[int]
    kind: NoticeKindEnum = strawberry.field(description="What it tells the patron.")  # type: ignore[valid-type]
    status: NoticeStatusEnum = strawberry.field(description="Whether it was sent.")  # type: ignore[valid-type]
    to_address: str | None = strawberry.field(description="Where it was (or will be) sent.")
    attempts: int = strawberry.field(description="Delivery attempts so far.")
    created_at: datetime = strawberry.field(description="When the notice was made (the event it tells of).")
    sent_at: datetime | None = strawberry.field(description="When the mail server accepted it (SENT only).")
    next_attempt_at: datetime | None = strawberry.field(description="When a pending notice is tried next.")
    failed_at: datetime | None = strawberry.field(
        description="When a FAILED notice was given up on (requeueFailedNotices selects by it); null otherwise."
    )
    model: strawberry.Private[NoticeModel]

    @classmethod
    def from_model(cls, m: NoticeModel) -> Notice:
        return cls(
            id=m.id, kind=m.kind, status=m.status, to_address=m.to_address, attempts=m.attempts,
            created_at=m.created_at, sent_at=m.sent_at,
            next_attempt_at=m.next_attempt_at if m.status is NoticeStatus.PENDING else None,
            failed_at=m.failed_at if m.status is NoticeStatus.FAILED else None, model=m,
        )

    @strawberry.field(description="The subject line of the mail, e.g. 【古賀市立図書館】予約受付のお知らせ.")
    def subject(self, info: Info[Context, None]) -> str:
        return notice_templates.subject(self.model.kind, info.context.settings)

    @strawberry.field(description="Why the last attempt failed: for staff, null for patrons.")
    async def last_error(self, info: Info[Context, None]) -> str | None:
        return self.model.last_error if await info.context.staff() else None

    @strawberry.field(description="The patron the notice is for: for staff, null for patrons.")
    async def patron(
        self, info: Info[Context, None]
    ) -> Annotated[Patron, strawberry.lazy("app.schema.accounts")] | None:
        from app.schema.accounts import Patron

        if self.model.patron_id is None or not await info.context.staff():
            return None
        return Patron.from_model(await loaders.patrons(info.context).load(self.model.patron_id))

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        # Visible to the patron it is for and to staff: another patron's notice does not exist.
        return await load_owned_nodes(info, NoticeModel, node_ids, cls.from_model, audience=Audience.DESK)


@strawberry.type
class PatronNotices:
    """Patron fields of the notices domain (a base of `Patron`)."""

    @strawberry.field(description="The patron's notices, newest first, with whether each was sent.")
    async def notices(self, info: Info[Context, None], first: First = None, after: After = None) -> Connection[Notice]:
        page = query_page(NoticeModel, first, after, info.context.settings.max_page_size, kind="Patron.notices",
                          order=notices.NEWEST_FIRST)
        return await query_connection(notices.for_patron(self.id), page,  # type: ignore[attr-defined]
                                      Notice.from_model)


@strawberry.type
class NoticesQuery:
    @strawberry.field(description="Notices that failed for good, newest first: staff only (null for anyone else).")
    async def failed_notices(self, info: Info[Context, None], first: First = None,
                             after: After = None) -> Connection[Notice] | None:
        page = query_page(NoticeModel, first, after, info.context.settings.max_page_size, kind="failedNotices",
                          order=notices.NEWEST_FIRST)
        if await info.context.staff() is None:
            return None
        return await query_connection(notices.failed(), page, Notice.from_model)


@strawberry.input(description="Put a failed notice back in the outbox (staff).")
class RetryNoticeInput:
    notice_id: strawberry.ID = strawberry.field(description="Global ID of a FAILED notice.")


@strawberry.type(description="The result of retryNotice.")
class RetryNoticePayload(Payload):
    notice: Notice | None = strawberry.field(default=None, description="The notice, PENDING again.")


@strawberry.input(description="Put back in the outbox every notice that failed in a period, e.g. while the "
                  "mail server was down (staff). Try it first with dryRun to see how many.")
class RequeueFailedNoticesInput:
    period_start: date = strawberry.field(description="First library day (in the library's time zone) on which the notices failed.")
    period_end: date = strawberry.field(
        description="Last library day on which the notices failed, included; at most a year after periodStart."
    )
    dry_run: bool = strawberry.field(default=False, description="Only count them: nothing changes.")


@strawberry.type(description="How many failed notices went back in the outbox (or would, on a dry run).")
class RequeueFailedNoticesPayload(Payload):
    count: int = strawberry.field(
        default=0, description="How many failed notices were put back, each with a fresh attempt count "
        "(on a dry run: how many would be)."
    )
    dry_run: bool = strawberry.field(default=False, description="True when nothing was changed (a dry run).")


@strawberry.type
class NoticesMutation:
    @strawberry.mutation(description="Send a failed notice again, with a fresh attempt count (staff only).")
    @handle_user_errors(RetryNoticePayload)
    async def retry_notice(self, info: Info[Context, None], input: RetryNoticeInput) -> RetryNoticePayload:
        await info.context.require_staff()
        notice_id = decode_global_id(input.notice_id, "Notice")
        if notice_id is None:
            raise DomainError(ErrorCode.NOT_FOUND, "notice_id")
        return RetryNoticePayload(notice=Notice.from_model(await notices.retry(info.context.deps, notice_id)))

    @strawberry.mutation(description="Send again, with a fresh attempt count, every notice that failed between "
                         "two library days: after an outage of the mail server (staff only).")
    @handle_user_errors(RequeueFailedNoticesPayload)
    async def requeue_failed_notices(self, info: Info[Context, None],
                                     input: RequeueFailedNoticesInput) -> RequeueFailedNoticesPayload:
        await info.context.require_staff()
        count = await notices.requeue_failed(info.context.deps, input.period_start, input.period_end,
                                             dry_run=input.dry_run)
        return RequeueFailedNoticesPayload(count=count, dry_run=input.dry_run)
