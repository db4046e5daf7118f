"""The bearer token of an `Authorization` value (`Bearer <token>`, RFC 6750): the one parser,
for the GraphQL context, the CSRF guard and a socket's `connection_init`."""

from __future__ import annotations


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme in any case), or None for another scheme or an
    empty token."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
