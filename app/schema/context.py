"""Per-request context: who is asking (resolved once, lazily), the domain deps, and loaders."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.domain import sessions
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.domain.sessions import LiveSession, PatronRow, StaffRow
from app.domain.visibility import GUEST, Viewer
from app.models.enums import SessionKind
from app.web.bearer import bearer_token

_UNSET: Any = object()


class Context:
    def __init__(self, request: Request, response: Response, deps: Deps) -> None:
        self.request = request
        self.response = response
        self.deps = deps
        self.settings = deps.settings
        self.loaders: dict[str, Any] = {}
        self._session: LiveSession | None = _UNSET
        # A WebSocket's admitted connection (`app.schema.subscriptions`), None over HTTP.
        self.live: Any = None
        self._today: date | None = None

    def today(self) -> date:
        """Today at the library, read once per HTTP request: every field of an answer (a loan's
        overdue flag, its renewability) judges by the same day, even across midnight."""
        if self.live is not None:  # a socket's context lives for days: asked each time
            return self.deps.today()
        if self._today is None:
            self._today = self.deps.today()
        return self._today

    # --- authentication -----------------------------------------------------------------

    def session_token(self) -> str | None:
        """Bearer token if given (API clients), else the session cookie (browsers)."""
        return bearer_token(self.request.headers.get("authorization")) or self.session_cookie()

    async def session(self) -> LiveSession | None:
        if self._session is _UNSET:
            token = self.session_token()
            self._session = await sessions.resolve(self.deps, token) if token else None
        return self._session

    def forget_session(self) -> None:
        self._session = None

    @property
    def session_looked_up(self) -> bool:
        """Whether this request's session has been looked up already (admission does it first)."""
        return self._session is not _UNSET

    def use_session(self, session: LiveSession) -> None:
        """Authenticate with a session found another way (a WebSocket's `connection_init`)."""
        self._session = session

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")

    async def patron(self) -> PatronRow | None:
        """The logged-in patron, or None (guests and staff)."""
        session = await self.session()
        return session.patron if session and session.kind is SessionKind.PATRON else None

    async def staff(self) -> StaffRow | None:
        session = await self.session()
        return session.staff if session and session.kind is SessionKind.STAFF else None

    async def viewer(self) -> Viewer:
        """Who is asking, for the visibility rule (`app.domain.visibility`)."""
        session = await self.session()
        if session is None:
            return GUEST
        if session.kind is SessionKind.STAFF:
            return Viewer(is_staff=session.staff is not None)
        return Viewer(patron_id=session.patron.id if session.patron is not None else None)

    async def require_patron(self) -> PatronRow:
        """The patron, or a NOT_AUTHENTICATED (guest) / FORBIDDEN (staff) failure."""
        session = await self.session()
        if session is None:
            raise DomainError(ErrorCode.NOT_AUTHENTICATED)
        if session.kind is not SessionKind.PATRON:
            raise DomainError(ErrorCode.FORBIDDEN)
        return session.patron

    async def require_staff(self) -> StaffRow:
        session = await self.session()
        if session is None:
            raise DomainError(ErrorCode.NOT_AUTHENTICATED)
        if session.kind is not SessionKind.STAFF:
            raise DomainError(ErrorCode.FORBIDDEN)
        return session.staff

    @property
    def client_address(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"

    # --- the session cookie -------------------------------------------------------------

    def set_session_cookie(self, token: str) -> None:
        self.response.set_cookie(
            self.settings.session_cookie_name,
            token,
            max_age=self.settings.session_max_hours * 3600,
            path="/",
            httponly=True,
            secure=self.settings.cookie_secure,
            samesite=self.settings.cookie_samesite,
        )

    def session_cookie(self) -> str | None:
        return self.request.cookies.get(self.settings.session_cookie_name)

    # --- the known-browser cookie (app.domain.throttle) ----------------------------------

    _PROOFS_KEPT = 5
    _PROOF_MAX_LENGTH = 100

    def browser_proofs(self) -> list[str]:
        """The proofs this browser keeps that it logged in before, one per account (a family PC)."""
        raw = self.request.cookies.get(self.settings.known_browser_cookie_name, "")
        return [p for p in raw.split("~") if 0 < len(p) <= self._PROOF_MAX_LENGTH][: self._PROOFS_KEPT]

    def remember_browser(self, proof: str | None) -> None:
        if not proof:
            return
        kept = [proof, *(p for p in self.browser_proofs() if p != proof)][: self._PROOFS_KEPT]
        self.response.set_cookie(
            self.settings.known_browser_cookie_name,
            "~".join(kept),
            max_age=365 * 24 * 3600,
            path="/",
            httponly=True,
            secure=self.settings.cookie_secure,
            samesite=self.settings.cookie_samesite,
        )

    def clear_session_cookie(self) -> None:
        self.response.delete_cookie(
            self.settings.session_cookie_name,
            path="/",
            httponly=True,
            secure=self.settings.cookie_secure,
            samesite=self.settings.cookie_samesite,
        )
