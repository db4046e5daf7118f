"""What a new password may be (新しいパスワード): the library's rule (4–8 half-width
alphanumerics, typed twice), and none of the passwords an attacker tries first.

A 4-character password is the library's rule, so the guesses that matter are the first ones:
the most common passwords (the list that zxcvbn ships, from leaked password sets; every one
that fits the rule is refused, in any case), one character repeated, a run such as 1234 or
dcba, and four or more digits in a row taken from the patron's own birth date, phone number or
card number (what an attacker who knows the patron tries). Each is its own error code and
message, so the patron learns what to avoid. Existing passwords are not judged: a patron logs
in with the password they have and meets these rules when they next set one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date

from app.domain.errors import ErrorCode, Validator

_SHAPE = re.compile(r"[A-Za-z0-9]{4,8}")
_DIGIT_RUNS = re.compile(r"[0-9]{4,}")
# Digits in a row that count as "taken from" a number the patron is known by.
_TAKEN_DIGITS = 4


@dataclass(frozen=True)
class Owner:
    """What is known about the patron whose password it is (what an attacker would try)."""

    card_number: str
    birth_date: date
    phone: str


def has_password_shape(password: str) -> bool:
    """4–8 half-width alphanumerics (the library's rule, also what a login may send)."""
    return _SHAPE.fullmatch(password or "") is not None


def check_new_password(password: str, confirmation: str, v: Validator, owner: Owner | None = None,
                       field: str = "password", confirmation_field: str = "password_confirmation") -> None:
    """The library's rule, typed twice, and not among the first guesses (see the module)."""
    if not has_password_shape(password):
        v.add(ErrorCode.INVALID_PASSWORD, field)
    elif password != confirmation:
        v.add(ErrorCode.PASSWORD_MISMATCH, confirmation_field)
    elif (weakness := weakness_of(password, owner)) is not None:
        v.add(weakness, field)


def weakness_of(password: str, owner: Owner | None = None) -> ErrorCode | None:
    """Why a password of the right shape is among an attacker's first guesses, or None."""
    lowered = password.lower()
    if len(set(lowered)) == 1:
        return ErrorCode.PASSWORD_REPEATED_CHARACTERS
    steps = {ord(b) - ord(a) for a, b in zip(lowered, lowered[1:])}
    if steps in ({1}, {-1}):
        return ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS
    if lowered in common_passwords():
        return ErrorCode.PASSWORD_TOO_COMMON
    if owner is not None:
        for code, digits in (
            (ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE, owner.birth_date.strftime("%Y%m%d")),
            (ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER, owner.phone),
            (ErrorCode.PASSWORD_CONTAINS_CARD_NUMBER, owner.card_number),
        ):
            if _takes_digits_from(password, digits):
                return code
    return None


def _takes_digits_from(password: str, digits: str) -> bool:
    """Whether the password holds `_TAKEN_DIGITS` or more digits in a row found in `digits`."""
    for run in _DIGIT_RUNS.findall(password):
        for start in range(len(run) - _TAKEN_DIGITS + 1):
            if run[start:start + _TAKEN_DIGITS] in digits:
                return True
    return False


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common passwords (lower case) of the library's shape, from zxcvbn's frequency list."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"] if has_password_shape(p))
