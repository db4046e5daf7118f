"""The benchmark's command line, constants and targets, and which database a catalog size uses."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


BENCH = ROOT / "bench"


DATA = ROOT / "data"


RESULTS = BENCH / "RESULTS.md"


PASSWORD = "bench123"


SECRET_KEY = "bench-secret-key-not-for-production-0123456789"


TARGETS = {
    "ratio": 0.5,  # My Page at least half the baseline's requests/s (issue 12)
    "statements": 8,
    "outbox_per_second": 200.0,
    "rss_mb": 150.0,
}


DEFAULT_TITLES = 300_000


def search_target_ms(titles: int) -> float:
    """Catalog search p95 (issue 11): under 20 ms up to 300,000 titles, under 30 ms at 1,000,000."""
    return 20.0 if titles <= DEFAULT_TITLES else 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark of issue 7: seeds ~300,000 titles (reused when already seeded), starts the "
        "real app under uvicorn (uvloop, httptools, APP_ENV=production), logs patrons in through the "
        "login mutation and drives My Page, the baseline endpoint and catalog search with wrk. Prints "
        "requests/s and p50/p95/p99, the ratio My Page / baseline, SQL statements per My Page "
        "request, peak memory per worker and outbox delivery, and writes them to bench/RESULTS.md.",
    )
    p.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite",
                   help="sqlite (default, data/bench.sqlite3), postgres (--postgres-url), or both, one after "
                   "the other in the same run (the My Page / baseline ratio of each is printed at the end)")
    p.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench"),
                   help="database for --database postgres; it is emptied when (re)seeded")
    p.add_argument("--sqlite-path", default=str(DATA / "bench.sqlite3"), help="database file for --database sqlite")
    p.add_argument("--workers", type=int, default=None, help="uvicorn workers (default: 1 on SQLite, 2 on PostgreSQL)")
    p.add_argument("--duration", type=int, default=12, help="seconds of load per scenario (default 12)")
    p.add_argument("--rounds", type=int, default=2,
                   help="interleaved rounds: every scenario once per round, figures over all rounds (default 2)")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load before each scenario (default 3)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--patrons", type=int, default=300, help="patrons logged in and rotated through (default 300)")
    p.add_argument("--scenarios", default="mypage,baseline,search,floor",
                   help="comma-separated subset of mypage,baseline,search,floor (default all, in that order); "
                   "floor is `{ __typename }` through the app, the cost of any GraphQL request here")
    p.add_argument("--reseed", action="store_true", help="seed again even if the database holds this seed version")
    p.add_argument("--seed-only", action="store_true", help="seed (or check the seed) and stop")
    p.add_argument("--no-outbox", action="store_true", help="skip the outbox delivery figure")
    p.add_argument("--compare-interpreted", action="store_true",
                   help="also serve the app with GRAPHQL_EXECUTION=interpreted (graphql-core's interpreter, the "
                   "execution before compiled plans) and drive My Page, search and the floor against it in the same "
                   "run: rows named '… (interpreted)'")
    p.add_argument("--profile", action="store_true",
                   help="run the app server under pyinstrument (the `bench` extra); profiles go to data/bench-profiles/")
    p.add_argument("--ratios-to", default="", help=argparse.SUPPRESS)  # --database both: where each run reports
    p.add_argument("--no-write", action="store_true", help="print the figures but leave bench/RESULTS.md alone")
    p.add_argument("--port", type=int, default=8765, help="port of the servers (default 8765)")
    p.add_argument("--titles", default=str(DEFAULT_TITLES),
                   help="catalog size(s), comma-separated, e.g. 100000,300000,1000000 (default 300000); every "
                   "other table scales with it. Each size has its own database (the default size the one named "
                   "by --sqlite-path / --postgres-url, others with the size appended) and is seeded once. With "
                   "several sizes, --scenarios defaults to search,floor and RESULTS.md gets a table by size.")
    args = p.parse_args(argv)
    args.sizes = [int(n.replace("_", "")) for n in args.titles.split(",") if n.strip()]
    args.size = args.sizes[0]
    if len(args.sizes) > 1 and "--scenarios" not in " ".join(argv if argv is not None else sys.argv):
        args.scenarios = "search,floor"
    return args


def sqlite_path(args: argparse.Namespace) -> str:
    """The SQLite file of the current catalog size (`--sqlite-path` for the default size)."""
    if args.size == DEFAULT_TITLES:
        return args.sqlite_path
    path = Path(args.sqlite_path)
    return str(path.with_name(f"{path.stem}-{args.size}{path.suffix}"))


def database_url(args: argparse.Namespace) -> str:
    """The database of the current catalog size (PostgreSQL: `<database>_<size>` beside
    `--postgres-url`'s for sizes other than the default; created by `ensure_seeded`)."""
    if args.database == "sqlite":
        return f"sqlite://{sqlite_path(args)}"
    if args.size == DEFAULT_TITLES:
        return args.postgres_url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(args.postgres_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{args.size}"))
