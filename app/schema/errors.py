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
from app.domain.messages import MESSAGES, message_for
from app.web.request_log import annotate_list
from app.schema.base import described_enum

# When each code happens, for the client developer reading the schema; the description of each
# value adds its default message from the catalogue (`app.domain.messages`), so neither is
# written twice.
WHEN: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "A value the schema accepts but the operation cannot use (e.g. an unknown hold "
    "`source`).",
    ErrorCode.NOT_AUTHENTICATED: "The operation needs a logged-in patron or staff member.",
    ErrorCode.FORBIDDEN: "Logged in, but not allowed: a patron calling a staff operation, staff calling a "
    "patron's own, a deactivated staff account.",
    ErrorCode.NOT_FOUND: "The object does not exist or is not yours (never a hint which).",
    ErrorCode.RATE_LIMITED: "Too many failed attempts for this card or address (or from this browser), or too "
    "many confirmation mails in an hour: wait, then try again.",
    ErrorCode.INVALID_CREDENTIALS: "The card number (or staff username) and the password do not match.",
    ErrorCode.INVALID_CARD_NUMBER: "A card number that is not 9 half-width digits beginning with 10.",
    ErrorCode.INVALID_PASSWORD: "A password that is not 4–8 half-width alphanumerics.",
    ErrorCode.WEAK_PASSWORD: "A staff password under 10 characters (`library create-staff`).",
    ErrorCode.PASSWORD_MISMATCH: "The password and its confirmation differ.",
    ErrorCode.PASSWORD_UNCHANGED: "The new password equals the current one.",
    ErrorCode.INVALID_NAME_KANA: "A name that is not in katakana (hiragana and half-width kana are accepted and "
    "converted).",
    ErrorCode.INVALID_BIRTH_DATE: "A birth date that is not a real date written YYYYMMDD (西暦).",
    ErrorCode.INVALID_PHONE: "A phone number that is not three parts of half-width digits.",
    ErrorCode.IDENTITY_NOT_VERIFIED: "The identity check of 新規パスワード登録 failed (it never says which field).",
    ErrorCode.INVALID_TICKET: "The registration ticket of `verifyPatronIdentity` expired or was used.",
    ErrorCode.CARD_NUMBER_TAKEN: "`registerPatron` with a card number already registered.",
    ErrorCode.INVALID_USERNAME: "A staff username that is not 3–64 of A–Z a–z 0–9 . _ - (`library "
    "create-staff`).",
    ErrorCode.USERNAME_TAKEN: "A staff username already in use (`library create-staff`).",
    ErrorCode.PASSWORD_TOO_COMMON: "A new password among the most common passwords (an attacker's first "
    "guesses), in any case.",
    ErrorCode.PASSWORD_REPEATED_CHARACTERS: "A new password of one character repeated (1111, aaaa).",
    ErrorCode.PASSWORD_SEQUENTIAL_CHARACTERS: "A new password that is a run of characters (1234, abcd, 4321).",
    ErrorCode.PASSWORD_CONTAINS_BIRTH_DATE: "A new password holding 4 or more digits in a row of the patron's "
    "birth date (YYYYMMDD).",
    ErrorCode.PASSWORD_CONTAINS_PHONE_NUMBER: "A new password holding 4 or more digits in a row of the patron's "
    "phone number.",
    ErrorCode.PASSWORD_CONTAINS_CARD_NUMBER: "A new password holding 4 or more digits in a row of the patron's "
    "card number.",
    ErrorCode.LOAN_OVERDUE: "Renewing a loan after its due date.",
    ErrorCode.RENEWAL_LIMIT_REACHED: "Renewing a loan already renewed as often as the policy allows (once by "
    "default).",
    ErrorCode.RENEWAL_BLOCKED_BY_HOLD: "Renewing a loan of a title someone is waiting for.",
    ErrorCode.HOLD_LIMIT_REACHED: "A hold beyond the patron's limit of active holds (10 by default), holds of "
    "every source counted.",
    ErrorCode.TITLE_AVAILABLE_ON_SHELF: "A web hold on a title with a copy on the shelf: borrow it in person.",
    ErrorCode.TITLE_NOT_OWNED: "A hold on a title of which the library owns no copy.",
    ErrorCode.TITLE_REFERENCE_ONLY: "A hold on a title whose every copy is for use in the library only (禁帯出).",
    ErrorCode.MATERIAL_NOT_HOLDABLE_ON_WEB: "A web hold on a material type the library does not take on the web "
    "(CD, DVD, 紙芝居 by default); the counter can.",
    ErrorCode.MATERIAL_NOT_RENEWABLE_ON_WEB: "A web renewal of a material type the library renews at the "
    "counter only.",
    ErrorCode.ALREADY_HELD: "A hold on a title the patron already holds.",
    ErrorCode.ALREADY_ON_LOAN: "A hold on a title the patron has on loan.",
    ErrorCode.NO_CONTACT_EMAIL: "A web hold by a patron without a confirmed contact e-mail (予約のご連絡はメールのみ).",
    ErrorCode.HOLD_NOT_CANCELLABLE: "Cancelling a hold that is no longer waiting or ready.",
    ErrorCode.HOLD_CANCEL_AT_COUNTER: "Cancelling, on the web, an interlibrary-loan or purchase-request hold: "
    "those are cancelled at the counter.",
    ErrorCode.ALREADY_IN_CART: "Adding a title that is already in the hold cart.",
    ErrorCode.ITEM_NOT_AVAILABLE: "Checkout of a copy that is not on the shelf or not loanable.",
    ErrorCode.ITEM_HELD_FOR_ANOTHER_PATRON: "Checkout of a copy kept for someone else's hold.",
    ErrorCode.ITEM_NOT_ON_LOAN: "Check-in of a copy that is not on loan, with nobody waiting for it.",
    ErrorCode.PATRON_INACTIVE: "A suspended card (login, checkout, a hold for the patron).",
    ErrorCode.EMAIL_REQUIRED: "An empty e-mail address. (Of the address checks, the first that fails is "
    "reported: REQUIRED, HAS_SPACE, FULL_WIDTH, COMMA, MISSING_AT, CONSECUTIVE_DOTS, DOT_BEFORE_AT, "
    "MISSING_DOMAIN_DOT, DOMAIN_TYPO, INVALID.)",
    ErrorCode.EMAIL_HAS_SPACE: "An e-mail address with a space in it.",
    ErrorCode.EMAIL_FULL_WIDTH: "An e-mail address with a full-width (or other non-ASCII) character.",
    ErrorCode.EMAIL_COMMA: "An e-mail address with a comma, most likely typed for a dot.",
    ErrorCode.EMAIL_MISSING_AT: "An e-mail address without @.",
    ErrorCode.EMAIL_CONSECUTIVE_DOTS: "An e-mail address with two dots in a row, which the library's mail may "
    "not reach.",
    ErrorCode.EMAIL_DOT_BEFORE_AT: "An e-mail address with a dot right before @, which the library's mail may "
    "not reach.",
    ErrorCode.EMAIL_MISSING_DOMAIN_DOT: "An e-mail address whose domain (after @) has no dot.",
    ErrorCode.EMAIL_DOMAIN_TYPO: "An e-mail domain that looks like a slip of a common one (gmial.com): the "
    "message suggests the fix.",
    ErrorCode.EMAIL_INVALID: "An e-mail address that breaks another rule of the address format (lengths, "
    "labels, a reserved domain).",
    ErrorCode.EMAIL_UNCHANGED: "Asking to change the e-mail address to the one already registered.",
    ErrorCode.INVALID_TOKEN: "A confirmation link already used, or replaced by a newer request.",
    ErrorCode.TOKEN_EXPIRED: "A confirmation link past its 24 hours.",
    ErrorCode.NO_EMAIL: "Removing the e-mail address when none is registered.",
    ErrorCode.NOTICE_NOT_RETRYABLE: "Staff retrying a notice that has not failed.",
    ErrorCode.NAME_REQUIRED: "An empty bookshelf name or calendar event title.",
    ErrorCode.NAME_TOO_LONG: "A bookshelf name over 50 characters, or a calendar event title over 200.",
    ErrorCode.NAME_TAKEN: "A bookshelf name the patron already gave another shelf.",
    ErrorCode.LIMIT_REACHED: "Favorites, bookshelves, entries of a shelf or lines of the hold cart at their "
    "limit (the message says which number).",
    ErrorCode.INVALID_GOAL: "A reading goal outside 1–1000 loans.",
    ErrorCode.INVALID_PERIOD: "A reading-goal period that ends before it starts or lasts over 3 years.",
    ErrorCode.INVALID_TIME: "A calendar event time not written HH:MM (24-hour).",
    ErrorCode.TEXT_TOO_LONG: "A calendar day's note or an event's description over its length.",
    ErrorCode.CONFIRMATION_REQUIRED: "`deleteReadingRecords` without 削除する typed in `confirmation`.",
    ErrorCode.KEYWORD_TOO_LONG: "A search keyword over 200 characters (a bad request: `extensions.reason` of a "
    "BAD_USER_INPUT error).",
    ErrorCode.KEYWORD_INVALID_CHARACTER: "A search keyword holding a control character (NUL, escape…) or a lone "
    "surrogate (`extensions.reason` of a BAD_USER_INPUT error).",
    ErrorCode.INVALID_CURSOR: "An `after` cursor that is not one of the list's: malformed, out of range, or of "
    "another list or order (`extensions.reason` of a BAD_USER_INPUT error).",
    ErrorCode.INVALID_PAGE_SIZE: "A negative `first` on a list paged by keyset (`extensions.reason` of a "
    "BAD_USER_INPUT error).",
}


def _described(code: ErrorCode) -> str | None:
    when = WHEN.get(code)
    return f"{when} Default message: 「{MESSAGES[code]}」" if when and code in MESSAGES else None


ErrorCodeEnum = described_enum(
    ErrorCode, "ErrorCode",
    "Why an operation was refused (`UserError.code`). Each value says when it happens and gives its default "
    "message (`UserError.message`), where {…} stands for what is filled in (a number, a name). New codes are "
    "added over time: show the `message` of a code you do not know.",
    {code: text for code in ErrorCode if (text := _described(code))},
)



@strawberry.type(description="An expected failure: shown to the patron, never a bug.")
class UserError:
    code: ErrorCodeEnum = strawberry.field(description="Why, as a code to branch on.")  # type: ignore[valid-type]
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

    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the operation was refused, every reason at once; empty when it "
        "succeeded. A refused operation changes nothing.")


# The one field of inputs of operations that need nothing else (an input object needs a field).
CLIENT_MUTATION_ID = "Accepted and ignored (an input object needs at least one field): leave it out."


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

