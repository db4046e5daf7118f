"""Patron and staff accounts: login, password registration (also the forgotten-password path),
password change, counter registration of patrons (ログイン・新規パスワード登録・パスワード変更)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.domain import notices, sessions, throttle
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode, Failure, Validator
from app.domain.normalize import digits_only, is_katakana_name, kana_name
from app.domain.passwords import Owner, check_new_password, has_password_shape
from app.domain.security import new_token, token_hash
from app.models import OneTimeToken, Patron, Staff
from app.models.enums import NoticeKind, StaffRole, TokenPurpose

# Patterns guard input with `fullmatch` (a `$` would let a trailing newline through) and name
# ASCII digits (`\d` also matches ١٢٣ and other scripts' digits).
_CARD_NUMBER = re.compile(r"10[0-9]{7}")
_USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
STAFF_PASSWORD_MIN = 10


@dataclass
class Ticket:
    """A registration ticket (shown once) and when it stops working."""

    token: str
    expires_at: datetime


@dataclass
class LoggedIn:
    """A successful login: the account, the new session token (shown once), and the proof that
    this browser knows the account (`throttle.browser_proof`), for it to keep."""

    token: str
    patron: Patron | None = None
    staff: Staff | None = None
    browser_proof: str | None = None


# --- input rules -------------------------------------------------------------------------


def parse_card_number(raw: str, v: Validator, field: str = "card_number") -> str:
    """9 half-width digits starting with 10 (full-width digits and spaces are forgiven)."""
    card = digits_only(raw or "")
    if not _CARD_NUMBER.fullmatch(card):
        v.add(ErrorCode.INVALID_CARD_NUMBER, field)
    return card


def parse_name_kana(raw: str, v: Validator, field: str = "name_kana") -> str:
    """A name in katakana; hiragana, half-width kana and spaces are accepted and normalised."""
    name = kana_name(raw or "")
    if not name or len(name) > 100 or not is_katakana_name(name):
        v.add(ErrorCode.INVALID_NAME_KANA, field)
    return name


def parse_birth_date(raw: str, today: date, v: Validator, field: str = "birth_date") -> date | None:
    """YYYYMMDD (西暦), a real date, not in the future."""
    text = digits_only(raw or "")
    if not re.fullmatch(r"[0-9]{8}", text):
        v.add(ErrorCode.INVALID_BIRTH_DATE, field)
        return None
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        v.add(ErrorCode.INVALID_BIRTH_DATE, field)
        return None
    if born > today or born.year < 1900:
        v.add(ErrorCode.INVALID_BIRTH_DATE, field)
        return None
    return born


def parse_phone(parts: Sequence[str], v: Validator, field: str = "phone") -> str:
    """A phone number typed in three parts (092-942-1151): digits only, 10 or 11 in all."""
    cleaned = [digits_only(p or "") for p in parts]
    joined = "".join(cleaned)
    if (
        len(cleaned) != 3
        or not all(p.isdigit() and p.isascii() for p in cleaned)
        or not 10 <= len(joined) <= 11
    ):
        v.add(ErrorCode.INVALID_PHONE, field)
    return joined


# --- patrons -----------------------------------------------------------------------------


def _patron_account(card: str) -> str:
    return f"patron:{card}"


def _staff_account(username: str) -> str:
    return f"staff:{username.lower()}"


_Account = TypeVar("_Account", Patron, Staff)


async def _verified(deps: Deps, account: _Account | None, password: str, keys: Sequence[throttle.Key]) -> _Account:
    """The account whose password this is, once the throttle has let the attempt through; the
    throttle then forgets the account's failures. An unknown account is checked against a
    dummy hash: the same answer (INVALID_CREDENTIALS) in the same time."""
    verified = await deps.hasher.verify(account.password_hash if account else None, password)
    if account is None or not verified:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS)
    await throttle.succeeded(deps, *keys)
    return account


def _known_browser(deps: Deps, account: str, proofs: Sequence[str]) -> str:
    """The proof the browser keeps for this account: the one it showed, or a new one."""
    return throttle.recognised_browser(deps, account, proofs) or throttle.browser_proof(deps, account)


async def login(deps: Deps, card_number: str, password: str, address: str,
                browser_proofs: Sequence[str] = ()) -> LoggedIn:
    """Log a patron in with card number and password, behind the throttle (`throttle.keys_for`)."""
    v = Validator()
    card = parse_card_number(card_number, v)
    if not has_password_shape(password):
        v.add(ErrorCode.INVALID_PASSWORD, "password")
    v.check()
    account = _patron_account(card)
    keys = throttle.keys_for(deps, throttle.Scope.LOGIN_CARD, account, throttle.Scope.LOGIN_ADDRESS, address,
                             browser_proofs)
    await throttle.reserve(deps, *keys)
    patron = await _verified(deps, await Patron.get_or_none(card_number=card), password, keys)
    if not patron.is_active:
        raise DomainError(ErrorCode.PATRON_INACTIVE)
    return LoggedIn(token=await sessions.start(deps, patron=patron), patron=patron,
                    browser_proof=_known_browser(deps, account, browser_proofs))


async def verify_identity(deps: Deps, card_number: str, name_kana: str, birth_date: str,
                          phone: Sequence[str], address: str, browser_proofs: Sequence[str] = ()) -> Ticket:
    """Step 1 of password registration: compare with what the counter registered; return a ticket."""
    v = Validator()
    card = parse_card_number(card_number, v)
    name = parse_name_kana(name_kana, v)
    born = parse_birth_date(birth_date, deps.today(), v)
    phone_digits = parse_phone(phone, v)
    v.check()
    keys = throttle.keys_for(deps, throttle.Scope.IDENTITY_CARD, _patron_account(card),
                             throttle.Scope.IDENTITY_ADDRESS, address, browser_proofs)
    await throttle.reserve(deps, *keys)
    patron = await Patron.get_or_none(card_number=card)
    if patron is None or not (
        patron.is_active
        and patron.name_kana == name
        and patron.birth_date == born
        and patron.phone == phone_digits
    ):
        # One answer for every mismatch: never say which field was wrong.
        raise DomainError(ErrorCode.IDENTITY_NOT_VERIFIED)
    await throttle.succeeded(deps, *keys)
    ticket = Ticket(new_token(), deps.now() + timedelta(minutes=deps.settings.registration_ticket_minutes))
    now = deps.now()
    async with in_transaction():
        await OneTimeToken.filter(
            patron_id=patron.id, purpose=TokenPurpose.REGISTRATION, used_at=None, revoked_at=None
        ).update(revoked_at=now)
        await OneTimeToken.create(
            token_hash=token_hash(ticket.token),
            purpose=TokenPurpose.REGISTRATION,
            patron=patron,
            created_at=now,
            expires_at=ticket.expires_at,
        )
    return ticket


async def register_password(deps: Deps, ticket: str, password: str, confirmation: str,
                            browser_proofs: Sequence[str] = ()) -> LoggedIn:
    """Step 2: set the password with a valid ticket. Ends every earlier session of the patron.

    The ticket is checked before the password is hashed: a request that cannot succeed costs a
    SHA-256 and one indexed read, not an argon2 hash.
    """
    v = Validator()
    check_new_password(password, confirmation, v)
    v.check()
    token = await OneTimeToken.get_or_none(
        token_hash=token_hash(ticket or ""), purpose=TokenPurpose.REGISTRATION
    ).select_related("patron")
    if token is None or token.used_at is not None or token.revoked_at is not None or token.expires_at <= deps.now():
        raise DomainError(ErrorCode.INVALID_TICKET, "ticket")
    patron = token.patron
    check_new_password(password, confirmation, v, _owner(patron))
    v.check()
    new_hash = await deps.hasher.hash(password)
    now = deps.now()
    async with in_transaction():
        # Conditional update: of two racing requests with one ticket, only one wins.
        claimed = await OneTimeToken.filter(
            id=token.id, used_at=None, revoked_at=None, expires_at__gt=now,
        ).update(used_at=now)
        if claimed != 1:
            raise DomainError(ErrorCode.INVALID_TICKET, "ticket")
        await Patron.filter(id=patron.id).update(password_hash=new_hash, password_set_at=now, updated_at=now)
        await sessions.end_all_for_patron(patron.id)
        await _tell_password_changed(deps, patron, now)
        patron = await Patron.get(id=patron.id)
        session_token = await sessions.start(deps, patron=patron)
    return LoggedIn(token=session_token, patron=patron,
                    browser_proof=_known_browser(deps, _patron_account(patron.card_number), browser_proofs))


def _owner(patron: Patron) -> Owner:
    return Owner(card_number=patron.card_number, birth_date=patron.birth_date, phone=patron.phone)


async def _tell_password_changed(deps: Deps, patron: Patron, now: datetime) -> None:
    """パスワード変更のお知らせ to the confirmed address, if there is one (in the caller's
    transaction): the patron hears of a change they did not make."""
    if patron.email:
        await notices.enqueue(
            deps, NoticeKind.PASSWORD_CHANGED, dedupe_key=f"password_changed:{patron.id}:{now.isoformat()}",
            patron_id=patron.id, to_address=patron.email, data={"changed_at": now.isoformat()},
        )


async def change_password(deps: Deps, session: sessions.LiveSession, current: str, new: str,
                          confirmation: str, address: str, browser_proofs: Sequence[str] = ()) -> Patron:
    """Change the password (旧・新・再入力). The other sessions of the patron end."""
    patron = session.patron
    if patron is None:
        raise DomainError(ErrorCode.FORBIDDEN)  # a staff session: the password is a patron's
    v = Validator()
    if not current:
        v.add(ErrorCode.INVALID_CREDENTIALS, "current_password")
    if new and new == current:
        v.add(ErrorCode.PASSWORD_UNCHANGED, "new_password")
    else:
        check_new_password(new, confirmation, v, _owner(patron), "new_password", "new_password_confirmation")
    v.check()
    # Guessing the current password in a borrowed session is throttled like a login.
    keys = throttle.keys_for(deps, throttle.Scope.LOGIN_CARD, _patron_account(patron.card_number),
                             throttle.Scope.LOGIN_ADDRESS, address, browser_proofs)
    await throttle.reserve(deps, *keys)
    if not await deps.hasher.verify(patron.password_hash, current):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "current_password")
    await throttle.succeeded(deps, *keys)
    new_hash = await deps.hasher.hash(new)
    now = deps.now()
    async with in_transaction():
        await Patron.filter(id=patron.id).update(password_hash=new_hash, password_set_at=now, updated_at=now)
        await sessions.end_all_for_patron(patron.id, keep_session_id=session.id)
        await _tell_password_changed(deps, patron, now)
    patron.password_hash, patron.password_set_at = new_hash, now
    return patron


async def register_patron(deps: Deps, card_number: str, name_kana: str, birth_date: str,
                          phone: Sequence[str]) -> Patron:
    """Counter registration of a new patron (staff only; identity was checked in person)."""
    v = Validator()
    card = parse_card_number(card_number, v)
    name = parse_name_kana(name_kana, v)
    born = parse_birth_date(birth_date, deps.today(), v)
    phone_digits = parse_phone(phone, v)
    v.check()
    now = deps.now()
    try:
        return await Patron.create(
            card_number=card, name_kana=name, birth_date=born, phone=phone_digits,
            created_at=now, updated_at=now,
        )
    except IntegrityError:
        raise DomainError(ErrorCode.CARD_NUMBER_TAKEN, "card_number") from None


async def find_patron(card_number: str) -> Patron | None:
    """The patron with this card number (typed in any width), or None: the desk's lookup."""
    card = digits_only(card_number or "")
    return await Patron.get_or_none(card_number=card) if _CARD_NUMBER.fullmatch(card) else None


# --- staff -------------------------------------------------------------------------------


async def staff_login(deps: Deps, username: str, password: str, address: str,
                      browser_proofs: Sequence[str] = ()) -> LoggedIn:
    """Log a staff member in; throttled like patrons (per user name, address, known browser)."""
    name = (username or "").strip()
    account = _staff_account(name)
    keys = throttle.keys_for(deps, throttle.Scope.STAFF_USER, account, throttle.Scope.STAFF_ADDRESS, address,
                             browser_proofs)
    await throttle.reserve(deps, *keys)
    staff = await _verified(deps, await Staff.get_or_none(username=name) if _USERNAME.fullmatch(name) else None,
                            password or "", keys)
    if not staff.is_active:
        raise DomainError(ErrorCode.FORBIDDEN)
    return LoggedIn(token=await sessions.start(deps, staff=staff), staff=staff,
                    browser_proof=_known_browser(deps, account, browser_proofs))


def staff_account_blocks(username: str, password: str) -> list[Failure]:
    """Why a staff account cannot be made with this user name (stripped) and password; empty
    when it can. Names: 3–64 of `A–Z a–z 0–9 . _ -`; passwords: at least STAFF_PASSWORD_MIN
    characters (staff reach every patron's record, so more than a patron's 4–8)."""
    blocks = []
    if not _USERNAME.fullmatch(username or ""):
        blocks.append(Failure(ErrorCode.INVALID_USERNAME, ("username",)))
    if len(password or "") < STAFF_PASSWORD_MIN:
        blocks.append(Failure(ErrorCode.WEAK_PASSWORD, ("password",), {"min": STAFF_PASSWORD_MIN}))
    return blocks


async def create_staff(deps: Deps, username: str, password: str, *, role: StaffRole = StaffRole.DESK,
                       display_name: str = "") -> Staff:
    """Create a staff account (from the CLI), by the rules of `staff_account_blocks`."""
    name = (username or "").strip()
    blocks = staff_account_blocks(name, password)
    if blocks:
        raise DomainError(failures=blocks)
    try:
        return await Staff.create(
            username=name, display_name=display_name or name, role=role,
            password_hash=await deps.hasher.hash(password), created_at=deps.now(),
        )
    except IntegrityError:
        raise DomainError(ErrorCode.USERNAME_TAKEN, "username") from None
