"""The privacy dashboard in GraphQL (`viewer.privacy`): what is held and for how long, the consent
ledger, the patron's sessions; the export, the deletion of reading records; calendar feeds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.domain import calendar_feeds, consent, privacy, sessions
from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import KEPT_ACTIVE_HOLDS, KEPT_CURRENT_LOANS, PRIVACY_LABELS, PRIVACY_RETENTION
from app.domain.privacy import PersonalData, ReadingRecord
from app.domain.visibility import Audience
from app.models import CalendarFeed as CalendarFeedModel
from app.models import Session as SessionModel
from app.models.enums import ConsentKind
from app.schema.base import decode_global_id, described_enum, encode_global_id, load_owned_nodes
from app.schema.context import Context
from app.schema.errors import Payload, handle_user_errors

PersonalDataKindEnum = described_enum(
    PersonalData, "PersonalDataKind", "A kind of personal data the service holds about a patron.",
    {kind: f"{PRIVACY_LABELS[kind.value]}." for kind in PersonalData},
)
ConsentKindEnum = described_enum(
    ConsentKind, "ConsentKind",
    "A choice recorded in the consent ledger: the loan history or the due-date mail turned on or off, an address "
    "registered, changed or removed, reading records deleted.", {
        ConsentKind.LOAN_HISTORY_ON: "Loan history (借りた本の履歴) turned on.",
        ConsentKind.LOAN_HISTORY_OFF: "Loan history turned off (and deleted).",
        ConsentKind.DUE_REMINDER_ON: "The due-date mail (返却日メール) turned on.",
        ConsentKind.DUE_REMINDER_OFF: "The due-date mail turned off.",
        ConsentKind.EMAIL_REGISTERED: "An e-mail address registered (confirmed) where there was none.",
        ConsentKind.EMAIL_CHANGED: "The e-mail address changed (the old one is not kept).",
        ConsentKind.EMAIL_REMOVED: "The e-mail address removed (削除する).",
        ConsentKind.READING_RECORDS_DELETED: "Reading records deleted with deleteReadingRecords.",
    })
ReadingRecordKindEnum = described_enum(
    ReadingRecord, "ReadingRecordKind", "Reading records the patron may delete (deleteReadingRecords).", {
        ReadingRecord.LOAN_HISTORY: "借りた本の履歴: the loan history.",
        ReadingRecord.READING_TALLIES: "The reading marathon's counts per day (the goal stays).",
        ReadingRecord.BOOKSHELVES: "My本棚, with what is on them.",
        ReadingRecord.FAVORITES: "お気に入り.",
    })


@strawberry.type(description="One kind of personal data held about the patron, how much, and how long.")
class PersonalDataCategory:
    kind: PersonalDataKindEnum = strawberry.field(description="Which data.")  # type: ignore[valid-type]
    label: str = strawberry.field(description="Its name in Japanese, e.g. 借りた本の履歴.")
    count: int = strawberry.field(description="How many are held now (rows; 1 for the registration).")
    retention: str = strawberry.field(description="How long it is kept and how it goes, in Japanese.")
    retention_days: int | None = strawberry.field(
        description="Days after which it is deleted automatically; null when not by time.")
    deletable_online: bool = strawberry.field(
        description="Whether the patron can delete it from the web (deleteReadingRecords, or the mutation "
        "of its own: removeEmail, removeFromHoldCart, endSession, revokeCalendarFeed).")

    @classmethod
    def from_domain(cls, c: privacy.Category) -> PersonalDataCategory:
        return cls(kind=c.kind, label=PRIVACY_LABELS[c.kind.value], count=c.count,
                   retention=PRIVACY_RETENTION[c.kind.value].format(days=c.retention_days),
                   retention_days=c.retention_days, deletable_online=c.deletable_online)


@strawberry.type(description="An entry of the consent ledger: what the patron chose, and on which day (no "
                 "old address is kept).")
class ConsentRecord:
    kind: ConsentKindEnum = strawberry.field(description="The choice.")  # type: ignore[valid-type]
    day: date = strawberry.field(description="The library day it was made.")


@strawberry.type(name="LoginSession", description="A session the patron is logged in with (ログイン中の端末).")
class LoginSession(relay.Node):
    id: relay.NodeID[int]
    device: str | None = strawberry.field(
        description="The browser and system, e.g. \"Chrome 120 / Windows 10\" (from its User-Agent); null "
        "when unknown. No address is stored.")
    created_at: datetime = strawberry.field(description="When the patron logged in.")
    last_seen_at: datetime = strawberry.field(description="When it was last used (to within five minutes).")
    current: bool = strawberry.field(description="True for the session making this request.")

    @classmethod
    def from_model(cls, m: SessionModel, current_id: int | None) -> LoginSession:
        return cls(id=m.id, device=m.device, created_at=m.created_at, last_seen_at=m.last_seen_at,
                   current=m.id == current_id)

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False):
        session = await info.context.session()
        return await load_owned_nodes(info, SessionModel, node_ids,
                                      lambda m: cls.from_model(m, session.id if session else None), audience=Audience.OWNER)


@strawberry.type(description="What the library knows about the patron (わたしの情報).")
class PrivacyReport:
    patron_id: strawberry.Private[int]

    @strawberry.field(description="Every kind of personal data held, with counts and retention.")
    async def categories(self, info: Info[Context, None]) -> list[PersonalDataCategory]:
        patron = await info.context.require_patron()
        return [PersonalDataCategory.from_domain(c) for c in await privacy.categories(info.context.deps, patron)]

    @strawberry.field(description="The consent ledger, oldest first: dates and kinds only.")
    async def consent_ledger(self) -> list[ConsentRecord]:
        return [ConsentRecord(kind=r.kind, day=r.on_date) for r in await consent.ledger(self.patron_id)]

    @strawberry.field(description="The patron's live sessions, the most recently used first.")
    async def sessions(self, info: Info[Context, None]) -> list[LoginSession]:
        current = await info.context.session()
        rows = await sessions.live_for_patron(info.context.deps, self.patron_id)
        return [LoginSession.from_model(row, current.id if current else None) for row in rows]


@strawberry.type(description="The patron's private calendar (iCalendar): due dates and pickup deadlines.")
class CalendarFeed:
    url: str = strawberry.field(description="The secret https address to give a calendar app. Anyone who "
                                "has it can read the feed: rotate it if it leaked.")
    webcal_url: str = strawberry.field(description="The same address as webcal://, which opens the calendar "
                                       "app's subscribe dialog.")
    names_titles: bool = strawberry.field(description="Whether events name the titles: only if the library's "
                                          "notices do (NOTICES_INCLUDE_TITLES, off by default).")
    privacy_note: str = strawberry.field(description="What to tell the patron where the feed is created "
                                         "(Japanese): events go to the calendar's cloud, titles or not.")
    created_at: datetime = strawberry.field(description="When this address was made.")
    last_fetched_at: datetime | None = strawberry.field(
        description="When a calendar app last read it (to within 15 minutes); null if never.")

    @classmethod
    def from_model(cls, m: CalendarFeedModel, ctx: Context) -> CalendarFeed:
        url = calendar_feeds.feed_url(ctx.settings, m)
        return cls(url=url, webcal_url="webcal://" + url.split("://", 1)[1],
                   names_titles=calendar_feeds.names_titles(ctx.settings),
                   privacy_note=calendar_feeds.privacy_note(ctx.settings), created_at=m.created_at,
                   last_fetched_at=m.last_fetched_at)


async def _own(info: Info[Context, None], patron_id: int) -> bool:
    return (await info.context.viewer()).is_patron(patron_id)


@strawberry.type
class PatronPrivacy:
    """Privacy fields of `Patron` (a base of the Patron type): the patron's own, null for anyone else."""

    @strawberry.field(description="What the library knows about the patron: only for the patron (null for "
                      "staff and others).")
    async def privacy(self, info: Info[Context, None]) -> PrivacyReport | None:
        patron_id = self.id  # type: ignore[attr-defined]
        return PrivacyReport(patron_id=patron_id) if await _own(info, patron_id) else None

    @strawberry.field(description="The patron's private calendar feed, if created: only for the patron.")
    async def calendar_feed(self, info: Info[Context, None]) -> CalendarFeed | None:
        patron_id = self.id  # type: ignore[attr-defined]
        if not await _own(info, patron_id):
            return None
        feed = await calendar_feeds.of_patron(patron_id)
        return CalendarFeed.from_model(feed, info.context) if feed else None


@strawberry.type
class PrivacyQuery:
    @strawberry.field(description="The address of the library's public calendar (休館日・行事) as iCalendar, "
                      "for any calendar app.")
    def library_calendar_feed_url(self, info: Info[Context, None]) -> str:
        return info.context.settings.public_base_url + calendar_feeds.PUBLIC_PATH


# --- inputs and payloads -------------------------------------------------------------------


@strawberry.input(description="Prepare a download of everything the library holds about the patron.")
class RequestPrivacyExportInput:
    client_mutation_id: str | None = strawberry.field(default=None, description="Echoed by Relay clients; unused.")


@strawberry.type(description="A prepared export: open `downloadUrl` once, with the same session, before "
                 "`expiresAt`.")
class RequestPrivacyExportPayload(Payload):
    download_url: str | None = strawberry.field(
        default=None, description="A one-time link to the JSON file (UTF-8). It works once, only with this "
        "patron's session (cookie or bearer token); the file is written when it is opened and never stored.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the link stops working.")


@strawberry.input(description="Delete reading records in one step. Current loans and holds cannot be "
                  "deleted from the web (the payload says what stays).")
class DeleteReadingRecordsInput:
    confirmation: str = strawberry.field(description="The patron types 削除する to confirm.")
    records: list[ReadingRecordKindEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Which records; all four when omitted.")


@strawberry.type(description="How many records of one kind were deleted.")
class DeletedRecords:
    kind: ReadingRecordKindEnum = strawberry.field(description="Which records.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="How many were deleted.")


@strawberry.type(description="What was deleted, and what stays.")
class DeleteReadingRecordsPayload(Payload):
    deleted: list[DeletedRecords] = strawberry.field(default_factory=list, description="What was deleted, by kind.")
    kept: list[str] = strawberry.field(
        default_factory=list, description="What stays and why, in Japanese: current loans until they are "
        "returned, holds until they end. Empty when there is nothing of the kind.")


@strawberry.input(description="End one of the patron's sessions (log that device out).")
class EndSessionInput:
    session_id: strawberry.ID = strawberry.field(description="A LoginSession id from viewer.privacy.sessions.")


@strawberry.type(description="The session ended.")
class EndSessionPayload(Payload):
    ended_session_id: strawberry.ID | None = strawberry.field(default=None, description="The session ended.")
    ended_current: bool = strawberry.field(
        default=False, description="True if it was the session of this request: the patron is now logged out.")


@strawberry.input(description="End every session of the patron but this one (log out everywhere else).")
class EndOtherSessionsInput:
    client_mutation_id: str | None = strawberry.field(default=None, description="Echoed by Relay clients; unused.")


@strawberry.type(description="How many other sessions ended.")
class EndOtherSessionsPayload(Payload):
    ended_count: int = strawberry.field(default=0, description="How many sessions ended.")


@strawberry.input(description="Create the patron's private calendar feed (creating it again changes nothing).")
class CreateCalendarFeedInput:
    client_mutation_id: str | None = strawberry.field(default=None, description="Echoed by Relay clients; unused.")


@strawberry.input(description="Give the patron's feed a new secret address; the old one stops working.")
class RotateCalendarFeedInput:
    client_mutation_id: str | None = strawberry.field(default=None, description="Echoed by Relay clients; unused.")


@strawberry.input(description="Stop the patron's feed: its address answers 404 from now on.")
class RevokeCalendarFeedInput:
    client_mutation_id: str | None = strawberry.field(default=None, description="Echoed by Relay clients; unused.")


@strawberry.type(description="The patron's calendar feed and what to tell the patron about it.")
class CalendarFeedPayload(Payload):
    feed: CalendarFeed | None = strawberry.field(default=None, description="The feed and its address.")
    privacy_note: str | None = strawberry.field(
        default=None, description="Show this where the patron creates the feed: what the calendar's cloud "
        "will see (Japanese).")


@strawberry.type(description="Whether the feed was stopped.")
class RevokeCalendarFeedPayload(Payload):
    revoked: bool = strawberry.field(default=False, description="True when the feed was stopped.")


_INPUT = strawberry.argument(description="The mutation's one input.")


def _kept(result: privacy.Deleted) -> list[str]:
    kept = []
    if result.current_loans:
        kept.append(KEPT_CURRENT_LOANS.format(count=result.current_loans))
    if result.active_holds:
        kept.append(KEPT_ACTIVE_HOLDS.format(count=result.active_holds))
    return kept


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(description="Prepare a one-time download of everything the library holds about the "
                         "patron (JSON).")
    @handle_user_errors(RequestPrivacyExportPayload)
    async def request_privacy_export(
        self, info: Info[Context, None], input: Annotated[RequestPrivacyExportInput, _INPUT]
    ) -> RequestPrivacyExportPayload:
        patron = await info.context.require_patron()
        link = await privacy.prepare_export(info.context.deps, patron.id)
        url = f"{info.context.settings.public_base_url}/privacy/export?token={link.token}"
        return RequestPrivacyExportPayload(download_url=url, expires_at=link.expires_at)

    @strawberry.mutation(description="Delete the patron's reading records (loan history, reading-marathon "
                         "counts, shelves, favorites) in one step, after typing 削除する.")
    @handle_user_errors(DeleteReadingRecordsPayload)
    async def delete_reading_records(
        self, info: Info[Context, None], input: Annotated[DeleteReadingRecordsInput, _INPUT]
    ) -> DeleteReadingRecordsPayload:
        patron = await info.context.require_patron()
        result = await privacy.delete_reading_records(info.context.deps, patron, input.confirmation, input.records)
        return DeleteReadingRecordsPayload(
            deleted=[DeletedRecords(kind=k, count=n) for k, n in result.counts.items()], kept=_kept(result))

    @strawberry.mutation(description="End one of the patron's sessions; its open sockets close too.")
    @handle_user_errors(EndSessionPayload)
    async def end_session(self, info: Info[Context, None],
                          input: Annotated[EndSessionInput, _INPUT]) -> EndSessionPayload:
        ctx = info.context
        patron = await ctx.require_patron()
        current = await ctx.session()
        session_id = decode_global_id(input.session_id, "LoginSession")
        if not await sessions.end_for_patron(patron.id, session_id):
            raise DomainError(ErrorCode.NOT_FOUND, "session_id")
        ended_current = current is not None and current.id == session_id
        if ended_current:
            ctx.forget_session()
            ctx.clear_session_cookie()
        return EndSessionPayload(ended_session_id=encode_global_id("LoginSession", session_id),
                                 ended_current=ended_current)

    @strawberry.mutation(description="End every other session of the patron (log out everywhere else).")
    @handle_user_errors(EndOtherSessionsPayload)
    async def end_other_sessions(self, info: Info[Context, None],
                                 input: Annotated[EndOtherSessionsInput, _INPUT]) -> EndOtherSessionsPayload:
        patron = await info.context.require_patron()
        current = await info.context.session()
        ended = await sessions.end_all_for_patron(patron.id, keep_session_id=current.id if current else None)
        return EndOtherSessionsPayload(ended_count=ended)

    @strawberry.mutation(description="Create the patron's private calendar feed of due dates and pickup "
                         "deadlines; show `privacyNote` to the patron.")
    @handle_user_errors(CalendarFeedPayload)
    async def create_calendar_feed(self, info: Info[Context, None],
                                   input: Annotated[CreateCalendarFeedInput, _INPUT]) -> CalendarFeedPayload:
        patron = await info.context.require_patron()
        feed = await calendar_feeds.create(info.context.deps, patron.id)
        return _feed_payload(feed, info.context)

    @strawberry.mutation(description="Give the patron's calendar feed a new secret address (the old one stops).")
    @handle_user_errors(CalendarFeedPayload)
    async def rotate_calendar_feed(self, info: Info[Context, None],
                                   input: Annotated[RotateCalendarFeedInput, _INPUT]) -> CalendarFeedPayload:
        patron = await info.context.require_patron()
        feed = await calendar_feeds.rotate(info.context.deps, patron.id)
        return _feed_payload(feed, info.context)

    @strawberry.mutation(description="Stop the patron's calendar feed.")
    @handle_user_errors(RevokeCalendarFeedPayload)
    async def revoke_calendar_feed(self, info: Info[Context, None],
                                   input: Annotated[RevokeCalendarFeedInput, _INPUT]) -> RevokeCalendarFeedPayload:
        patron = await info.context.require_patron()
        await calendar_feeds.revoke(patron.id)
        return RevokeCalendarFeedPayload(revoked=True)


def _feed_payload(feed: CalendarFeedModel, ctx: Context) -> CalendarFeedPayload:
    shown = CalendarFeed.from_model(feed, ctx)
    return CalendarFeedPayload(feed=shown, privacy_note=shown.privacy_note)
