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
from typing import TYPE_CHECKING, Sequence

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app import db
from app.domain.errors import DomainError, ErrorCode
from app.domain.security import keyed_digest, keyed_token, new_token
from app.models import AuthThrottle

if TYPE_CHECKING:
    from app.domain.deps import Deps


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


# The counter of this minute grows by what a process spent since it last wrote, or starts again.
_CHARGE_GUEST = (
    "INSERT INTO guest_rates (key, minute, spent) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET "
    "spent = CASE WHEN guest_rates.minute = excluded.minute THEN guest_rates.spent + excluded.spent "
    "ELSE excluded.spent END, minute = excluded.minute RETURNING spent"
)


class _Spending:
    """One address's minute in one process: the total the database last returned (every
    process's spending, this one's included) and what this process spent since."""

    __slots__ = ("shared", "unwritten", "writing")

    def __init__(self) -> None:
        self.shared = 0
        self.unwritten = 0
        self.writing = False


class GuestLedger:
    """The guests' spending as this process knows it, shared with every other process through
    `guest_rates` a batch at a time.

    A request is decided on what the database last said plus what this process spent since.
    A process writes an address's unwritten spending when it reaches a tenth of the budget (the
    request that brings it there waits for the write and is decided on the total that comes
    back): an address that spends less never costs a write, a busy one a write every tenth of
    the budget, and each process can let through at most a tenth of the budget that the others
    have not seen. Addresses of past minutes are forgotten when a minute begins; beyond
    `MAX_KEPT` addresses in one minute, each of the others' requests writes at once.
    """

    MAX_KEPT = 50_000

    def __init__(self) -> None:
        self._minute: int | None = None
        self._kept: dict[str, _Spending] = {}

    async def charge(self, key: str, minute: int, cost: int, limit: int) -> int:
        """This minute's spending of `key` after adding `cost`, all processes together."""
        if minute != self._minute:
            self._minute, self._kept = minute, {}
        spending = self._kept.get(key)
        if spending is None:
            if len(self._kept) >= self.MAX_KEPT:
                return await _written(key, minute, cost)
            spending = self._kept[key] = _Spending()
        spending.unwritten += cost
        if spending.unwritten * 10 >= limit and not spending.writing:
            amount, spending.unwritten, spending.writing = spending.unwritten, 0, True
            try:
                spending.shared = await _written(key, minute, amount)
            except BaseException:
                spending.unwritten += amount
                raise
            finally:
                spending.writing = False
        return spending.shared + spending.unwritten


async def _written(key: str, minute: int, amount: int) -> int:
    """Add `amount` to the address's counter of `minute`: its total, every process's spending."""
    return (await db.write(_CHARGE_GUEST, key, minute, amount))[0]["spent"]


async def charge_guest(deps: Deps, address: str, cost: int) -> GuestSpending:
    """Add a guest request's cost to its address's spending this minute (GUEST_COST_PER_MINUTE).

    Shared by every server process through the database (`GuestLedger`); the requests of a
    minute that ran over it are refused by the caller until the minute ends.
    """
    now = deps.now().timestamp()
    minute = int(now) // 60
    key = keyed_digest(deps.settings.secret_key, f"guest:{address}")
    limit = deps.settings.guest_cost_per_minute
    spent = await deps.guest_ledger.charge(key, minute, cost, limit)
    return GuestSpending(spent, limit, 60 - int(now) % 60)
