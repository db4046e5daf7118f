"""The `library` command: serve, migrate, demo, create-staff (and the jobs of later issues)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Awaitable, Callable

from rich.console import Console

from app import db
from app.domain.deps import Deps
from app.domain.errors import DomainError
from app.domain.messages import message_for
from app.models.enums import StaffRole
from app.settings import Settings

console = Console(stderr=True, soft_wrap=True)


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
    uvicorn.run(
        "app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
        log_config=logging_config(settings), access_log=False,
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


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url


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
    demo.add_argument("--titles", type=int, default=300)
    demo.set_defaults(func=cmd_demo)

    staff = sub.add_parser("create-staff", help="create a staff account")
    staff.add_argument("--username", required=True)
    staff.add_argument("--password", required=True)
    staff.add_argument("--role", choices=[r.value for r in StaffRole], default=StaffRole.DESK.value)
    staff.add_argument("--display-name", default="")
    staff.set_defaults(func=cmd_create_staff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "serve" and args.workers > 1 and settings.database_url.startswith("sqlite"):
        console.print("[red]SQLite supports one server process: use --workers 1 or PostgreSQL.[/red]")
        return 2
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
