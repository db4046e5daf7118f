"""The wire format of dates and instants: RFC 3339, named by `@specifiedBy` so that code
generators and clients know how to read them without being told.

`Date` is RFC 3339's `full-date` (`2026-02-11`), a day at the library (Asia/Tokyo): due dates,
pickup deadlines, calendar days. `DateTime` is RFC 3339's `date-time` with its offset, an
instant (`2026-02-11T01:30:00+00:00`); the server writes UTC. Input is held to the same
grammar: ISO 8601's other spellings (`20260211`, `2026-W07-3`, an instant without an offset)
are refused as bad input rather than guessed at.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable

from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

RFC_3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"

_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _checked(parse: Callable[[str], Any], text: str) -> Any:
    try:
        return parse(text)
    except ValueError:  # the right shape, but no such day or time (2026-02-30, 24:00:00)
        raise GraphQLError(f"{text!r} names no real day or time.") from None


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
        raise GraphQLError(f"Date must be an RFC 3339 full-date (YYYY-MM-DD), not {value!r}.")
    return _checked(date.fromisoformat, value)


def _parse_date_time(value: object) -> datetime:
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise GraphQLError(f"DateTime must be an RFC 3339 date-time with an offset, not {value!r}.")
    return _checked(datetime.fromisoformat, value.upper())


def _serialize_date(value: date) -> str:
    return value.isoformat()


def _serialize_date_time(value: datetime) -> str:
    # Every instant the service keeps is aware (stored in UTC): one without an offset is a bug,
    # and guessing its zone would hand a client a wrong time.
    if value.tzinfo is None:
        raise ValueError("A DateTime without a time zone cannot be written as RFC 3339.")
    return value.isoformat()


Date = ScalarDefinition(
    name="Date", origin=date, specified_by_url=RFC_3339, serialize=_serialize_date, parse_value=_parse_date,
    parse_literal=None,
    description="A calendar day at the library (Asia/Tokyo), RFC 3339 full-date: `2026-02-11`.",
)
DateTime = ScalarDefinition(
    name="DateTime", origin=datetime, specified_by_url=RFC_3339, serialize=_serialize_date_time,
    parse_value=_parse_date_time, parse_literal=None,
    description="An instant, RFC 3339 date-time with its offset: `2026-02-11T01:30:00+00:00` (the server "
    "writes UTC, with microseconds when it has them; convert to the library's time zone to show it).",
)

SCALAR_OVERRIDES = {date: Date, datetime: DateTime}
