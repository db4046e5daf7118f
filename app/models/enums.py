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
