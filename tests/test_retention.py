"""What the service forgets: cancelled holds and old notices (patron privacy), spent secrets."""

from datetime import timedelta

from app.domain import notices, retention, sessions
from app.models import AuthThrottle, Hold, Notice, OneTimeToken, Session
from app.models.enums import CancelReason, HoldSource, HoldStatus, NoticeKind, NoticeStatus, TokenPurpose
from tests.support import make_patron, make_title


async def _cancelled_hold(deps, patron, title, days_ago: int) -> Hold:
    return await Hold.create(
        patron=patron, title=title, source=HoldSource.WEB, status=HoldStatus.CANCELLED,
        placed_at=deps.now() - timedelta(days=days_ago + 3),
        cancelled_at=deps.now() - timedelta(days=days_ago), cancel_reason=CancelReason.PATRON,
    )


async def test_cancelled_holds_leave_the_list_after_the_history_period(deps, settings):
    patron = await make_patron(deps)
    recent = await _cancelled_hold(deps, patron, await make_title(deps, "こころ"), 10)
    await _cancelled_hold(deps, patron, await make_title(deps, "坊っちゃん"), settings.hold_history_days + 1)
    waiting = await Hold.create(patron=patron, title=await make_title(deps, "雪国", copies=0),
                                source=HoldSource.WEB, status=HoldStatus.WAITING,
                                placed_at=deps.now() - timedelta(days=400))

    report = await retention.purge(deps)

    assert report.cancelled_holds == 1
    assert sorted(await Hold.all().values_list("id", flat=True)) == sorted([recent.id, waiting.id])


async def test_sent_notices_are_forgotten_but_pending_ones_are_kept(deps, clock, settings):
    patron = await make_patron(deps, email="hanako@example.jp")
    for n, status in enumerate((NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.PENDING)):
        await notices.enqueue(deps, NoticeKind.HOLD_RECEIVED, dedupe_key=f"hold_received:{n}", patron_id=patron.id,
                              to_address="hanako@example.jp", data={"hold_id": n})
        await Notice.filter(dedupe_key=f"hold_received:{n}").update(status=status)
    clock.advance(days=settings.notice_retention_days + 1)
    await notices.enqueue(deps, NoticeKind.HOLD_RECEIVED, dedupe_key="hold_received:new", patron_id=patron.id,
                          to_address="hanako@example.jp", data={"hold_id": 9})

    assert (await retention.purge(deps)).notices == 2
    assert sorted(await Notice.all().values_list("dedupe_key", flat=True)) == ["hold_received:2", "hold_received:new"]


async def test_expired_sessions_spent_tokens_and_old_throttle_counters_are_removed(deps, clock, settings):
    patron = await make_patron(deps)
    await sessions.start(deps, patron=patron)
    await OneTimeToken.create(token_hash="x" * 64, purpose=TokenPurpose.REGISTRATION, patron=patron,
                              created_at=deps.now(), expires_at=deps.now() + timedelta(minutes=15))
    await AuthThrottle.create(scope="login_card", key="k" * 64, failures=3, window_started_at=deps.now())
    clock.advance(days=1)
    fresh = await sessions.start(deps, patron=patron)

    report = await retention.purge(deps)
    assert (report.sessions, report.tokens, report.throttle_rows) == (1, 0, 1)
    assert await Session.all().count() == 1 and await sessions.resolve(deps, fresh) is not None
    clock.advance(days=8)
    assert (await retention.purge(deps)).tokens == 1
