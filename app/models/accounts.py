"""Patrons, staff, sessions, one-time tokens and login throttling (利用者・職員・ログイン)."""

from tortoise import fields
from tortoise.models import Model

from app.models.enums import SessionKind, StaffRole, TokenPurpose


class Patron(Model):
    """A registered library user (利用者). Identity fields are what the counter registered."""

    id = fields.IntField(primary_key=True)
    card_number = fields.CharField(max_length=9, unique=True)
    name_kana = fields.CharField(max_length=100)
    birth_date = fields.DateField()
    phone = fields.CharField(max_length=20)
    email = fields.CharField(max_length=254, null=True)
    contact_email = fields.CharField(max_length=254, null=True)
    pending_email = fields.CharField(max_length=254, null=True)
    password_hash = fields.CharField(max_length=255, null=True)
    password_set_at = fields.DatetimeField(null=True)
    notify_due_reminder = fields.BooleanField(default=True)
    reading_history_enabled_at = fields.DatetimeField(null=True)
    # Bumped by every hold placement: the UPDATE takes a row lock (PostgreSQL) or the write
    # lock (SQLite), so concurrent placements for one patron are serialised by the database.
    hold_lock = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "patrons"


class Staff(Model):
    """A staff account for the circulation desk (職員)."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=100, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.DESK)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "staff"


class Session(Model):
    """A server-side login session: only the SHA-256 of its token is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(SessionKind, max_length=16)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="sessions", null=True, on_delete=fields.CASCADE
    )
    staff = fields.ForeignKeyField(
        "models.Staff", related_name="sessions", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    # A summary of the browser (e.g. "Chrome 120 / Windows"), never the raw User-Agent or an address.
    device = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "sessions"


class OneTimeToken(Model):
    """Registration tickets and e-mail confirmation links: hashed, expiring, single-use."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    purpose = fields.CharEnumField(TokenPurpose, max_length=32)
    patron = fields.ForeignKeyField(
        "models.Patron", related_name="tokens", on_delete=fields.CASCADE
    )
    payload = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "one_time_tokens"
        indexes = (("patron_id", "purpose"),)


class AuthThrottle(Model):
    """Failure counter for one throttled key (a card number or a client address, HMAC digest)."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=32)
    key = fields.CharField(max_length=64)
    failures = fields.IntField(default=0)
    window_started_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_throttle"
        unique_together = (("scope", "key"),)


class GuestRate(Model):
    """What one client address (HMAC digest) spent of the guest cost budget this minute."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    # Minutes since the epoch: the counter starts again each minute.
    minute = fields.IntField()
    spent = fields.IntField(default=0)

    class Meta:
        table = "guest_rates"
