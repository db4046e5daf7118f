"""Typed failures of the domain layer; `app.schema.errors` turns them into `UserError`s."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    """Every expected failure a client may see. Messages live in `app.domain.messages`."""

    # General
    INVALID_INPUT = "INVALID_INPUT"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    # Accounts
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_CARD_NUMBER = "INVALID_CARD_NUMBER"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PASSWORD_MISMATCH = "PASSWORD_MISMATCH"
    PASSWORD_UNCHANGED = "PASSWORD_UNCHANGED"
    INVALID_NAME_KANA = "INVALID_NAME_KANA"
    INVALID_BIRTH_DATE = "INVALID_BIRTH_DATE"
    INVALID_PHONE = "INVALID_PHONE"
    IDENTITY_NOT_VERIFIED = "IDENTITY_NOT_VERIFIED"
    INVALID_TICKET = "INVALID_TICKET"
    CARD_NUMBER_TAKEN = "CARD_NUMBER_TAKEN"
    INVALID_USERNAME = "INVALID_USERNAME"
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"
    PASSWORD_REPEATED_CHARACTERS = "PASSWORD_REPEATED_CHARACTERS"
    PASSWORD_SEQUENTIAL_CHARACTERS = "PASSWORD_SEQUENTIAL_CHARACTERS"
    PASSWORD_CONTAINS_BIRTH_DATE = "PASSWORD_CONTAINS_BIRTH_DATE"
    PASSWORD_CONTAINS_PHONE_NUMBER = "PASSWORD_CONTAINS_PHONE_NUMBER"
    PASSWORD_CONTAINS_CARD_NUMBER = "PASSWORD_CONTAINS_CARD_NUMBER"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    # Circulation
    LOAN_OVERDUE = "LOAN_OVERDUE"
    RENEWAL_LIMIT_REACHED = "RENEWAL_LIMIT_REACHED"
    RENEWAL_BLOCKED_BY_HOLD = "RENEWAL_BLOCKED_BY_HOLD"
    HOLD_LIMIT_REACHED = "HOLD_LIMIT_REACHED"
    TITLE_AVAILABLE_ON_SHELF = "TITLE_AVAILABLE_ON_SHELF"
    TITLE_NOT_OWNED = "TITLE_NOT_OWNED"
    TITLE_REFERENCE_ONLY = "TITLE_REFERENCE_ONLY"
    MATERIAL_NOT_HOLDABLE_ON_WEB = "MATERIAL_NOT_HOLDABLE_ON_WEB"
    MATERIAL_NOT_RENEWABLE_ON_WEB = "MATERIAL_NOT_RENEWABLE_ON_WEB"
    ALREADY_HELD = "ALREADY_HELD"
    ALREADY_ON_LOAN = "ALREADY_ON_LOAN"
    NO_CONTACT_EMAIL = "NO_CONTACT_EMAIL"
    HOLD_NOT_CANCELLABLE = "HOLD_NOT_CANCELLABLE"
    HOLD_CANCEL_AT_COUNTER = "HOLD_CANCEL_AT_COUNTER"
    ALREADY_IN_CART = "ALREADY_IN_CART"
    ITEM_NOT_AVAILABLE = "ITEM_NOT_AVAILABLE"
    ITEM_HELD_FOR_ANOTHER_PATRON = "ITEM_HELD_FOR_ANOTHER_PATRON"
    ITEM_NOT_ON_LOAN = "ITEM_NOT_ON_LOAN"
    PATRON_INACTIVE = "PATRON_INACTIVE"
    # E-mail
    EMAIL_REQUIRED = "EMAIL_REQUIRED"
    EMAIL_FULL_WIDTH = "EMAIL_FULL_WIDTH"
    EMAIL_HAS_SPACE = "EMAIL_HAS_SPACE"
    EMAIL_MISSING_AT = "EMAIL_MISSING_AT"
    EMAIL_COMMA = "EMAIL_COMMA"
    EMAIL_CONSECUTIVE_DOTS = "EMAIL_CONSECUTIVE_DOTS"
    EMAIL_DOT_BEFORE_AT = "EMAIL_DOT_BEFORE_AT"
    EMAIL_MISSING_DOMAIN_DOT = "EMAIL_MISSING_DOMAIN_DOT"
    EMAIL_DOMAIN_TYPO = "EMAIL_DOMAIN_TYPO"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_UNCHANGED = "EMAIL_UNCHANGED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    NO_EMAIL = "NO_EMAIL"
    NOTICE_NOT_RETRYABLE = "NOTICE_NOT_RETRYABLE"
    # The patron's own library
    NAME_REQUIRED = "NAME_REQUIRED"
    NAME_TOO_LONG = "NAME_TOO_LONG"
    NAME_TAKEN = "NAME_TAKEN"
    LIMIT_REACHED = "LIMIT_REACHED"
    INVALID_GOAL = "INVALID_GOAL"
    INVALID_PERIOD = "INVALID_PERIOD"
    # Calendar
    INVALID_TIME = "INVALID_TIME"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    # Privacy
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    # Catalog search (bad requests: GraphQL errors with extensions.code BAD_USER_INPUT)
    KEYWORD_TOO_LONG = "KEYWORD_TOO_LONG"
    KEYWORD_INVALID_CHARACTER = "KEYWORD_INVALID_CHARACTER"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"


@dataclass
class Failure:
    """One failure: a code, the input field it concerns (snake_case path), message params."""

    code: ErrorCode
    field: tuple[str, ...] | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


class DomainError(Exception):
    """An expected failure. The transaction around it rolls back, so nothing changes."""

    def __init__(self, code: ErrorCode | None = None, field: str | tuple[str, ...] | None = None,
                 *, failures: list[Failure] | None = None, **params: Any) -> None:
        if failures is None:
            if code is None:
                raise TypeError("DomainError needs a code or failures")
            path = (field,) if isinstance(field, str) else field
            failures = [Failure(code, path, params)]
        self.failures = failures
        super().__init__(", ".join(f.code.value for f in failures))

    @property
    def code(self) -> ErrorCode:
        return self.failures[0].code


class Validator:
    """Collects several input failures, so the client can mark every wrong field at once."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def add(self, code: ErrorCode, field: str | tuple[str, ...] | None = None, **params: Any) -> None:
        path = (field,) if isinstance(field, str) else field
        self.failures.append(Failure(code, path, params))

    def check(self) -> None:
        """Raise the collected failures, if any."""
        if self.failures:
            raise DomainError(failures=self.failures)
