"""E-mail addresses of patrons: registration and change with a confirmation link, removal, and the
address checks that run before anything is sent (メールアドレスの登録・変更・削除, F3 F5 F16).

A new address is only *pending* until the patron opens the link in the confirmation mail and
confirms with a POST. The link carries a token of 256 bits; the database keeps only its SHA-256
(in `OneTimeToken`) and, in the outbox, a nonce from which the token is recomputed with the
SECRET_KEY when the mail is sent. So a copy of the database alone cannot confirm anything.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from tortoise.transactions import in_transaction

from app.domain import consent, events, notices
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Validator
from app.domain.normalize import nfkc
from app.domain.security import keyed_token, token_hash
from app.models import Hold, Notice, OneTimeToken, Patron
from app.models.enums import ACTIVE_HOLD_STATUSES, ConsentKind, EventKind, NoticeKind, NoticeStatus, TokenPurpose
from app.settings import Settings

# Misspellings of the domains most patrons use, seen at library counters. Only exact matches are
# refused: a real domain that merely looks similar (mail.com, hotmail.co.jp) must stay possible.
_DOMAIN_TYPOS: dict[str, str] = {
    **dict.fromkeys(
        ["gmial.com", "gamil.com", "gmali.com", "gmai.com", "gmil.com", "gmaill.com", "gmail.co",
         "gmail.cm", "gmail.om", "gmail.cpm", "gmail.comm", "gmail.co.jp", "gmail.jp", "gmail.ne.jp",
         "gmailcom"],
        "gmail.com"),
    **dict.fromkeys(
        ["yahoo.co.j", "yahoo.co.jpp", "yahoo.cojp", "yahoo.co.pj", "yahoo.co.ip", "yaho.co.jp",
         "yahooo.co.jp", "yhoo.co.jp", "yahoo.ne.jp", "yahoo.jp", "yahoocojp"],
        "yahoo.co.jp"),
    **dict.fromkeys(
        ["docomo.ne.j", "docomo.ne.pj", "docomo.ne.ip", "docomo.ne.jpp", "docomo.co.jp", "docomo.jp",
         "docomo.or.jp", "docomo.nejp", "docono.ne.jp", "docom.ne.jp", "domoco.ne.jp", "docomonejp"],
        "docomo.ne.jp"),
    **dict.fromkeys(
        ["ezweb.ne.j", "ezweb.ne.ip", "ezweb.co.jp", "ezweb.jp", "ezweb.nejp", "ezwed.ne.jp",
         "ezwb.ne.jp", "ezwebnejp"],
        "ezweb.ne.jp"),
    **dict.fromkeys(
        ["softbank.ne.j", "softbank.ne.ip", "softbank.nejp", "sofbank.ne.jp", "softbnak.ne.jp",
         "softbanknejp"],
        "softbank.ne.jp"),
    **dict.fromkeys(["i.softbank.co.jp", "i.softbank.ne.jp", "i.sofbank.jp", "isoftbank.jp"], "i.softbank.jp"),
    **dict.fromkeys(
        ["icloud.co", "icloud.cm", "icloud.om", "icloud.jp", "icloud.co.jp", "icoud.com", "iclod.com",
         "iclould.com", "icluod.com", "icloudcom"],
        "icloud.com"),
    **dict.fromkeys(["hotmai.com", "hotmial.com", "hotmal.com", "hotmail.co", "hotmailcom"], "hotmail.com"),
    **dict.fromkeys(["outlok.com", "outllok.com", "outlook.cm"], "outlook.com"),
}
# Endings that are no real top-level domain a patron uses: ".con" for ".com", "jo" for "jp"
# (the keys sit side by side).
_SUFFIX_TYPOS = ((".con", ".com"), (".cmo", ".com"), (".co.jo", ".co.jp"), (".ne.jo", ".ne.jp"))
# What a Japanese input method types for "." and "-" (NFKC leaves these alone).
_IME_PUNCTUATION = str.maketrans({"。": ".", "、": ".", "ー": "-", "‐": "-", "―": "-"})


# --- the address checks (F16) --------------------------------------------------------------


def check_address(raw: str | None, v: Validator, field: str = "email") -> str:
    """The address ready to store (domain in lower case); each problem has its own code.

    Where the fix is obvious (full-width to half-width, comma to dot, spaces, a misspelt
    domain) the failure carries it as `suggestion` (shown as （もしかして：…）).
    """
    text = (raw or "").strip()
    problem = _problem(text)
    if problem is None:
        return _validated(text)
    code, params = problem
    suggestion = _likely_fix(text)
    if suggestion != text and _problem(suggestion) is None:
        params["suggestion"] = _validated(suggestion)
    v.add(code, field, **params)
    return text


def _problem(text: str) -> tuple[ErrorCode, dict[str, Any]] | None:
    """The first rule the text breaks, in the order a patron would fix them."""
    if not text:
        return ErrorCode.EMAIL_REQUIRED, {}
    if any(ch.isspace() for ch in text):
        return ErrorCode.EMAIL_HAS_SPACE, {}
    if not text.isascii():
        return ErrorCode.EMAIL_FULL_WIDTH, {}
    if "," in text:
        return ErrorCode.EMAIL_COMMA, {}
    if "@" not in text:
        return ErrorCode.EMAIL_MISSING_AT, {}
    local, _, domain = text.rpartition("@")
    if ".." in text:
        return ErrorCode.EMAIL_CONSECUTIVE_DOTS, {}
    if local.endswith("."):
        return ErrorCode.EMAIL_DOT_BEFORE_AT, {}
    if local and domain and "." not in domain:
        return ErrorCode.EMAIL_MISSING_DOMAIN_DOT, {}
    if _domain_fix(domain.lower()) is not None:
        return ErrorCode.EMAIL_DOMAIN_TYPO, {"domain": domain}
    try:
        _validated(text)
    except EmailNotValidError:
        return ErrorCode.EMAIL_INVALID, {}
    return None


def _validated(text: str) -> str:
    # email-validator covers the rest of RFC 5321/5322 (lengths, label syntax, reserved domains);
    # no DNS look-up here: the confirmation mail is the real test of deliverability.
    return validate_email(text, check_deliverability=False, allow_smtputf8=False, strict=True).normalized


def _domain_fix(domain: str) -> str | None:
    if domain in _DOMAIN_TYPOS:
        return _DOMAIN_TYPOS[domain]
    for wrong, right in _SUFFIX_TYPOS:
        if domain.endswith(wrong):
            return domain[: -len(wrong)] + right
    return None


def _likely_fix(text: str) -> str:
    fixed = "".join(nfkc(text).translate(_IME_PUNCTUATION).split()).replace(",", ".")
    local, at, domain = fixed.rpartition("@")
    if not at:
        return fixed
    domain = domain.lower()
    return f"{local}@{_domain_fix(domain) or domain}"


def same_address(a: str | None, b: str | None) -> bool:
    """Two stored addresses name the same mailbox (domains are stored in lower case)."""
    return a is not None and b is not None and a == b


def masked(address: str) -> str:
    """An address shown half-hidden (t***@example.jp), for mails to another mailbox."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


# Anything shaped like an address inside free text (a mail server's reply often quotes one).
_ADDRESS_IN_TEXT = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")


def without_addresses(text: str) -> str:
    """Text with every e-mail address replaced by [address], for logs."""
    return _ADDRESS_IN_TEXT.sub("[address]", text)


# --- confirmation links --------------------------------------------------------------------


def confirmation_url(settings: Settings, nonce: str) -> str:
    """The link in the confirmation mail, recomputed from the outbox nonce and SECRET_KEY."""
    token = keyed_token(settings.secret_key, TokenPurpose.EMAIL_CONFIRMATION.value, nonce)
    return f"{settings.public_base_url}/email/confirm?token={token}"


@dataclass
class Requested:
    """A pending address and when its confirmation link stops working."""

    patron: Patron
    address: str
    expires_at: datetime


@dataclass
class Confirmed:
    """The confirmed address, the patron it now belongs to and the address it replaced."""

    patron: Patron
    address: str
    previous: str | None


@dataclass
class PendingChange:
    """What a confirmation link would do, for the page that asks the patron to confirm it."""

    address: str
    expires_at: datetime


@dataclass
class Removed:
    """The patron without an address, and how many active holds lost their contact."""

    patron: Patron
    holds_without_contact: int


async def request_change(deps: Deps, patron_id: int, new_email: str, *, use_as_contact: bool,
                         update_hold_contacts: bool) -> Requested:
    """Store the address as pending and queue the confirmation mail (the previous link dies)."""
    v = Validator()
    address = check_address(new_email, v, "new_email")
    v.check()
    now = deps.now()
    settings = deps.settings
    async with in_transaction():
        # Taking the patron row first serialises two requests of one patron, so the hourly
        # limit below holds under concurrency.
        await Patron.filter(id=patron_id).update(updated_at=now)
        patron = await Patron.get(id=patron_id)
        if same_address(patron.email, address):
            raise DomainError(ErrorCode.EMAIL_UNCHANGED, "new_email")
        sent_last_hour = await OneTimeToken.filter(
            patron_id=patron_id, purpose=TokenPurpose.EMAIL_CONFIRMATION,
            created_at__gt=now - timedelta(hours=1),
        ).count()
        if sent_last_hour >= settings.email_requests_per_hour:
            raise DomainError(ErrorCode.RATE_LIMITED)
        await _cancel_pending_confirmations(patron_id, now)
        nonce = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=settings.email_token_hours)
        token = await OneTimeToken.create(
            token_hash=token_hash(keyed_token(settings.secret_key, TokenPurpose.EMAIL_CONFIRMATION.value, nonce)),
            purpose=TokenPurpose.EMAIL_CONFIRMATION,
            patron_id=patron_id,
            payload={"email": address, "use_as_contact": use_as_contact,
                     "update_hold_contacts": update_hold_contacts},
            created_at=now,
            expires_at=expires_at,
        )
        await Patron.filter(id=patron_id).update(pending_email=address)
        await notices.enqueue(
            deps, NoticeKind.EMAIL_CONFIRMATION, dedupe_key=f"email_confirmation:{token.id}",
            patron_id=patron_id, to_address=address,
            data={"token_id": token.id, "nonce": nonce, "expires_at": expires_at.isoformat()},
        )
    patron.pending_email = address
    return Requested(patron, address, expires_at)


async def _cancel_pending_confirmations(patron_id: int, now: datetime) -> None:
    """Revoke the patron's open confirmation links and drop their mails not sent yet."""
    await OneTimeToken.filter(
        patron_id=patron_id, purpose=TokenPurpose.EMAIL_CONFIRMATION, used_at=None, revoked_at=None
    ).update(revoked_at=now)
    # A link that no longer works is not worth sending: the patron waits for the newest one.
    await Notice.filter(
        patron_id=patron_id, kind=NoticeKind.EMAIL_CONFIRMATION, status=NoticeStatus.PENDING
    ).delete()


async def pending_address(deps: Deps, patron_id: int) -> PendingChange | None:
    """The address waiting for confirmation and when its link expires; None once it has expired
    (or was used or replaced), so an address is never shown as pending forever."""
    token = await OneTimeToken.filter(
        patron_id=patron_id, purpose=TokenPurpose.EMAIL_CONFIRMATION, used_at=None, revoked_at=None,
        expires_at__gt=deps.now(),
    ).order_by("-created_at").first()
    return PendingChange(address=token.payload["email"], expires_at=token.expires_at) if token else None


def reachable(patron: Patron) -> bool:
    """Notices can reach the patron: a contact address (連絡方法はメールのみ; web holds need it)."""
    return bool(patron.contact_email)


def _usable(token: OneTimeToken | None, now: datetime) -> OneTimeToken:
    """The token if it can still confirm; otherwise the failure the patron sees."""
    if token is None or token.used_at is not None or token.revoked_at is not None:
        raise DomainError(ErrorCode.INVALID_TOKEN, "token")
    if token.expires_at <= now:
        raise DomainError(ErrorCode.TOKEN_EXPIRED, "token")
    return token


async def _find_token(token: str) -> OneTimeToken | None:
    if not token or len(token) > 200:
        return None
    return await OneTimeToken.get_or_none(token_hash=token_hash(token), purpose=TokenPurpose.EMAIL_CONFIRMATION)


async def pending_change(deps: Deps, token: str) -> PendingChange:
    """What the link would confirm, without using it (opening a link must change nothing)."""
    row = _usable(await _find_token(token), deps.now())
    return PendingChange(address=row.payload["email"], expires_at=row.expires_at)


async def confirm(deps: Deps, token: str) -> Confirmed:
    """Confirm a pending address with the token from its link (登録を確定). Single use."""
    now = deps.now()
    async with in_transaction():
        row = _usable(await _find_token(token), now)
        # Conditional update: of two racing confirmations with one link, only one wins.
        if await OneTimeToken.filter(id=row.id, used_at=None, revoked_at=None).update(used_at=now) != 1:
            raise DomainError(ErrorCode.INVALID_TOKEN, "token")
        await Patron.filter(id=row.patron_id).update(updated_at=now)
        patron = await Patron.get(id=row.patron_id)
        address: str = row.payload["email"]
        previous = patron.email
        changes: dict[str, Any] = {"email": address, "pending_email": None}
        # A patron without any contact would otherwise get no notice at all.
        if row.payload.get("use_as_contact") or not patron.contact_email:
            changes["contact_email"] = address
        await Patron.filter(id=patron.id).update(**changes)
        active_holds = Hold.filter(patron_id=patron.id, status__in=ACTIVE_HOLD_STATUSES)
        if row.payload.get("update_hold_contacts"):
            await active_holds.update(contact_email=address)
        else:
            # Holds with no contact at all cannot reach the patron: they take the new address.
            await active_holds.filter(contact_email=None).update(contact_email=address)
        if not same_address(previous or "", address):
            changed = ConsentKind.EMAIL_CHANGED if previous else ConsentKind.EMAIL_REGISTERED
            await consent.record(deps, patron.id, changed)
        await events.publish(deps, patron.id, EventKind.EMAIL_CONFIRMED)
        if previous and not same_address(previous, address):
            await notices.enqueue(
                deps, NoticeKind.EMAIL_CHANGED, dedupe_key=f"email_changed:{row.id}",
                patron_id=patron.id, to_address=previous,
                data={"changed_on": deps.today().isoformat(), "new_address": masked(address)},
            )
        await patron.refresh_from_db()
    return Confirmed(patron, address, previous)


async def remove(deps: Deps, patron_id: int) -> Removed:
    """Delete the patron's address (削除する): no more contact, pending links die."""
    now = deps.now()
    async with in_transaction():
        await Patron.filter(id=patron_id).update(updated_at=now)
        patron = await Patron.get(id=patron_id)
        if not (patron.email or patron.contact_email or patron.pending_email):
            raise DomainError(ErrorCode.NO_EMAIL)
        await _cancel_pending_confirmations(patron_id, now)
        await Patron.filter(id=patron_id).update(email=None, contact_email=None, pending_email=None)
        if patron.email:
            await consent.record(deps, patron_id, ConsentKind.EMAIL_REMOVED)
        # The address is gone everywhere the patron asked us to keep it, holds included.
        active_holds = Hold.filter(patron_id=patron_id, status__in=ACTIVE_HOLD_STATUSES)
        held = await active_holds.count()
        await active_holds.update(contact_email=None)
        await patron.refresh_from_db()
    return Removed(patron, held)
