"""Retention: what the service forgets, and when (個人情報の保存期間).

Reading records are the patron's secret, so rows that pair a patron with a title are kept only
as long as the patron needs them: cancelled holds stay in 取消済予約一覧 for HOLD_HISTORY_DAYS,
notices in `viewer.notices` for NOTICE_RETENTION_DAYS. Live events (`app.domain.events`) are
kept a day; the rows of sockets whose server process died, once stale. Expired sessions, spent
one-time tokens (export links included) and stale throttle counters are housekeeping. The worker runs `purge` once a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q

from app.domain import live_sockets
from app.domain.deps import Deps
from app.models import AuthThrottle, Event, GuestRate, Hold, Notice, OneTimeToken, Session
from app.models.enums import HoldStatus, NoticeStatus

# A spent or expired one-time token is kept this long (a late click still gets "already used").
_TOKEN_GRACE = timedelta(days=7)
# Events are for the sockets open when they happen; a day covers any reconnection.
EVENT_RETENTION = timedelta(days=1)


@dataclass
class PurgeReport:
    cancelled_holds: int = 0
    notices: int = 0
    sessions: int = 0
    tokens: int = 0
    throttle_rows: int = 0
    events: int = 0
    live_sockets: int = 0


async def purge(deps: Deps) -> PurgeReport:
    """Delete what is past its retention period; safe to run again."""
    now, s = deps.now(), deps.settings
    report = PurgeReport()
    report.cancelled_holds = await Hold.filter(
        status=HoldStatus.CANCELLED, cancelled_at__lt=now - timedelta(days=s.hold_history_days)
    ).delete()
    # Pending notices are never purged: they are still to be delivered.
    report.notices = await Notice.filter(
        status__in=(NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.NO_ADDRESS),
        created_at__lt=now - timedelta(days=s.notice_retention_days),
    ).delete()
    idle = timedelta(minutes=s.session_idle_minutes)
    report.sessions = await Session.filter(Q(expires_at__lte=now) | Q(last_seen_at__lte=now - idle)).delete()
    report.tokens = await OneTimeToken.filter(expires_at__lt=now - _TOKEN_GRACE).delete()
    stale = now - timedelta(minutes=s.throttle_window_minutes + s.throttle_lock_minutes)
    report.throttle_rows = await AuthThrottle.filter(
        Q(window_started_at__lt=stale) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    ).delete()
    # A guest's spending counts for the current minute only.
    report.throttle_rows += await GuestRate.filter(minute__lt=int(now.timestamp()) // 60 - 1).delete()
    report.events = await Event.filter(created_at__lt=now - EVENT_RETENTION).delete()
    report.live_sockets = await live_sockets.purge_stale(deps)
    return report
