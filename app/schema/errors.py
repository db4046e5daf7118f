"""The one error mechanism of every mutation: `errors: [UserError!]!` with an enum code.

Domain code raises `DomainError`; `@handle_user_errors` turns it into the payload's errors,
with field paths in the API's camelCase and the Japanese message from the catalogue.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, TypeVar

import strawberry
from strawberry.utils.str_converters import to_camel_case

from app.domain.errors import DomainError, ErrorCode, Failure
from app.domain.messages import message_for
from app.web.request_log import annotate_list
from app.schema.base import describe_enum_values

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode", description="Why an operation was refused.")
describe_enum_values(ErrorCodeEnum, {
    ErrorCode.PASSWORD_TOO_COMMON: "The new password is one of the most common passwords (an attacker's first guesses).",
    ErrorCode.PASSWORD_REPEATED_CHARACTERS: "The new password is one character repeated (1111, aaaa).",
    ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS: "The new password is a run of characters (1234, abcd, 4321).",
    ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE: "The new password holds 4 or more digits in a row of the patron's birth date.",
    ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER: "The new password holds 4 or more digits in a row of the patron's phone number.",
    ErrorCode.PASSWORD_CONTAINS_CARD_NUMBER: "The new password holds 4 or more digits in a row of the patron's card number.",
})


@strawberry.type(description="An expected failure: shown to the patron, never a bug.")
class UserError:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    field: list[str] | None = strawberry.field(
        default=None, description="Path to the input field concerned, e.g. [\"input\", \"cardNumber\"]."
    )
    message: str = strawberry.field(default="", description="Japanese message for the patron.")

    @classmethod
    def from_failure(cls, failure: Failure, root: str = "input") -> UserError:
        path = [root, *(to_camel_case(p) for p in failure.field)] if failure.field else None
        return cls(code=failure.code, field=path, message=message_for(failure))


@strawberry.type
class Payload:
    """Base of every mutation payload."""

    errors: list[UserError] = strawberry.field(default_factory=list)


P = TypeVar("P", bound=Payload)


def handle_user_errors(payload: type[P]) -> Callable[[Callable[..., Awaitable[P]]], Callable[..., Awaitable[P]]]:
    """Decorate a mutation resolver: a `DomainError` becomes `payload(errors=[...])`."""

    def decorate(resolver: Callable[..., Awaitable[P]]) -> Callable[..., Awaitable[P]]:
        @functools.wraps(resolver)
        async def wrapper(*args: Any, **kwargs: Any) -> P:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                if (info := kwargs.get("info")) is not None:
                    # Codes only (the service's own names): the log line and the metrics count them.
                    annotate_list(info.context.request.state, "user_errors", [f.code.value for f in error.failures])
                return payload(errors=[UserError.from_failure(f) for f in error.failures])

        return wrapper

    return decorate
