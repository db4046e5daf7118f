"""Stored enumerations shared by models, domain and schema (values are what the database holds)."""

from enum import Enum


class StaffRole(str, Enum):
    DESK = "desk"
    ADMIN = "admin"


class SessionKind(str, Enum):
    PATRON = "patron"
    STAFF = "staff"


class TokenPurpose(str, Enum):
    REGISTRATION = "registration"
    EMAIL_CONFIRMATION = "email_confirmation"
    PRIVACY_EXPORT = "privacy_export"


class MaterialType(str, Enum):
    BOOK = "book"
    MAGAZINE = "magazine"
    PICTURE_BOOK = "picture_book"
    KAMISHIBAI = "kamishibai"
    CD = "cd"
    DVD = "dvd"
    OTHER = "other"


class ItemStatus(str, Enum):
    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    ON_HOLD_SHELF = "on_hold_shelf"
    IN_TRANSIT = "in_transit"
    MISSING = "missing"
    WITHDRAWN = "withdrawn"


class HoldSource(str, Enum):
    WEB = "web"
    COUNTER = "counter"
    INTERLIBRARY_LOAN = "interlibrary_loan"
    PURCHASE_REQUEST = "purchase_request"


class HoldStatus(str, Enum):
    WAITING = "waiting"
    READY = "ready"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


ACTIVE_HOLD_STATUSES = (HoldStatus.WAITING, HoldStatus.READY)


class CancelReason(str, Enum):
    PATRON = "patron"
    STAFF = "staff"
    EXPIRED = "expired"


class NoticeKind(str, Enum):
    HOLD_RECEIVED = "hold_received"
    HOLD_READY = "hold_ready"
    DUE_REMINDER = "due_reminder"
    EMAIL_CONFIRMATION = "email_confirmation"
    EMAIL_CHANGED = "email_changed"
    PASSWORD_CHANGED = "password_changed"


class NoticeStatus(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    NO_ADDRESS = "no_address"


class EventKind(str, Enum):
    """What happened to a patron, told live to their open apps (GraphQL subscriptions)."""

    HOLD_READY = "hold_ready"
    HOLD_EXPIRED = "hold_expired"
    HOLD_CANCELLED = "hold_cancelled"
    LOAN_DUE_SOON = "loan_due_soon"
    EMAIL_CONFIRMED = "email_confirmed"
    # Written by a PostgreSQL trigger whenever a session row is deleted: its sockets close.
    SESSION_ENDED = "session_ended"


class ConsentKind(str, Enum):
    """An entry of the consent ledger: a choice the patron made about their data, and when."""

    LOAN_HISTORY_ON = "loan_history_on"
    LOAN_HISTORY_OFF = "loan_history_off"
    DUE_REMINDER_ON = "due_reminder_on"
    DUE_REMINDER_OFF = "due_reminder_off"
    EMAIL_REGISTERED = "email_registered"
    EMAIL_CHANGED = "email_changed"
    EMAIL_REMOVED = "email_removed"
    READING_RECORDS_DELETED = "reading_records_deleted"
