"""Throttling of password and identity guesses, and the guests' per-address budget of query
cost (`charge_guest`).

Every attempt is counted *before* the password is checked, inside a transaction that locks
the counter row, so a burst of parallel guesses cannot slip past the limit. A success forgets
the account's counter and gives back the address's attempt. Lockouts end by time alone.
Keys are stored as HMAC digests: the table never holds card numbers or IP addresses.

Which counters an attempt is charged to (`keys_for`):
- a **known browser**, one that has logged in to this account before and kept the proof it
  was given then (`browser_proof`, an HMAC in a long-lived cookie), has a counter of its own
  for that account, with the per-card limit;
- **any other client** is counted per account (card number or staff user name) and per
  client address, as before.
So an attacker, who has no proof, is exactly as slow as before (THROTTLE_CARD_FAILURES per
card per window, from any number of addresses; THROTTLE_IP_FAILURES per address), while the
lockout he causes stops only clients like him: the patron's own phone or PC, and the desk's
PCs, still get in with the right password (see docs/security.md).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Sequence

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app import db
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.domain.security import keyed_digest, keyed_token, new_token
from app.models import AuthThrottle


class Scope(str, Enum):
    LOGIN_CARD = "login_card"
    LOGIN_ADDRESS = "login_address"
    IDENTITY_CARD = "identity_card"
    IDENTITY_ADDRESS = "identity_address"
    STAFF_USER = "staff_user"
    STAFF_ADDRESS = "staff_address"
    KNOWN_BROWSER = "known_browser"


_PER_ADDRESS = {Scope.LOGIN_ADDRESS, Scope.IDENTITY_ADDRESS, Scope.STAFF_ADDRESS}


@dataclass(frozen=True)
class Key:
    scope: Scope
    value: str


_PROOF_PURPOSE = "known-browser"


def browser_proof(deps: Deps, account: str) -> str:
    """A proof, for a browser that just logged in to `account` ("patron:<card>",
    "staff:<user>"), that it has: `<nonce>.<mac>`, kept by the browser in a cookie."""
    nonce = new_token()[:16]
    return f"{nonce}.{keyed_token(deps.settings.secret_key, _PROOF_PURPOSE, f'{account}:{nonce}')}"


def recognised_browser(deps: Deps, account: str, proofs: Sequence[str]) -> str | None:
    """The proof among those a browser holds that it logged in to `account` before, or None."""
    for proof in proofs:
        nonce, _, mac = proof.partition(".")
        if nonce and hmac.compare_digest(
                mac, keyed_token(deps.settings.secret_key, _PROOF_PURPOSE, f"{account}:{nonce}")):
            return proof
    return None


def keys_for(deps: Deps, account_scope: Scope, account: str, address_scope: Scope, address: str,
             proofs: Sequence[str] = ()) -> tuple[Key, ...]:
    """The counters an attempt on `account` is charged to: a known browser's own, or the
    account's and the address's (see the module)."""
    proof = recognised_browser(deps, account, proofs)
    if proof is not None:
        return (Key(Scope.KNOWN_BROWSER, f"{account_scope.value}:{account}:{proof.partition('.')[0]}"),)
    return (Key(account_scope, account), Key(address_scope, address))


def _limit(deps: Deps, scope: Scope) -> int:
    s = deps.settings
    return s.throttle_ip_failures if scope in _PER_ADDRESS else s.throttle_card_failures


def _digest(deps: Deps, key: Key) -> str:
    return keyed_digest(deps.settings.secret_key, f"{key.scope.value}:{key.value}")


async def reserve(deps: Deps, *keys: Key) -> None:
    """Count one attempt on every key, or raise RATE_LIMITED (counting nothing) if one is locked."""
    now = deps.now()
    window = timedelta(minutes=deps.settings.throttle_window_minutes)
    lock = timedelta(minutes=deps.settings.throttle_lock_minutes)
    for key in keys:
        await _ensure_row(deps, key)
    async with in_transaction():
        rows = []
        for key in keys:
            row = await AuthThrottle.select_for_update().get(scope=key.scope.value, key=_digest(deps, key))
            if row.locked_until is not None and row.locked_until > now:
                raise DomainError(ErrorCode.RATE_LIMITED)
            rows.append((key, row))
        for key, row in rows:
            if row.window_started_at <= now - window:
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= _limit(deps, key.scope):
                row.locked_until = now + lock
            await row.save(update_fields=["failures", "window_started_at", "locked_until"])


async def succeeded(deps: Deps, *keys: Key) -> None:
    """After a correct answer: forget a card's failures, give back an address's attempt."""
    async with in_transaction():
        for key in keys:
            digest = _digest(deps, key)
            if key.scope in _PER_ADDRESS:
                row = await AuthThrottle.select_for_update().get_or_none(scope=key.scope.value, key=digest)
                if row is not None and row.failures > 0:
                    row.failures -= 1
                    if row.failures < _limit(deps, key.scope):
                        row.locked_until = None
                    await row.save(update_fields=["failures", "locked_until"])
            else:
                await AuthThrottle.filter(scope=key.scope.value, key=digest).delete()


async def _ensure_row(deps: Deps, key: Key) -> None:
    digest = _digest(deps, key)
    if await AuthThrottle.exists(scope=key.scope.value, key=digest):
        return
    try:
        await AuthThrottle.create(
            scope=key.scope.value, key=digest, failures=0, window_started_at=deps.now()
        )
    except IntegrityError:
        pass  # created by a concurrent attempt: fine


@dataclass(frozen=True)
class GuestSpending:
    """What an address has spent of the guests' budget this minute, and when the minute ends."""

    spent: int
    limit: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.spent > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)


# One statement per guest request: the counter of this minute grows, or starts again.
_CHARGE_GUEST = (
    "INSERT INTO guest_rates (key, minute, spent) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET "
    "spent = CASE WHEN guest_rates.minute = excluded.minute THEN guest_rates.spent + excluded.spent "
    "ELSE excluded.spent END, minute = excluded.minute RETURNING spent"
)


async def charge_guest(deps: Deps, address: str, cost: int) -> GuestSpending:
    """Add a guest request's cost to its address's spending this minute (GUEST_COST_PER_MINUTE).

    Counted in the database, so every server process shares one budget per address; the
    requests of a minute that ran over it are refused by the caller until the minute ends.
    """
    now = deps.now()
    minute = int(now.timestamp()) // 60
    key = keyed_digest(deps.settings.secret_key, f"guest:{address}")
    rows = await db.write(_CHARGE_GUEST, key, minute, cost)
    reset = 60 - int(now.timestamp()) % 60
    return GuestSpending(rows[0]["spent"], deps.settings.guest_cost_per_minute, reset)
