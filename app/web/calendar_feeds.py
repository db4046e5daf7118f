"""The calendar feeds over HTTP (iCalendar, written with the `icalendar` package):

- `GET /calendar/library.ics`: the library calendar (closed days, events), public, cacheable.
- `GET /calendar/patron.ics?token=…`: a patron's due dates and pickup deadlines, by the secret
  address the patron created (`createCalendarFeed`); 404 for an unknown, rotated or revoked one.

The token is in the query string, which neither the request log nor the access logs keep (see
`app.web.email_confirm.RedactTokens` and docs/operations.md).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta

import icalendar
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.domain import calendar_feeds, messages
from app.domain.calendar_feeds import Entry
from app.domain.deps import Deps

_MEDIA_TYPE = "text/calendar; charset=utf-8"
_PRODID = "-//library-web//Patron web service//JA"


def render(deps: Deps, name: str, entries: list[Entry]) -> bytes:
    """An iCalendar file (RFC 5545) of these entries, with the library's time zone."""
    tz = deps.settings.tz
    cal = icalendar.Calendar()
    cal.add("prodid", _PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", deps.settings.timezone)
    # RFC 7986 (and its older Microsoft name): how often a subscribing app should refresh.
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    stamp = calendar_feeds.stamp(deps.now())
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("summary", entry.summary)
        if entry.description:
            event.add("description", entry.description)
        if entry.at is None:
            event.add("dtstart", entry.day)
            event.add("dtend", entry.day + timedelta(days=1))
            event.add("transp", "TRANSPARENT")  # an all-day reminder does not make the patron busy
        else:
            hour, minute = map(int, entry.at.split(":"))
            event.add("dtstart", datetime.combine(entry.day, time(hour, minute), tzinfo=tz))
        event.add("sequence", entry.sequence)
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def routes(deps: Deps) -> list[Route]:
    """The two feeds' routes, bound to the app's deps."""
    library = deps.settings.library_name

    async def public(request: Request) -> Response:
        body = render(deps, messages.ICAL_LIBRARY_CALENDAR_NAME.format(library=library),
                      await calendar_feeds.library_entries(deps))
        etag = '"' + hashlib.sha256(_without_stamps(body)).hexdigest()[:32] + '"'
        headers = {"Cache-Control": "public, max-age=900", "ETag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=_MEDIA_TYPE, headers=headers)

    async def private(request: Request) -> Response:
        patron_id = await calendar_feeds.patron_for_token(deps, request.query_params.get("token", ""))
        if patron_id is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        body = render(deps, messages.ICAL_PATRON_CALENDAR_NAME.format(library=library),
                      await calendar_feeds.patron_entries(deps, patron_id))
        # Personal: no cache along the way keeps it, no search engine lists it.
        return Response(body, media_type=_MEDIA_TYPE,
                        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"})

    return [
        Route(calendar_feeds.PUBLIC_PATH, public, methods=["GET"]),
        Route(calendar_feeds.PRIVATE_PATH, private, methods=["GET"]),
    ]


def _without_stamps(body: bytes) -> bytes:
    """The feed without its DTSTAMP lines, which change every time it is written."""
    return b"\r\n".join(line for line in body.split(b"\r\n") if not line.startswith(b"DTSTAMP"))
