"""Password hashing (argon2id, off the event loop, bounded) and opaque tokens (stored hashed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import anyio
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.settings import Settings


class PasswordHasher:
    """argon2id in a worker thread. A limiter bounds how many hashes run (and how much memory)."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._limiter = anyio.CapacityLimiter(settings.hash_concurrency)
        # Verified when the card is unknown or has no password, so both cost the same time.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if the password matches; with no stored hash, spends the same time and says no."""
        target = stored_hash or self._dummy_hash
        ok = await anyio.to_thread.run_sync(self._check, target, password, limiter=self._limiter)
        return ok and stored_hash is not None

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    """An opaque token with 256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def keyed_digest(secret_key: str, value: str) -> str:
    """HMAC-SHA256 of a value, for keys that must not be stored in clear (addresses, card numbers)."""
    return hmac.new(secret_key.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def keyed_token(secret_key: str, purpose: str, nonce: str) -> str:
    """A URL-safe token derived from a stored nonce with the secret key (256 bits)."""
    digest = hmac.new(secret_key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
