"""The library calendar in GraphQL: a month of open and closed days with events (public);
staff mark days closed or open and add or remove events."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Iterable

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from app.domain import calendar
from app.models import CalendarEvent as CalendarEventModel
from app.schema.base import decode_global_id, load_nodes
from app.schema.context import Context
from app.schema.errors import Payload, handle_user_errors


@strawberry.type(name="CalendarEvent", description="An event (行事), e.g. 2026/02/11 赤ちゃんおはなし会.")
class CalendarEvent(relay.Node):
    id: relay.NodeID[int]
    day: date = strawberry.field(description="The day of the event.")
    title: str = strawberry.field(description="What it is, e.g. 赤ちゃんおはなし会.")
    description: str = strawberry.field(description="More about it (empty when nothing more is said).")
    starts_at: str | None = strawberry.field(description="Start time, \"HH:MM\" library time.")

    @classmethod
    def from_model(cls, m: CalendarEventModel) -> CalendarEvent:
        return cls(id=m.id, day=m.day, title=m.title, description=m.description, starts_at=m.starts_at)

    @classmethod
    async def resolve_nodes(cls, *, info, node_ids: Iterable[str], required: bool = False):
        return await load_nodes(CalendarEventModel, node_ids, cls.from_model)


@strawberry.type(description="One day of the library calendar.")
class CalendarDay:
    day: date = strawberry.field(description="The day.")
    closed: bool = strawberry.field(description="休館日.")
    note: str = strawberry.field(description="Why, e.g. 定期休館日, 年末年始休館, 臨時開館.")
    events: list[CalendarEvent] = strawberry.field(description="The day's events, in order.")

    @classmethod
    def from_domain(cls, d: calendar.DayView) -> CalendarDay:
        return cls(day=d.day, closed=d.closed, note=d.note, events=[CalendarEvent.from_model(e) for e in d.events])


@strawberry.type(description="A month of the library calendar (開館カレンダー).")
class CalendarMonth:
    year: int = strawberry.field(description="The year.")
    month: int = strawberry.field(description="The month, 1–12.")
    days: list[CalendarDay] = strawberry.field(description="Every day of the month, in order.")
    events: list[CalendarEvent] = strawberry.field(description="The month's events, in order (as listed under the calendar).")


@strawberry.type
class CalendarQuery:
    @strawberry.field(description="The library calendar of one month: open and closed days, and events.")
    async def library_calendar(
        self, year: Annotated[int, strawberry.argument(description="The year, e.g. 2026.")],
        month: Annotated[int, strawberry.argument(description="The month, 1–12.")],
    ) -> CalendarMonth:
        try:
            view = await calendar.month_view(year, month)
        except ValueError:
            raise GraphQLError("Arguments 'year' and 'month' must name a month (month 1–12).") from None
        days = [CalendarDay.from_domain(d) for d in view.days]
        return CalendarMonth(year=year, month=month, days=days, events=[e for d in days for e in d.events])


@strawberry.input(description="Mark a day closed (休館日) or open, with a note for the calendar.")
class SetCalendarDayInput:
    day: date = strawberry.field(description="The day.")
    closed: bool = strawberry.field(description="True: closed (休館日). False: open.")
    note: str = strawberry.field(default="", description=f"Why, shown on the calendar (up to {calendar.NOTE_MAX} "
                                 "characters).")


@strawberry.type(description="The result of setCalendarDay.")
class SetCalendarDayPayload(Payload):
    day: CalendarDay | None = strawberry.field(default=None, description="The day, as the calendar now shows it.")


@strawberry.input(description="An event to add to the calendar.")
class AddCalendarEventInput:
    day: date = strawberry.field(description="The day of the event.")
    title: str = strawberry.field(description=f"What it is (up to {calendar.EVENT_TITLE_MAX} characters).")
    description: str = strawberry.field(default="", description=f"More about it (up to "
                                        f"{calendar.EVENT_DESCRIPTION_MAX} characters).")
    starts_at: str | None = strawberry.field(default=None, description="\"HH:MM\", e.g. \"10:30\".")


@strawberry.type(description="The result of addCalendarEvent.")
class AddCalendarEventPayload(Payload):
    event: CalendarEvent | None = strawberry.field(default=None, description="The event added.")


@strawberry.input(description="The event to remove from the calendar.")
class RemoveCalendarEventInput:
    event_id: strawberry.ID = strawberry.field(description="Global ID of the event.")


@strawberry.type(description="The result of removeCalendarEvent.")
class RemoveCalendarEventPayload(Payload):
    removed_event_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the event removed; null if there was none.")


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(description="Staff: mark a day closed or open again (due dates are moved past closed days).")
    @handle_user_errors(SetCalendarDayPayload)
    async def set_calendar_day(self, info: Info[Context, None], input: SetCalendarDayInput) -> SetCalendarDayPayload:
        await info.context.require_staff()
        await calendar.set_day(input.day, closed=input.closed, note=input.note)
        return SetCalendarDayPayload(day=CalendarDay.from_domain(await calendar.day_view(input.day)))

    @strawberry.mutation(description="Staff: add an event to the calendar.")
    @handle_user_errors(AddCalendarEventPayload)
    async def add_calendar_event(self, info: Info[Context, None], input: AddCalendarEventInput) -> AddCalendarEventPayload:
        await info.context.require_staff()
        event = await calendar.add_event(input.day, input.title, description=input.description,
                                         starts_at=input.starts_at)
        return AddCalendarEventPayload(event=CalendarEvent.from_model(event))

    @strawberry.mutation(description="Staff: remove an event from the calendar.")
    @handle_user_errors(RemoveCalendarEventPayload)
    async def remove_calendar_event(self, info: Info[Context, None],
                                    input: RemoveCalendarEventInput) -> RemoveCalendarEventPayload:
        await info.context.require_staff()
        removed = await calendar.remove_event(decode_global_id(input.event_id, "CalendarEvent"))
        return RemoveCalendarEventPayload(removed_event_id=input.event_id if removed else None)
