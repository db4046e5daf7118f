"""The staff account rules at their boundaries (`library create-staff`): a user name of 3–64
of `A–Z a–z 0–9 . _ -`, and a password of at least 10 characters, longer than a patron's 4–8
because staff reach every patron's record."""

from __future__ import annotations

import pytest

from app.domain.accounts import staff_account_blocks
from app.domain.errors import ErrorCode

GOOD_PASSWORD = "desk-pass-2026"


@pytest.mark.parametrize(("password", "reasons"), [
    ("", [ErrorCode.WEAK_PASSWORD]),
    ("1234567", [ErrorCode.WEAK_PASSWORD]),
    ("a" * 9, [ErrorCode.WEAK_PASSWORD]),  # one short
    ("a" * 10, []),  # the minimum
    ("a" * 64, []),
])
def test_staff_passwords_have_at_least_ten_characters(password, reasons):
    blocks = staff_account_blocks("desk1", password)
    assert [f.code for f in blocks] == reasons
    assert all(f.params == {"min": 10} and f.field == ("password",) for f in blocks)


@pytest.mark.parametrize(("username", "reasons"), [
    ("ab", [ErrorCode.INVALID_USERNAME]),
    ("abc", []),
    ("a" * 64, []),
    ("a" * 65, [ErrorCode.INVALID_USERNAME]),
    ("desk.one_2-b", []),
    ("desk one", [ErrorCode.INVALID_USERNAME]),
    ("職員", [ErrorCode.INVALID_USERNAME]),
    ("", [ErrorCode.INVALID_USERNAME]),
])
def test_staff_user_names(username, reasons):
    assert [f.code for f in staff_account_blocks(username, GOOD_PASSWORD)] == reasons


def test_both_reasons_at_once():
    assert [f.code for f in staff_account_blocks("x", "short")] == [ErrorCode.INVALID_USERNAME,
                                                                    ErrorCode.WEAK_PASSWORD]
