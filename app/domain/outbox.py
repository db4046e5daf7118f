"""The outbox as a whole: when a notice or the whole outbox is tried again, and whether the mail
server is down (送信待ちのお知らせ全体の状態).

An outage of the library's mail relay is not a notice's fault. A delivery round that finds the
server down counts no attempt against any notice: it records the outage here, and the whole
outbox waits, the same backoff as a notice's (MAIL_RETRY_SECONDS after the first failed round,
doubling up to MAIL_RETRY_MAX_SECONDS). The first round the server answers again (a message
accepted, or refused for good) ends the outage and the queued notices go out in order.

`status()` is what metrics and health checks read. Each failed round and the end of an outage
are logged as JSON fields (event `mail_server_unreachable`, `mail_server_back`), with no address
in them.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from app.domain.deps import Deps
from app.domain.email_addresses import without_addresses
from app.models import OutboxState
from app.settings import Settings

log = logging.getLogger(__name__)

_NAME = "outbox"
_MAX_ERROR = 500


def retry_delay(settings: Settings, attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: between half and all of base·2^(attempts−1), capped."""
    ceiling = min(settings.mail_retry_max_seconds, settings.mail_retry_seconds * 2 ** (attempts - 1))
    # "Equal jitter": never sooner than half the step, so a struggling server gets its rest,
    # and spread out so notices that failed together do not return together.
    return timedelta(seconds=ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


@dataclass(frozen=True)
class OutboxStatus:
    """Healthy (`down_since` is None), or down since when, and until when delivery waits."""

    down_since: datetime | None = None
    paused_until: datetime | None = None
    failed_rounds: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def waiting(self, now: datetime) -> bool:
        """Whether delivery waits at `now`: the outbox is backing off after a failed round."""
        return self.paused_until is not None and now < self.paused_until


async def status() -> OutboxStatus:
    """The outbox's state now (one indexed read)."""
    row = await OutboxState.get_or_none(name=_NAME)
    if row is None:
        return OutboxStatus()
    return OutboxStatus(row.down_since, row.paused_until, row.failed_rounds, row.last_error, row.last_error_at)


async def record_failed_round(deps: Deps, reason: str, *, put_back: int,
                              rng: random.Random | None = None) -> OutboxStatus:
    """The mail server could not be used this round: the whole outbox waits, longer each time."""
    now = deps.now()
    await OutboxState.bulk_create([OutboxState(name=_NAME)], ignore_conflicts=True)
    before = await status()
    rounds = before.failed_rounds + 1
    after = OutboxStatus(
        down_since=before.down_since or now,
        paused_until=now + retry_delay(deps.settings, rounds, rng),
        failed_rounds=rounds,
        # The server's words may quote an address: the state is read by metrics and logs.
        last_error=without_addresses(reason)[:_MAX_ERROR],
        last_error_at=now,
    )
    await OutboxState.filter(name=_NAME).update(**asdict(after))
    log.warning("mail_server_unreachable", extra={"json_fields": {
        "error": after.last_error,
        "down_since": after.down_since,
        "failed_rounds": rounds,
        "paused_until": after.paused_until,
        "notices_put_back": put_back,
    }})
    return after


async def record_answered_round(deps: Deps, before: OutboxStatus) -> None:
    """The mail server answered this round: the outage, if there was one, is over."""
    if not before.down:
        return
    ended = await OutboxState.filter(name=_NAME, down_since__isnull=False).update(
        down_since=None, paused_until=None, failed_rounds=0
    )
    if ended:
        log.info("mail_server_back", extra={"json_fields": {
            "down_since": before.down_since,
            "down_seconds": round((deps.now() - before.down_since).total_seconds()),  # type: ignore[operator]
            "failed_rounds": before.failed_rounds,
        }})
