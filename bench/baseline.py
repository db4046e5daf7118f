"""The baseline of the My Page benchmark: the same data as `bench/queries/mypage.graphql`, from a
minimal Starlette endpoint with hand-written SQL and orjson: the limit of this stack (Starlette,
uvicorn, the database driver behind Tortoise's connection) on this machine.

It authenticates the bearer token exactly as the app does (SHA-256 of the token, the session's
expiry and idle limit, an active patron, `last_seen_at` touched at most every 5 minutes) and
answers with the same JSON as the GraphQL endpoint, so the runner can check both agree.

Run: `uvicorn bench.baseline:create --factory` with DATABASE_URL set (the runner does this).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
from datetime import date, datetime, timedelta, timezone
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import db
from app.models.enums import MaterialType
from app.settings import Policy, Settings

_TOUCH_EVERY = timedelta(minutes=5)


def _gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


_LOANS = (
    "SELECT l.id, l.due_date, l.renewal_count, t.id AS tid, t.title, t.author, t.material_type, "
    "(SELECT count(*) FROM holds h WHERE h.title_id = l.title_id AND h.status = 'waiting') AS waiting "
    "FROM loans l JOIN titles t ON t.id = l.title_id WHERE l.patron_id = ? AND l.returned_at IS NULL "
    "ORDER BY l.due_date, l.id")
_HOLDS = (
    "SELECT h.id, h.status, h.source, h.placed_at, h.pickup_deadline, t.id AS tid, t.title, t.author, "
    "CASE WHEN h.status = 'waiting' THEN (SELECT count(*) FROM holds w WHERE w.title_id = h.title_id "
    "AND w.status = 'waiting' AND (w.placed_at < h.placed_at OR (w.placed_at = h.placed_at AND w.id <= h.id))) "
    "END AS position "
    "FROM holds h JOIN titles t ON t.id = h.title_id WHERE h.patron_id = ? AND h.status IN ('waiting', 'ready') "
    "ORDER BY h.placed_at, h.id")
_CART = (
    "SELECT c.id, c.added_at, t.id AS tid, t.title, t.author FROM hold_cart_entries c "
    "JOIN titles t ON t.id = c.title_id WHERE c.patron_id = ? ORDER BY c.added_at, c.id")
_EXTRA = (
    "SELECT (SELECT count(*) FROM favorites f WHERE f.patron_id = ?) AS favorites, "
    "g.target, g.period_start, g.period_end FROM (SELECT 1 AS one) x "
    "LEFT JOIN reading_goals g ON g.patron_id = ?")


class MyPage:
    """`batched`: the reads go through `app.db.fetch` started together, as the app's resolvers
    start them (on SQLite: the read-only connections, in one hand-off); else one after the
    other on Tortoise's connection, as the benchmark's baseline always did."""

    def __init__(self, settings: Settings, batched: bool = False) -> None:
        self.batched = batched
        self.settings = settings
        self.policy: Policy = settings.policy
        self.tz = ZoneInfo(settings.timezone)
        self.idle = timedelta(minutes=settings.session_idle_minutes)

    def _sql(self, postgres: bool, text: str) -> str:
        if postgres:
            n = 0
            out = []
            for part in text.split("?"):
                out.append(part)
                n += 1
                out.append(f"${n}")
            return "".join(out[:-1])
        return text

    async def _rows(self, conn: Any, pg: bool, sql: str, *params: Any) -> list[dict]:
        """A read: through `app.db.fetch` when batched, else on Tortoise's connection."""
        if self.batched:
            return await db.fetch(sql, *params)
        return await conn.execute_query_dict(self._sql(pg, sql), list(params))

    async def handle(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return self._unauthenticated()
        conn = db.connection()
        pg = db.is_postgres(conn)
        q = lambda text: self._sql(pg, text)  # noqa: E731
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        session_sql = (
            "SELECT s.id AS sid, s.kind, s.expires_at, s.last_seen_at, p.id, p.card_number, p.name_kana, p.is_active "
            "FROM sessions s JOIN patrons p ON p.id = s.patron_id WHERE s.token_hash = ?")
        rows = await self._rows(conn, pg, session_sql, digest)
        now = datetime.now(timezone.utc)
        if not rows:
            return self._unauthenticated()
        me = rows[0]
        last_seen = _instant(me["last_seen_at"])
        if _instant(me["expires_at"]) <= now or last_seen + self.idle <= now:
            await conn.execute_query(q("DELETE FROM sessions WHERE id = ?"), [me["sid"]])
            return self._unauthenticated()
        if me["kind"] != "patron" or not me["is_active"]:
            return self._unauthenticated()
        if now - last_seen >= _TOUCH_EVERY:
            await conn.execute_query(q("UPDATE sessions SET last_seen_at = ? WHERE id = ?"), [now, me["sid"]])
        today = now.astimezone(self.tz).date()
        pid = me["id"]

        reads = [(_LOANS, pid), (_HOLDS, pid), (_CART, pid), (_EXTRA, pid, pid)]
        if self.batched:  # started together: on SQLite one hand-off to a reader, as the app's
            loans, holds, cart, extra = await asyncio.gather(*(self._rows(conn, pg, *read) for read in reads))
        else:
            loans, holds, cart, extra = [await self._rows(conn, pg, *read) for read in reads]
        extra = extra[0]
        marathon = None
        if extra["target"] is not None:
            start, end = _day(extra["period_start"]), _day(extra["period_end"])
            tallies = await self._rows(
                conn, pg, "SELECT day, count FROM reading_tallies WHERE patron_id = ? AND day >= ? AND day <= ?",
                pid, start, end)
            marathon = self._marathon(extra["target"], start, end, tallies)

        viewer = {
            "id": _gid("Patron", pid),
            "cardNumber": me["card_number"],
            "nameKana": me["name_kana"],
            "loans": self._connection(loans[:50], len(loans), self._loan(today)),
            "holds": self._connection(
                sorted(holds, key=lambda h: h["status"] != "ready")[:20], len(holds), self._hold),
            "holdCart": self._connection(cart[:20], len(cart), lambda c: {
                "id": _gid("HoldCartEntry", c["id"]), "addedAt": _instant(c["added_at"]),
                "title": self._title(c)}),
            "favorites": {"totalCount": extra["favorites"]},
            "readingMarathon": marathon,
        }
        return Response(orjson.dumps({"data": {"viewer": viewer}}), media_type="application/json")

    @staticmethod
    def _unauthenticated() -> Response:
        return Response(orjson.dumps({"data": {"viewer": None}}), media_type="application/json")

    @staticmethod
    def _connection(rows: list[dict], total: int, node) -> dict:
        return {"totalCount": total, "edges": [{"node": node(r)} for r in rows]}

    @staticmethod
    def _title(row: dict) -> dict:
        return {"id": _gid("Title", row["tid"]), "title": row["title"], "author": row["author"]}

    def _loan(self, today: date):
        def node(row: dict) -> dict:
            due = _day(row["due_date"])
            reasons = []
            if MaterialType(row["material_type"]) not in self.policy.web_renewal_materials:
                reasons.append("MATERIAL_NOT_RENEWABLE_ON_WEB")
            if due < today:
                reasons.append("LOAN_OVERDUE")
            if row["renewal_count"] >= self.policy.renewal_limit:
                reasons.append("RENEWAL_LIMIT_REACHED")
            if row["waiting"] > 0:
                reasons.append("RENEWAL_BLOCKED_BY_HOLD")
            return {"id": _gid("Loan", row["id"]), "dueDate": due, "renewalCount": row["renewal_count"],
                    "overdue": due < today, "title": self._title(row),
                    "renewability": {"renewable": not reasons, "reasons": reasons}}
        return node

    def _hold(self, row: dict) -> dict:
        ready = row["status"] == "ready"
        return {
            "id": _gid("Hold", row["id"]), "status": row["status"].upper(),
            "queuePosition": row["position"] if row["status"] == "waiting" else None,
            "placedOn": _instant(row["placed_at"]).astimezone(self.tz).date(),
            "pickupDeadline": _day(row["pickup_deadline"]) if ready and row["pickup_deadline"] else None,
            "cancellable": row["source"] not in ("interlibrary_loan", "purchase_request"),
            "title": self._title(row),
        }

    @staticmethod
    def _marathon(target: int, start: date, end: date, tallies: list[dict]) -> dict:
        by_month: dict[tuple[int, int], int] = {}
        for t in tallies:
            day = _day(t["day"])
            by_month[(day.year, day.month)] = by_month.get((day.year, day.month), 0) + t["count"]
        months = []
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            months.append({"year": year, "month": month, "count": by_month.get((year, month), 0)})
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        count = sum(by_month.values())
        return {"target": target, "count": count, "percent": count * 100 // target, "achieved": count >= target,
                "months": months}


def create() -> Starlette:
    """The uvicorn factory: DATABASE_URL (and the session settings) from the environment."""
    settings = Settings.from_env({**os.environ, "APP_ENV": "development", "SECRET_KEY": "baseline"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init_db(settings.database_url)
        try:
            yield
        finally:
            await db.close_db()

    return Starlette(routes=[Route("/mypage", MyPage(settings).handle, methods=["POST"]),
                             Route("/mypage-batched", MyPage(settings, batched=True).handle, methods=["POST"])],
                     lifespan=lifespan)
