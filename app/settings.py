"""Settings read from environment variables, with safe defaults.

Every setting is documented in docs/operations.md ("Configuration"). The code never reads the
environment anywhere else: `Settings.from_env()` is called once by the CLI (or a test builds a
`Settings` directly) and the object is passed down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.clock import Clock, offset_days
from app.models.enums import MaterialType

DEFAULT_DATABASE_URL = "sqlite://data/library.sqlite3"
_DATABASE_SCHEMES = ("sqlite://", "postgres://")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
# Host names a development server answers to besides PUBLIC_BASE_URL's.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class SettingsError(RuntimeError):
    """A setting from the environment that cannot be used; the message names it."""


# 「予約できる資料　…貸出中の図書・雑誌」「現在借りている図書・雑誌の延長」: 絵本 are 図書.
WEB_MATERIALS = (MaterialType.BOOK, MaterialType.MAGAZINE, MaterialType.PICTURE_BOOK)


@dataclass(frozen=True)
class Policy:
    """The library's circulation rules (貸出・予約の規則)."""

    loan_days: int = 14
    renewal_limit: int = 1
    hold_limit: int = 10
    pickup_days: int = 7
    reminder_days_before_due: int = 2
    hold_cart_limit: int = 30
    # What a patron may hold and renew on the web; staff at the counter are not limited by it.
    web_hold_materials: tuple[MaterialType, ...] = WEB_MATERIALS
    web_renewal_materials: tuple[MaterialType, ...] = WEB_MATERIALS


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Tokyo"
    app_env: str = "development"
    policy: Policy = field(default_factory=Policy)
    # Days the clock is moved (LIBRARY_TODAY / --today): development and acceptance tests only.
    clock_offset_days: int = 0

    # Retention of rows that pair a patron with a title (patron privacy)
    hold_history_days: int = 90
    notice_retention_days: int = 90

    # Sessions (ログイン状態)
    session_idle_minutes: int = 60
    session_max_hours: int = 12

    # Throttling of login and identity checks
    throttle_card_failures: int = 5
    throttle_ip_failures: int = 50
    throttle_window_minutes: int = 15
    throttle_lock_minutes: int = 15

    # Password registration ticket (step 1 -> step 2)
    registration_ticket_minutes: int = 15

    # Password hashing (argon2id); the defaults follow OWASP's recommendation
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    hash_concurrency: int = 2

    # E-mail
    library_name: str = "古賀市立図書館"
    mail_from: str = "koga-lib@fromjapan.org"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: int = 30
    email_token_hours: int = 24
    email_requests_per_hour: int = 5
    notices_include_titles: bool = False

    # Delivery of the outbox and the worker's scheduled steps
    mail_batch_size: int = 100
    mail_connections: int = 4
    mail_max_attempts: int = 10
    mail_retry_seconds: int = 60
    mail_retry_max_seconds: int = 3600
    worker_lease_seconds: int = 120
    worker_poll_seconds: int = 5
    daily_jobs_hour: int = 8
    # The catalog and the patron's own library (My本棚)
    new_arrival_days: int = 30
    favorite_limit: int = 500
    bookshelf_limit: int = 20
    bookshelf_entry_limit: int = 500

    # Privacy dashboard: how long a prepared export link works
    privacy_export_minutes: int = 10

    # Live notifications (GraphQL subscriptions over WebSocket, see docs/api.md)
    live_poll_milliseconds: int = 500
    live_connections_per_patron: int = 5
    live_connections_per_address: int = 20
    live_idle_seconds: int = 60
    live_init_seconds: int = 10
    live_max_message_bytes: int = 16384
    live_max_subscriptions: int = 5
    live_session_check_seconds: int = 30

    # Web
    graphiql: bool | None = None
    introspection: bool | None = None
    allowed_origins: tuple[str, ...] = ()
    # SameSite of the session and known-browser cookies: "lax" (default), "strict", or "none" for
    # a SPA served from another site (with ALLOWED_ORIGINS); "none" needs Secure, so HTTPS
    session_cookie_samesite: str = "lax"
    # Host names (the Host header) the app answers to; empty: PUBLIC_BASE_URL's host (and, in
    # development, localhost). Anything else is refused before routing (no redirect to it).
    allowed_hosts: tuple[str, ...] = ()
    max_page_size: int = 100
    # How known documents run: "compiled" (plans, app.schema.compiled), "interpreted"
    # (graphql-core for every request), or "differential" (both, compared; see docs/performance.md)
    graphql_execution: str = "compiled"
    # Trusted documents (app/schema/trusted.py): a directory of the site's own manifests besides
    # the package's, and whether requests must name a registered document
    trusted_documents_dir: str = ""
    trusted_documents_only: bool = False

    # GraphQL abuse limits (see docs/security.md)
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 1000
    max_body_bytes: int = 65536
    # Computed cost of one operation (app/schema/cost.py), and a guest address's per minute
    max_query_cost: int = 2000
    guest_cost_per_minute: int = 20000
    log_level: str = "INFO"
    # Where uvicorn's processes share their metrics (prometheus-client's multiprocess mode);
    # `library serve` sets it. Empty: each process counts for itself (tests, one process).
    metrics_multiprocess_dir: str = ""

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def mail_domain(self) -> str:
        """The domain of MAIL_FROM: what patrons allow (ドメイン指定受信), and Message-IDs' right side."""
        return self.mail_from.rpartition("@")[2].lower()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.production) if self.introspection is None else self.introspection

    @property
    def field_suggestions_enabled(self) -> bool:
        # "Did you mean ...?" reveals field names exactly as introspection does, so it follows it.
        return self.introspection_enabled

    @property
    def cookie_samesite(self) -> str:
        return self.session_cookie_samesite

    @property
    def cookie_secure(self) -> bool:
        """Secure in production, and always with SameSite=None (browsers refuse it otherwise)."""
        return self.production or self.session_cookie_samesite == "none"

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only
        # and Path=/, so a sibling subdomain cannot plant or overwrite it.
        return "__Host-library_session" if self.production else "library_session"

    @property
    def hosts(self) -> list[str]:
        """The Host names the app answers to (see `allowed_hosts`)."""
        hosts = list(self.allowed_hosts)
        if not hosts:
            own = urlsplit(self.public_base_url).hostname
            hosts = [own] if own else []
            if not self.production:
                hosts += [h for h in _LOCAL_HOSTS if h not in hosts]
        return hosts

    @property
    def known_browser_cookie_name(self) -> str:
        # Proofs that this browser has logged in before (app.domain.throttle): same prefix rule.
        return "__Host-library_browser" if self.production else "library_browser"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (docs/operations.md describes each one)."""
        env = os.environ if env is None else env
        app_env = env.get("APP_ENV", "development")
        secret = env.get("SECRET_KEY", "")
        if not secret:
            if app_env == "production":
                raise SettingsError("SECRET_KEY must be set when APP_ENV=production")
            secret = _development_secret()

        clock_offset = 0
        if today := env.get("LIBRARY_TODAY", "").strip():
            if app_env == "production":
                raise SettingsError("LIBRARY_TODAY (--today) moves the library's clock: not allowed when APP_ENV=production")
            tz = ZoneInfo(env.get("LIBRARY_TIMEZONE", cls.timezone))
            try:
                clock_offset = offset_days(today, Clock(tz).today())
            except ValueError as error:
                raise SettingsError(f"LIBRARY_TODAY: {error}") from None

        def _int(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            if not _WHOLE_NUMBER.fullmatch(raw.strip()):
                raise SettingsError(f"{name} must be a whole number, not {raw!r}")
            return int(raw)

        def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
            value = env.get(name, default).strip().lower() or default
            if value not in choices:
                raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
            return value

        def _bool(name: str, default: bool | None) -> bool | None:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            return raw.strip().lower() in {"1", "true", "yes", "on"}

        defaults = cls()
        policy = Policy(
            loan_days=_int("LOAN_DAYS", Policy.loan_days),
            renewal_limit=_int("RENEWAL_LIMIT", Policy.renewal_limit),
            hold_limit=_int("HOLD_LIMIT", Policy.hold_limit),
            pickup_days=_int("PICKUP_DAYS", Policy.pickup_days),
            reminder_days_before_due=_int("REMINDER_DAYS", Policy.reminder_days_before_due),
            hold_cart_limit=_int("HOLD_CART_LIMIT", Policy.hold_cart_limit),
            web_hold_materials=_materials(env, "WEB_HOLD_MATERIALS"),
            web_renewal_materials=_materials(env, "WEB_RENEWAL_MATERIALS"),
        )
        origins = tuple(o.strip().rstrip("/") for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip())
        if "*" in origins:
            # With credentials a wildcard would hand every site the patrons' sessions.
            raise SettingsError("ALLOWED_ORIGINS lists origins (https://host[:port]); '*' is not allowed")
        database_url = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        if not database_url.startswith(_DATABASE_SCHEMES) or database_url in _DATABASE_SCHEMES:
            raise SettingsError("DATABASE_URL must be sqlite://path or postgres://user:password@host:port/database")
        timezone = env.get("LIBRARY_TIMEZONE", defaults.timezone)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"LIBRARY_TIMEZONE is not a time zone: {timezone!r} (e.g. Asia/Tokyo)") from None
        hosts = tuple(h.strip().lower() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip())
        return cls(
            database_url=database_url,
            secret_key=secret,
            public_base_url=env.get("PUBLIC_BASE_URL", defaults.public_base_url).rstrip("/"),
            timezone=timezone,
            app_env=app_env,
            policy=policy,
            clock_offset_days=clock_offset,
            hold_history_days=_int("HOLD_HISTORY_DAYS", defaults.hold_history_days),
            notice_retention_days=_int("NOTICE_RETENTION_DAYS", defaults.notice_retention_days),
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", defaults.session_idle_minutes),
            session_max_hours=_int("SESSION_MAX_HOURS", defaults.session_max_hours),
            throttle_card_failures=_int("THROTTLE_CARD_FAILURES", defaults.throttle_card_failures),
            throttle_ip_failures=_int("THROTTLE_IP_FAILURES", defaults.throttle_ip_failures),
            throttle_window_minutes=_int("THROTTLE_WINDOW_MINUTES", defaults.throttle_window_minutes),
            throttle_lock_minutes=_int("THROTTLE_LOCK_MINUTES", defaults.throttle_lock_minutes),
            registration_ticket_minutes=_int(
                "REGISTRATION_TICKET_MINUTES", defaults.registration_ticket_minutes
            ),
            argon2_time_cost=_int("ARGON2_TIME_COST", defaults.argon2_time_cost),
            argon2_memory_kib=_int("ARGON2_MEMORY_KIB", defaults.argon2_memory_kib),
            argon2_parallelism=_int("ARGON2_PARALLELISM", defaults.argon2_parallelism),
            hash_concurrency=_int("HASH_CONCURRENCY", defaults.hash_concurrency),
            library_name=env.get("LIBRARY_NAME", defaults.library_name),
            mail_from=env.get("MAIL_FROM", defaults.mail_from),
            smtp_host=env.get("SMTP_HOST", defaults.smtp_host),
            smtp_port=_int("SMTP_PORT", defaults.smtp_port),
            smtp_starttls=bool(_bool("SMTP_STARTTLS", defaults.smtp_starttls)),
            smtp_tls=bool(_bool("SMTP_TLS", defaults.smtp_tls)),
            smtp_username=env.get("SMTP_USERNAME", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_timeout_seconds=_int("SMTP_TIMEOUT_SECONDS", defaults.smtp_timeout_seconds),
            email_token_hours=_int("EMAIL_TOKEN_HOURS", defaults.email_token_hours),
            email_requests_per_hour=_int("EMAIL_REQUESTS_PER_HOUR", defaults.email_requests_per_hour),
            notices_include_titles=bool(
                _bool("NOTICES_INCLUDE_TITLES", defaults.notices_include_titles)
            ),
            mail_batch_size=_int("MAIL_BATCH_SIZE", defaults.mail_batch_size),
            mail_connections=_int("MAIL_CONNECTIONS", defaults.mail_connections),
            mail_max_attempts=_int("MAIL_MAX_ATTEMPTS", defaults.mail_max_attempts),
            mail_retry_seconds=_int("MAIL_RETRY_SECONDS", defaults.mail_retry_seconds),
            mail_retry_max_seconds=_int("MAIL_RETRY_MAX_SECONDS", defaults.mail_retry_max_seconds),
            worker_lease_seconds=_int("WORKER_LEASE_SECONDS", defaults.worker_lease_seconds),
            worker_poll_seconds=_int("WORKER_POLL_SECONDS", defaults.worker_poll_seconds),
            daily_jobs_hour=_int("DAILY_JOBS_HOUR", defaults.daily_jobs_hour),
            new_arrival_days=_int("NEW_ARRIVAL_DAYS", defaults.new_arrival_days),
            favorite_limit=_int("FAVORITE_LIMIT", defaults.favorite_limit),
            bookshelf_limit=_int("BOOKSHELF_LIMIT", defaults.bookshelf_limit),
            bookshelf_entry_limit=_int("BOOKSHELF_ENTRY_LIMIT", defaults.bookshelf_entry_limit),
            privacy_export_minutes=_int("PRIVACY_EXPORT_MINUTES", defaults.privacy_export_minutes),
            live_poll_milliseconds=_int("LIVE_POLL_MILLISECONDS", defaults.live_poll_milliseconds),
            live_connections_per_patron=_int("LIVE_CONNECTIONS_PER_PATRON", defaults.live_connections_per_patron),
            live_connections_per_address=_int("LIVE_CONNECTIONS_PER_ADDRESS", defaults.live_connections_per_address),
            live_idle_seconds=_int("LIVE_IDLE_SECONDS", defaults.live_idle_seconds),
            live_init_seconds=_int("LIVE_INIT_SECONDS", defaults.live_init_seconds),
            live_max_message_bytes=_int("LIVE_MAX_MESSAGE_BYTES", defaults.live_max_message_bytes),
            live_max_subscriptions=_int("LIVE_MAX_SUBSCRIPTIONS", defaults.live_max_subscriptions),
            live_session_check_seconds=_int("LIVE_SESSION_CHECK_SECONDS", defaults.live_session_check_seconds),
            graphiql=_bool("GRAPHIQL", None),
            introspection=_bool("INTROSPECTION", None),
            allowed_origins=origins,
            allowed_hosts=hosts,
            max_page_size=_int("MAX_PAGE_SIZE", defaults.max_page_size),
            graphql_execution=_choice("GRAPHQL_EXECUTION", ("compiled", "interpreted", "differential"),
                                      defaults.graphql_execution),
            trusted_documents_dir=env.get("TRUSTED_DOCUMENTS_DIR", ""),
            session_cookie_samesite=_choice("SESSION_COOKIE_SAMESITE", ("lax", "strict", "none"),
                                            defaults.session_cookie_samesite),
            trusted_documents_only=bool(_bool("TRUSTED_DOCUMENTS_ONLY", False)),
            max_query_depth=_int("MAX_QUERY_DEPTH", defaults.max_query_depth),
            max_aliases=_int("MAX_ALIASES", defaults.max_aliases),
            max_tokens=_int("MAX_TOKENS", defaults.max_tokens),
            max_body_bytes=_int("MAX_BODY_BYTES", defaults.max_body_bytes),
            max_query_cost=_int("MAX_QUERY_COST", defaults.max_query_cost),
            guest_cost_per_minute=_int("GUEST_COST_PER_MINUTE", defaults.guest_cost_per_minute),
            log_level=env.get("LOG_LEVEL", defaults.log_level).upper(),
            metrics_multiprocess_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
        )


def _materials(env: Mapping[str, str], name: str) -> tuple[MaterialType, ...]:
    """A comma-separated list of material types (book, magazine, picture_book, kamishibai, cd,
    dvd, other); the guide's 図書・雑誌 when unset."""
    raw = env.get(name)
    if raw is None:
        return WEB_MATERIALS
    try:
        return tuple(MaterialType(v.strip()) for v in raw.split(",") if v.strip())
    except ValueError:
        known = ", ".join(m.value for m in MaterialType)
        raise SettingsError(f"{name} lists material types ({known}); got {raw!r}") from None


def _development_secret(path: Path = Path("data/.secret_key")) -> str:
    """A per-checkout secret kept in ./data so development sessions survive restarts.

    Server processes starting together (uvicorn --workers) must agree on it, or a token made by
    one would not verify in another: the file is written aside and linked into place, which
    fails if it exists, so the first process wins and the others read its secret.
    """
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, spare = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(spare, path)
    finally:
        os.unlink(spare)
    return path.read_text().strip()
