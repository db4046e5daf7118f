"""The `library` command: serve, migrate, demo, create-staff, expire-holds (and the jobs of later issues)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import logging.config
import signal
import sys
from pathlib import Path
from typing import Awaitable, Callable

from rich.console import Console
from rich.markup import escape

from app import db
from app.domain.deps import Deps
from app.domain.errors import DomainError
from app.domain.messages import message_for
from app.models.enums import StaffRole
from app.settings import Settings, SettingsError

console = Console(stderr=True, soft_wrap=True)

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
    uvicorn.run(
        "app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
        log_config=logging_config(settings), access_log=False, server_header=False,
    )
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(db.migrate(settings.database_url))
    console.print(f"[green]Database is up to date[/green] ({_safe_url(settings.database_url)})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo import DEMO_PATRONS, DEMO_STAFF, load_demo

    asyncio.run(db.migrate(settings.database_url))

    async def job(deps: Deps) -> int:
        if await load_demo(deps, titles=args.titles):
            console.print(f"[green]Demo data loaded[/green] into {_safe_url(settings.database_url)}")
        else:
            console.print("The catalog already has titles: demo data left as it is.")
        for p in DEMO_PATRONS:
            console.print(f"  patron {p.card_number}  password {p.password or '(none yet)'}  {p.note}")
        for username, password, role in DEMO_STAFF:
            console.print(f"  staff  {username}  password {password}  ({role.value})")
        return 0

    return _run(settings, job)


def cmd_create_staff(args: argparse.Namespace, settings: Settings) -> int:
    from app.domain import accounts

    async def job(deps: Deps) -> int:
        staff = await accounts.create_staff(
            deps, args.username, args.password, role=StaffRole(args.role), display_name=args.display_name or ""
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="library", description="Library patron web service (GraphQL).")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (GraphQL at /graphql)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (PostgreSQL only)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="reverse proxies whose X-Forwarded-For is trusted")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="migrate and fill the database with demo data, then exit")
    demo.add_argument("--titles", type=_demo_titles, default=300,
                      help=f"how many titles (at least {DEMO_MIN_TITLES}; default 300)")
    demo.set_defaults(func=cmd_demo)

    expire = sub.add_parser("expire-holds", help="cancel ready holds not collected by their pickup deadline")
    expire.set_defaults(func=cmd_expire_holds)
    catalog = sub.add_parser("import-catalog", help="import titles and copies from a CSV file (see README)")
    catalog.add_argument("file", help="CSV file with a header row")
    catalog.add_argument("--encoding", default="utf-8-sig", help="text encoding of the file (cp932 for Excel's Shift_JIS)")
    catalog.add_argument("--batch-size", type=int, default=1000, help="rows written per transaction")
    catalog.add_argument("--show-errors", type=int, default=50, help="rows with errors listed on the terminal")
    catalog.add_argument("--errors-file", help="write every row with errors (line, reasons) to this CSV file")
    catalog.set_defaults(func=cmd_import_catalog)

    staff = sub.add_parser("create-staff", help="create a staff account")
    staff.add_argument("--username", required=True)
    staff.add_argument("--password", required=True)
    staff.add_argument("--role", choices=[r.value for r in StaffRole], default=StaffRole.DESK.value)
    staff.add_argument("--display-name", default="")
    staff.set_defaults(func=cmd_create_staff)

    worker = sub.add_parser("worker", help="deliver e-mail and run the daily steps (due reminders, hold expiry) until stopped")
    worker.set_defaults(func=cmd_worker)

    send_mail = sub.add_parser(
        "send-mail", help="deliver the e-mail notices that are due, then exit",
        epilog=f"exit status: 0 delivered what was due (permanent refusals included: see failedNotices); "
        f"1 another worker is running; {EXIT_UNREACHABLE} the mail server could not be used, the notices wait; "
        f"{EXIT_SETTINGS} settings that cannot work",
    )
    send_mail.add_argument("--once", action="store_true", required=True,
                           help="one pass over the outbox (the long-running form is `library worker`)")
    send_mail.add_argument("--now", action="store_true",
                           help="try the mail server now even if the outbox is waiting after an outage")
    send_mail.set_defaults(func=cmd_send_mail)

    sink = sub.add_parser("mail-sink", help="development: a local SMTP server that prints every mail, decoded")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, default=1025)
    sink.set_defaults(func=cmd_mail_sink)
    return parser


# Commands that never open the database.
_WITHOUT_DATABASE = {"mail-sink"}


def main(argv: list[str] | None = None) -> int:
    """Run a command; a setting that cannot work, or a database that cannot be reached, ends it
    with one line and a non-zero exit, before anything starts (no traceback)."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        console.print(f"[red]Settings refused:[/red] {escape(str(error))}")
        return EXIT_SETTINGS
    if args.command == "serve" and args.workers > 1 and settings.database_url.startswith("sqlite"):
        console.print("[red]SQLite supports one server process: use --workers 1 or PostgreSQL.[/red]")
        return 2
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
