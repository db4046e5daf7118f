"""Live notifications in GraphQL: `subscription { viewerEvents { … } }` over WebSocket with the
`graphql-transport-ws` protocol (the one Apollo Client, urql and Relay speak, via `graphql-ws`).

A socket is admitted at `connection_init`: by a bearer token in its payload
(`{"authorization": "Bearer …"}`) or else by the session cookie of the handshake, whose origin
the view has checked like a POST's. A guest, a staff member or an ended session is refused
(4403); past the patron's limit, 4429. The events themselves come from `app.web.live`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, AsyncGenerator, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from app.domain import sessions
from app.domain.events import LiveEvent
from app.domain.messages import EVENT_MESSAGES
from app.models import Hold as HoldModel
from app.models.enums import EventKind, SessionKind
from app.schema.base import described_enum
from app.schema.circulation import Hold
from app.schema.context import Context
from app.schema.security import present_errors
from app.web.bearer import bearer_token
from app.web.live import CLOSE_TOO_MANY, LiveHub

ViewerEventKindEnum = described_enum(EventKind, "ViewerEventKind", "What happened.", {
    EventKind.HOLD_READY: "A copy is kept for the patron (貸出準備完了) until the pickup deadline.",
    EventKind.HOLD_EXPIRED: "A hold was not collected by its pickup deadline: cancelled.",
    EventKind.HOLD_CANCELLED: "A hold was cancelled by the patron (in another window) or by staff.",
    EventKind.LOAN_DUE_SOON: "Loans are due within the reminder days (sent by the daily step).",
    EventKind.EMAIL_CONFIRMED: "A new e-mail address was confirmed.",
    EventKind.SESSION_ENDED: "Never sent: when the session ends, the socket closes (4401).",
})


@strawberry.type(description="Something that just happened to the patron: show `message` at once, and "
                 "refetch what it names (a normalised cache updates `hold` by its id).")
class ViewerEvent:
    kind: ViewerEventKindEnum = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    occurred_at: datetime = strawberry.field(description="When it happened.")
    message: str = strawberry.field(description="A Japanese sentence to show the patron, e.g. "
                                    "予約資料の貸出準備ができました。")
    due_date: date | None = strawberry.field(description="LOAN_DUE_SOON: the due date.")
    loan_count: int | None = strawberry.field(description="LOAN_DUE_SOON: how many loans are due that day.")
    hold_id: strawberry.Private[int | None]

    @strawberry.field(description="HOLD_READY, HOLD_EXPIRED, HOLD_CANCELLED: the hold, as it is now "
                      "(null if it no longer exists).")
    async def hold(self, info: Info[Context, None]) -> Hold | None:
        patron = await info.context.patron()
        if self.hold_id is None or patron is None:
            return None
        row = await HoldModel.get_or_none(id=self.hold_id, patron_id=patron.id)
        return Hold.from_model(row, info.context) if row else None

    @classmethod
    def from_event(cls, event: LiveEvent) -> ViewerEvent:
        data: dict[str, Any] = event.data
        template = EVENT_MESSAGES.get(event.kind.value, "")
        shown = {k: _japanese_date(v) if k.endswith(("_date", "_deadline")) else v for k, v in data.items()}
        try:
            message = template.format(**shown)
        except (KeyError, IndexError):
            message = template
        due = data.get("due_date")
        return cls(kind=event.kind, occurred_at=event.created_at, message=message,
                   due_date=date.fromisoformat(due) if due else None, loan_count=data.get("count"),
                   hold_id=data.get("hold_id"))


def _japanese_date(value: Any) -> Any:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    return f"{day.month}月{day.day}日"


@strawberry.type(description="Live events, over WebSocket (graphql-transport-ws) at /graphql.")
class Subscription:
    @strawberry.subscription(description="The logged-in patron's events, live, over WebSocket "
                             "(graphql-transport-ws): holds ready, expired or cancelled, loans due soon, "
                             "e-mail confirmed. Events from the moment it starts (one committed an instant before may "
                             "come too); refetch on (re)connection for what happened meanwhile.")
    async def viewer_events(self, info: Info[Context, None]) -> AsyncGenerator[ViewerEvent, None]:
        connection = info.context.live
        if connection is None:
            raise GraphQLError(_OVER_WEBSOCKET_ONLY, extensions={"code": "BAD_REQUEST"})
        async for event in connection.events():
            yield ViewerEvent.from_event(event)


class SubscriptionsOverWebSocket(SchemaExtension):
    """A socket runs subscriptions only: queries and mutations are HTTP's (its guards, the session
    cookie, the request log), so one sent on a socket is a bad request, said plainly. (A
    subscription sent as a POST is refused by the view.)"""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        if getattr(ec.context, "live", None) is not None and ec.operation_type is not OperationType.SUBSCRIPTION:
            raise GraphQLError(_HTTP_ONLY, extensions={"code": "BAD_REQUEST"})
        yield


_OVER_WEBSOCKET_ONLY = "Subscriptions run over WebSocket (graphql-transport-ws) at /graphql."
_HTTP_ONLY = "Queries and mutations run over HTTP: POST them to /graphql."


class LiveTransportHandler(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler, with our admission and our error masking."""

    context: Context

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload", {})
        if not self.connection_init_received and not self.connection_timed_out and isinstance(payload, dict):
            refusal = await self._admit(payload or {})
            if refusal is not None:
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=refusal[0], reason=refusal[1])
                return
        await super().handle_connection_init(message)

    async def _admit(self, payload: dict[str, Any]) -> tuple[int, str] | None:
        """Authenticate the socket and count it against the patron's limit; the close code if refused."""
        ctx = self.context
        token = _token(payload)
        session = await sessions.resolve(ctx.deps, token) if token else await ctx.session()
        if session is None or session.kind is not SessionKind.PATRON:
            return 4403, "Forbidden"
        ctx.use_session(session)
        hub: LiveHub = ctx.request.app.state.live
        connection = await hub.admit(ctx.request.scope["live_socket"], session.patron_id, session.id,
                                     self.websocket.close)
        if connection is None:
            return CLOSE_TOO_MANY
        ctx.live = connection
        return None

    async def send_message(self, message: Any) -> None:
        live = self.context.live
        if live is not None and live.closed:
            return  # the hub closed the socket (session ended, limits): nothing more to say
        await super().send_message(message)

    async def shutdown(self) -> None:
        await super().shutdown()
        if self.context.live is not None:
            self.context.live.hub.leave(self.context.live)

    async def _send_result_stream(self, operation: Any, result_source: Any) -> None:
        await super()._send_result_stream(operation, _masked(self.context, result_source))

    async def _handle_pre_execution_error(self, operation: Any, result: Any) -> None:
        result.errors = present_errors(result.errors, request_id=None, settings=self.context.settings)
        await super()._handle_pre_execution_error(operation, result)


def _token(payload: dict[str, Any]) -> str | None:
    """The session token of a `connection_init` payload: `authorization` ("Bearer …") or `token`."""
    raw = payload.get("authorization") or payload.get("Authorization") or payload.get("token")
    if not isinstance(raw, str) or not raw.strip():
        return None
    return bearer_token(raw.strip()) or raw.strip()


async def _masked(ctx: Context, source: Any) -> AsyncGenerator[Any, None]:
    """The results of a stream with bugs masked and logged, as over HTTP (`present_errors`)."""
    async for result in source:
        if getattr(result, "errors", None):
            result.errors = present_errors(result.errors, request_id=None, settings=ctx.settings)
        yield result
