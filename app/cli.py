"""The `library` command: serve, migrate, demo, create-staff, expire-holds (and the jobs of later issues)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import getpass
import logging
import logging.config
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Awaitable, Callable, Iterator

from rich.console import Console
from rich.markup import escape

from app import db
from app.domain.deps import Deps
from app.domain.errors import DomainError
from app.domain.messages import message_for
from app.models.enums import StaffRole
from app.settings import Settings, SettingsError

console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("library.cli")

# Exit codes a cron job or a systemd unit can act on (sysexits.h), besides 0 and 1.
EXIT_UNREACHABLE = 75  # EX_TEMPFAIL: the mail server could not be used; the notices wait, try later
EXIT_SETTINGS = 78  # EX_CONFIG: settings that cannot work; nothing was started
EXIT_DATABASE = 69  # EX_UNAVAILABLE: the database cannot be reached or refused us; nothing was started


def _run(settings: Settings, job: Callable[[Deps], Awaitable[int]]) -> int:
    """Open the ORM, run one async job with fresh deps, close the ORM."""

    async def main() -> int:
        await db.init_db(settings.database_url)
        try:
            return await job(Deps.build(settings))
        except DomainError as error:
            for failure in error.failures:
                console.print(f"[red]{failure.code.value}[/red] {message_for(failure)}")
            return 1
        finally:
            await db.close_db()

    return asyncio.run(main())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    console.print(f"GraphQL at http://{args.host}:{args.port}/graphql"
                  + (" (GraphiQL on)" if settings.graphiql_enabled else ""))
    from app.web.request_log import logging_config

    # Our JSON request line replaces uvicorn's access log, which prints query strings (and so
    # the tokens of e-mail confirmation links).
    # No `server: uvicorn` banner: what runs behind the proxy is nobody else's business.
    with _metrics_directory():
        uvicorn.run(
            "app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
            proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
            log_config=logging_config(settings), access_log=False, server_header=False,
            # Subscriptions' sockets: uvicorn refuses a larger message (1009) before buffering it.
            ws="websockets-sansio", ws_max_size=settings.live_max_message_bytes,
        )
    return 0


@contextlib.contextmanager
def _metrics_directory() -> Iterator[None]:
    """Give uvicorn's processes one directory to share their metrics in (prometheus-client's
    multiprocess mode), empty at start: an operator's PROMETHEUS_MULTIPROC_DIR, or a private one
    removed on exit. Set before any process imports prometheus_client, which reads it then."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="library-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # uvicorn hands SIGTERM back to the process once it has shut down; end by SystemExit then,
    # so that the directory is removed (the signal's default action would skip it).
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not given:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            shutil.rmtree(path, ignore_errors=True)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(db.migrate(settings.database_url))
    console.print(f"[green]Database is up to date[/green] ({_safe_url(settings.database_url)})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo import DEMO_PATRONS, DEMO_STAFF, load_demo

    if args.reset and settings.production:
        console.print("[red]--reset deletes every row: not allowed when APP_ENV=production.[/red]")
        return 2
    asyncio.run(db.migrate(settings.database_url))

    async def job(deps: Deps) -> int:
        if args.reset:
            await db.empty_tables()
            console.print(f"Emptied {_safe_url(settings.database_url)}")
        if await load_demo(deps, titles=args.titles):
            console.print(f"[green]Demo data loaded[/green] into {_safe_url(settings.database_url)}")
        else:
            console.print("The catalog already has titles: demo data left as it is "
                          "(`library demo --reset` starts over).")
        for p in DEMO_PATRONS:
            console.print(f"  patron {p.card_number}  password {p.password or '(none yet)'}  {p.note}")
        for username, password, role in DEMO_STAFF:
            console.print(f"  staff  {username}  password {password}  ({role.value})")
        return 0

    return _run(settings, job)


def cmd_create_staff(args: argparse.Namespace, settings: Settings) -> int:
    from app.domain import accounts

    password = args.password
    if password is None:
        password = getpass.getpass("Password (10 characters or more): ")
        if getpass.getpass("Password again: ") != password:
            console.print("[red]The two passwords differ.[/red]")
            return 1

    async def job(deps: Deps) -> int:
        staff = await accounts.create_staff(
            deps, args.username, password, role=StaffRole(args.role), display_name=args.display_name or ""
        )
        console.print(f"[green]Created staff account[/green] {staff.username} ({staff.role.value})")
        return 0

    return _run(settings, job)


def cmd_expire_holds(args: argparse.Namespace, settings: Settings) -> int:
    from app.domain.circulation import expire_holds

    async def job(deps: Deps) -> int:
        report = await expire_holds(deps)
        console.print(f"Expired {report.expired} uncollected hold(s): {report.moved_on} copy(ies) kept for the "
                      f"next in line, {report.shelved} back to the shelf")
        return 0

    return _run(settings, job)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from app.worker import ImpossibleSettings, Worker, WorkerAlreadyRunning

    _log_as_json(settings)

    async def job(deps: Deps) -> int:
        worker = Worker(deps)
        try:
            await worker.start()
        except ImpossibleSettings as error:
            console.print(f"[red]Not started:[/red] {escape(str(error))}")
            return EXIT_SETTINGS
        except WorkerAlreadyRunning as error:
            console.print(f"[red]Not started:[/red] {error}")
            return 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(f"Worker {worker.holder} delivering mail through "
                      f"{settings.smtp_host}:{settings.smtp_port}; Ctrl-C to stop")
        try:
            await worker.run(stop)
        except WorkerAlreadyRunning as error:
            console.print(f"[red]Stopped:[/red] {error}")
            return 1
        finally:
            await worker.stop()
        console.print("Worker stopped.")
        return 0

    return _run(settings, job)


def cmd_send_mail(args: argparse.Namespace, settings: Settings) -> int:
    from app.domain import mailer
    from app.worker import ImpossibleSettings, Worker, WorkerAlreadyRunning

    _log_as_json(settings)

    async def job(deps: Deps) -> int:
        # No daily steps: only the outbox. On SQLite it still takes the worker lease.
        worker = Worker(deps, steps=[])
        try:
            await worker.start()
        except ImpossibleSettings as error:
            console.print(f"[red]Not run:[/red] {escape(str(error))}")
            return EXIT_SETTINGS
        except WorkerAlreadyRunning as error:
            console.print(f"[red]Not run:[/red] {error} (a running worker delivers the outbox already)")
            return 1
        try:
            report = await mailer.deliver_all(deps, holder=worker.holder, try_now=args.now)
        finally:
            await worker.stop()
        summary = f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}"
        if report.outage is None:
            console.print(summary)
            return 0
        until = f"{deps.clock.local(report.retry_at):%Y-%m-%d %H:%M:%S %Z}" if report.retry_at else "later"
        console.print(f"{summary}; [red]mail server unreachable[/red] ({escape(report.outage)}), "
                      f"the outbox waits until {until}")
        return EXIT_UNREACHABLE

    return _run(settings, job)


def cmd_mail_sink(args: argparse.Namespace, settings: Settings) -> int:
    from app import mail_sink

    try:
        import aiosmtpd  # noqa: F401
    except ImportError:  # pragma: no cover - aiosmtpd is in the test extra
        console.print("[red]The mail sink needs aiosmtpd:[/red] pip install -e '.[test]'")
        return 2
    mail_sink.run(args.host, args.port, Console(soft_wrap=True))
    return 0


def cmd_trust_documents(args: argparse.Namespace, settings: Settings) -> int:
    from app.schema import build_schema
    from app.schema.trusted import ManifestError, client_manifest, write_manifest

    directory = Path(args.dir or settings.trusted_documents_dir or "trusted-documents")
    try:
        documents = client_manifest(Path(args.manifest))
        path = write_manifest(directory, args.client, documents, settings, build_schema(settings))
    except (ManifestError, OSError, ValueError) as error:
        console.print(f"[red]Not registered:[/red] {escape(str(error))}")
        return 1
    console.print(f"{len(documents)} documents of {escape(args.client)} registered in {escape(str(path))}")
    from app.schema.trusted import directories

    if directory.resolve() not in [d.resolve() for d in directories(settings)]:
        console.print(f"[yellow]Set TRUSTED_DOCUMENTS_DIR={escape(str(directory))} for the server to load them.[/yellow]")
    return 0


def _log_as_json(settings: Settings) -> None:
    """The worker's log: JSON lines on stdout, as `serve` writes them."""
    from app.web.request_log import logging_config

    logging.config.dictConfig(logging_config(settings))


def cmd_import_catalog(args: argparse.Namespace, settings: Settings) -> int:
    """library import-catalog FILE.csv: titles and copies from a CSV, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.domain.catalog_import import CatalogFileError, import_catalog

    try:
        text = Path(args.file).read_bytes().decode(args.encoding)
    except (OSError, UnicodeDecodeError, LookupError) as error:
        console.print(f"[red]Cannot read {args.file}[/red]: {error}"
                      + (" (try --encoding cp932 for Excel files)" if isinstance(error, UnicodeDecodeError) else ""))
        return 2
    total = max(text.count("\n") - 1, 0) + (0 if text.endswith("\n") else 1)
    asyncio.run(db.migrate(settings.database_url))

    async def job(deps: Deps) -> int:
        columns = [TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("rows", total=total)
            try:
                report = await import_catalog(deps, text, batch_size=args.batch_size,
                                              on_progress=lambda n: progress.advance(task, n))
            except CatalogFileError as error:
                console.print(f"[red]{error}[/red]")
                return 2
            progress.update(task, completed=report.rows, total=report.rows)
        console.print(
            f"[green]{report.rows_imported} of {report.rows} rows imported[/green]: "
            f"titles {report.titles_created} new, {report.titles_updated} updated; "
            f"copies {report.items_created} new, {report.items_updated} updated."
        )
        if report.ignored_columns:
            console.print(f"[yellow]Columns ignored[/yellow]: {', '.join(report.ignored_columns)}")
        for error in report.errors[: args.show_errors]:
            console.print(f"[red]line {error.line}[/red]: {' '.join(error.reasons)}")
        if len(report.errors) > args.show_errors:
            console.print(f"... and {len(report.errors) - args.show_errors} more rows with errors"
                          + ("" if args.errors_file else " (use --errors-file to save them all)"))
        if args.errors_file and report.errors:
            with open(args.errors_file, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["line", "reasons"])
                writer.writerows([e.line, " ".join(e.reasons)] for e in report.errors)
        return 1 if report.errors else 0

    return _run(settings, job)


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url


DEMO_MIN_TITLES = 50
"""The demo's story (loans, queues, a ready hold, history and shelves) needs this many titles."""


def _demo_titles(value: str) -> int:
    try:
        titles = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if titles < DEMO_MIN_TITLES:
        raise argparse.ArgumentTypeError(f"the demo needs at least {DEMO_MIN_TITLES} titles")
    return titles


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (when it has one); descriptions and epilogs as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, "", False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


# The settings (environment variables, docs/operations.md "Configuration") each command reads.
_DATABASE = ["DATABASE_URL", "APP_ENV", "SECRET_KEY", "LIBRARY_TIMEZONE"]
_CIRCULATION = ["LOAN_DAYS", "RENEWAL_LIMIT", "HOLD_LIMIT", "PICKUP_DAYS", "HOLD_CART_LIMIT", "WEB_HOLD_MATERIALS",
                "WEB_RENEWAL_MATERIALS"]
_MAIL = ["LIBRARY_NAME", "MAIL_FROM", "PUBLIC_BASE_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_TLS",
         "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT_SECONDS", "MAIL_BATCH_SIZE", "MAIL_CONNECTIONS",
         "MAIL_MAX_ATTEMPTS", "MAIL_RETRY_SECONDS", "MAIL_RETRY_MAX_SECONDS", "NOTICES_INCLUDE_TITLES",
         "WORKER_LEASE_SECONDS", "LOG_LEVEL", "LIBRARY_TODAY"]
COMMAND_SETTINGS: dict[str, list[str]] = {
    "serve": [*_DATABASE, "PUBLIC_BASE_URL", "ALLOWED_ORIGINS", "GRAPHIQL", "INTROSPECTION", "LOG_LEVEL",
              "LIBRARY_TODAY", "PROMETHEUS_MULTIPROC_DIR", *_CIRCULATION, "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "MAX_BODY_BYTES",
              "MAX_QUERY_DEPTH", "MAX_ALIASES", "MAX_TOKENS", "MAX_PAGE_SIZE", "GRAPHQL_EXECUTION",
              "TRUSTED_DOCUMENTS_DIR", "TRUSTED_DOCUMENTS_ONLY"],
    "migrate": ["DATABASE_URL"],
    "demo": [*_DATABASE, *_CIRCULATION, "LIBRARY_TODAY"],
    "create-staff": [*_DATABASE, "ARGON2_TIME_COST", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM"],
    "expire-holds": [*_DATABASE, "PICKUP_DAYS", "NOTICES_INCLUDE_TITLES", "LIBRARY_TODAY"],
    "import-catalog": [*_DATABASE, "LIBRARY_TODAY"],
    "worker": [*_DATABASE, *_MAIL, "WORKER_POLL_SECONDS", "DAILY_JOBS_HOUR", "REMINDER_DAYS", "PICKUP_DAYS",
               "HOLD_HISTORY_DAYS", "NOTICE_RETENTION_DAYS"],
    "send-mail": [*_DATABASE, *_MAIL],
    "mail-sink": [],
    "trust-documents": ["TRUSTED_DOCUMENTS_DIR", "INTROSPECTION", "MAX_QUERY_DEPTH", "MAX_ALIASES", "MAX_TOKENS"],
}


def _environment(command: str) -> str:
    names = COMMAND_SETTINGS[command]
    if not names:
        return "Reads no settings."
    return ("Settings read from the environment: " + ", ".join(dict.fromkeys(names))
            + ".\nEvery setting: docs/operations.md, \"Configuration\".")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="library", formatter_class=_HelpFormatter,
        description="Library patron web service (GraphQL): the server, the worker and one-shot commands.",
        epilog="`library COMMAND --help` shows each command's options and the settings it reads.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    clock = argparse.ArgumentParser(add_help=False)
    clock.add_argument("--today", metavar="DAY", help=(
        "run as if the library's date were DAY (YYYY-MM-DD) or moved by days (+8, -1); sets "
        "LIBRARY_TODAY; refused when APP_ENV=production"))

    def command(name: str, summary: str, description: str, *, moves_clock: bool = False,
                exit_status: str = "") -> argparse.ArgumentParser:
        epilog = (f"Exit status: {exit_status}.\n" if exit_status else "") + _environment(name)
        return sub.add_parser(name, help=summary, description=description, epilog=epilog,
                              formatter_class=_HelpFormatter, parents=[clock] if moves_clock else [])

    serve = command("serve", "run the web server (GraphQL at /graphql)",
                    "Run the web server under uvicorn: GraphQL at /graphql, the e-mail confirmation page, "
                    "/healthz, /readyz and /metrics. JSON log lines on stdout.", moves_clock=True)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (keep it private behind a proxy)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1,
                       help="uvicorn worker processes; more than 1 needs PostgreSQL")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="reverse proxies whose X-Forwarded-For/-Proto are trusted (never * on an open port)")
    serve.set_defaults(func=cmd_serve)

    migrate = command("migrate", "apply database migrations",
                      "Apply every pending migration (app/migrations/); safe to run again. Run it on every upgrade.")
    migrate.set_defaults(func=cmd_migrate)

    demo = command("demo", "load demo data into an empty database, then exit",
                   "Migrate, then fill an empty catalog with demo titles, patrons, loans, holds and a calendar, "
                   "dated around the library's date. With data already there nothing changes, unless --reset.", moves_clock=True)
    demo.add_argument("--titles", type=_demo_titles, default=300,
                      help=f"how many titles (at least {DEMO_MIN_TITLES})")
    demo.add_argument("--reset", action="store_true",
                      help="delete every row first, to start over after trying the examples (not in production)")
    demo.set_defaults(func=cmd_demo)

    expire = command("expire-holds", "cancel ready holds not collected by their pickup deadline",
                     "Cancel ready holds past their pickup deadline (取置期限日); each copy goes to the next in "
                     "line (貸出準備完了 notice) or back to the shelf. Safe to run again; the worker runs it daily.", moves_clock=True)
    expire.set_defaults(func=cmd_expire_holds)

    catalog = command("import-catalog", "import titles and copies from a CSV file",
                      "Import titles and copies (one row per copy) from a CSV file with a header row; migrates "
                      "first. Exit status 0: all rows imported; 1: some rows rejected; 2: file unreadable. "
                      "Columns: docs/operations.md, \"Catalog import\".", moves_clock=True)
    catalog.add_argument("file", help="CSV file with a header row")
    catalog.add_argument("--encoding", default="utf-8-sig", help="text encoding of the file (cp932 for Excel's Shift_JIS)")
    catalog.add_argument("--batch-size", type=int, default=1000, help="rows written per transaction")
    catalog.add_argument("--show-errors", type=int, default=50, help="rows with errors listed on the terminal")
    catalog.add_argument("--errors-file", help="write every row with errors (line, reasons) to this CSV file")
    catalog.set_defaults(func=cmd_import_catalog)

    staff = command("create-staff", "create a staff account",
                    "Create a staff account for staffLogin. Without --password the password is asked for twice "
                    "(a password on the command line stays in the shell's history and the process list).")
    staff.add_argument("--username", required=True, help="login name: 3-64 of A-Z a-z 0-9 . _ -")
    staff.add_argument("--password", help="the password (10 characters or more); prompted for when left out")
    staff.add_argument("--role", choices=[r.value for r in StaffRole], default=StaffRole.DESK.value,
                       help="recorded with the account; both roles may use every staff operation")
    staff.add_argument("--display-name", default="", help="name shown to colleagues; the username when left out")
    staff.set_defaults(func=cmd_create_staff)

    worker = command("worker", "deliver e-mail and run the daily steps until stopped",
                     "Long-running: delivers the e-mail outbox and, once a library day from DAILY_JOBS_HOUR, runs "
                     "the daily steps (hold expiry, due-date reminders, retention). Stops cleanly on Ctrl-C or "
                     "SIGTERM. JSON log lines on stdout. With SQLite exactly one worker may run.", moves_clock=True,
                     exit_status=f"0 stopped cleanly; 1 another worker is running (SQLite); {EXIT_SETTINGS} settings "
                     "that cannot work")
    worker.set_defaults(func=cmd_worker)

    send_mail = command("send-mail", "deliver the e-mail notices that are due, then exit",
                        "One pass over the outbox: deliver every notice due now, then exit (e.g. from cron, or to "
                        "flush the outbox by hand). The long-running form is `library worker`.", moves_clock=True,
                        exit_status=f"0 delivered what was due (permanent refusals included: see failedNotices); "
                        f"1 another worker is running; {EXIT_UNREACHABLE} the mail server could not be used, the "
                        f"notices wait; {EXIT_SETTINGS} settings that cannot work")
    # Accepted for the command lines written when --once was required; one pass is the only mode.
    send_mail.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    send_mail.add_argument("--now", action="store_true",
                           help="try the mail server now even if the outbox is waiting after an outage")
    send_mail.set_defaults(func=cmd_send_mail)

    sink = command("mail-sink", "development: a local SMTP server that prints every mail, decoded",
                   "Development only: an SMTP server that prints every mail it receives, with its Japanese body "
                   "decoded. Needs the test extra (aiosmtpd). Point the worker at it with SMTP_HOST/SMTP_PORT.")
    sink.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sink.add_argument("--port", type=int, default=1025, help="port to listen on")
    sink.set_defaults(func=cmd_mail_sink)

    trust = command("trust-documents", "register a client's documents (persisted queries) by hash",
                    "Check every document of a client's manifest against the schema and the limits (as a request "
                    "would be) and store it as DIR/CLIENT.json; the server loads that directory at start "
                    "(TRUSTED_DOCUMENTS_DIR) and clients send {\"documentId\": \"sha256:<hex>\"}. MANIFEST: an Apollo "
                    "persisted query manifest, a Relay (or any) {id: text} JSON map with SHA-256 ids, a .graphql "
                    "file, or a directory of them.", exit_status="0 registered, 1 refused (the reason is printed)")
    trust.add_argument("manifest", metavar="MANIFEST", help="the client's manifest, .graphql file or directory")
    trust.add_argument("--client", required=True, help="the client's name (the file is CLIENT.json; replaces its last one)")
    trust.add_argument("--dir", help="where manifests are kept (default: TRUSTED_DOCUMENTS_DIR, else ./trusted-documents)")
    trust.set_defaults(func=cmd_trust_documents)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("library-web")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without installing
        return "unknown"


# Commands that never open the database.
_WITHOUT_DATABASE = {"mail-sink", "trust-documents"}


def main(argv: list[str] | None = None) -> int:
    """Run a command; a setting that cannot work, or a database that cannot be reached, ends it
    with one line and a non-zero exit, before anything starts (no traceback)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "today", None):
        os.environ["LIBRARY_TODAY"] = args.today
    try:
        settings = Settings.from_env()
        if args.command not in _WITHOUT_DATABASE:
            db.tortoise_config(settings.database_url)  # refuses a SQLite file in a missing directory
    except (SettingsError, db.DatabaseLocationError) as error:
        console.print(f"[red]Settings refused:[/red] {escape(str(error))}")
        return EXIT_SETTINGS
    if args.command == "serve" and args.workers > 1 and db.single_writer(settings.database_url):
        console.print("[red]SQLite supports one server process: use --workers 1 or PostgreSQL.[/red]")
        return 2
    if settings.clock_offset_days:
        # The server's worker processes read the same offset, whatever the date when they start.
        os.environ["LIBRARY_TODAY"] = f"{settings.clock_offset_days:+d}"
        console.print(f"[yellow]Clock moved {settings.clock_offset_days:+d} days: the library's date is "
                      f"{Deps.build(settings).today()}[/yellow]")
    if args.command not in _WITHOUT_DATABASE:
        try:
            asyncio.run(db.check_connection(settings.database_url))
        except db.DatabaseUnavailable as error:
            console.print(f"[red]Cannot use the database[/red] {escape(_safe_url(settings.database_url))}: "
                          f"{escape(str(error))}")
            return EXIT_DATABASE
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
