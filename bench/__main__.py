"""`python -m bench`: seed (or reuse) a realistic data set, serve the real app under uvicorn, log
patrons in, drive My Page, the baseline and catalog search with wrk, and report.

See `python -m bench --help` and docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

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


# --- database -----------------------------------------------------------------------------------


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


async def _reset(url: str, sqlite_path: str) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            with_suffix = Path(sqlite_path + suffix)
            if with_suffix.exists():
                with_suffix.unlink()
    else:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()


async def ensure_seeded(args: argparse.Namespace) -> dict[str, Any]:
    from app import db
    from bench import seed

    url = database_url(args)
    if args.database == "postgres" and args.size != DEFAULT_TITLES:
        await scratch_postgres(args.postgres_url, str(args.size))
    if args.database == "sqlite":
        # The database's directory, private as `library serve` wants it (a fresh clone has none).
        Path(sqlite_path(args)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scale = seed.Scale.sized(args.size)
    await db.migrate(url)
    await db.init_db(url)
    try:
        if not args.reseed and await seed.seeded_key() == scale.key():
            print(f"seed: reusing {url} (seed {scale.key()[:40]}...)")
            return {"reused": True, "seconds": None}
    finally:
        await db.close_db()
    print(f"seed: seeding {url} ...")
    await _reset(url, sqlite_path(args))
    started = time.perf_counter()
    await db.migrate(url)
    await db.init_db(url)
    try:
        report = await seed.seed(scale, log=lambda m: print(f"  {m}"))
        problems = await seed.check()
    finally:
        await db.close_db()
    if problems:
        raise SystemExit(f"seed: inconsistent data: {problems}")
    seconds = time.perf_counter() - started
    print(f"seed: done in {seconds:.0f} s (migration included): " + ", ".join(f"{k} {v:,}" for k, v in report.rows.items()))
    return {"reused": False, "seconds": seconds, "rows": report.rows}


# --- servers ------------------------------------------------------------------------------------


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url(args),
        # The benchmark logs hundreds of patrons in from one address: the per-address login
        # throttle is raised for it (configuration, never the defaults).
        "THROTTLE_IP_FAILURES": "1000000",
        # wrk's guests all come from 127.0.0.1: their shared per-address budget is raised so that
        # no search is refused, while each guest request still pays for its charge, as in production.
        "GUEST_COST_PER_MINUTE": "1000000000000",
        "PYTHONPATH": str(ROOT),
    }


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path
    rss_peak: dict[int, int] = field(default_factory=dict)  # worker pid -> peak VmRSS kB
    _sampling: bool = False
    _thread: threading.Thread | None = None

    def workers(self) -> list[int]:
        """The processes serving requests: the uvicorn process itself, or its worker children."""
        children = _children(self.process.pid)
        workers = [c for c in children if "resource_tracker" not in _cmdline(c)]
        return workers or [self.process.pid]

    def start_sampling(self) -> None:
        self._sampling = True

        def sample() -> None:
            while self._sampling:
                for pid in self.workers():
                    rss = _vmrss_kb(pid)
                    if rss:
                        self.rss_peak[pid] = max(self.rss_peak.get(pid, 0), rss)
                time.sleep(0.2)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop_sampling(self) -> None:
        self._sampling = False
        if self._thread:
            self._thread.join()

    def stop(self) -> None:
        self.stop_sampling()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _vmrss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_server(args: argparse.Namespace, name: str, factory: str, port: int, workers: int,
                 extra_env: dict[str, str] | None = None) -> Server:
    log_path = DATA / f"bench-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--loop", "uvloop", "--http", "httptools",
           "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    env = {**server_env(args), **(extra_env or {})}
    if args.profile and name != "baseline":
        env["BENCH_PROFILE_TO"] = str(DATA / "bench-profiles" / f"{name}-{args.database}")
    log = open(log_path, "w")
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, port, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} server exited; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
            if workers <= 1 or len(server.workers()) >= workers:
                time.sleep(1.0 if workers > 1 else 0.2)
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name} server did not start; see {log_path}")


# --- login and documents ------------------------------------------------------------------------


LOGIN = ("mutation Login($input: LoginInput!) { login(input: $input) { token errors { code message } } }")


async def login_patrons(base_url: str, card_numbers: list[str]) -> list[str]:
    tokens: list[str] = []
    limiter = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        async def one(card: str) -> None:
            async with limiter:
                r = await client.post("/graphql", json={"query": LOGIN, "variables": {
                    "input": {"cardNumber": card, "password": PASSWORD, "issueToken": True}}})
                payload = r.json()["data"]["login"]
                if payload["errors"] or not payload["token"]:
                    raise SystemExit(f"login of {card} failed: {payload['errors']}")
                tokens.append(payload["token"])

        await asyncio.gather(*(one(c) for c in card_numbers))
    return tokens


async def reusable_tokens(base_url: str, path: Path, wanted: int) -> list[str]:
    """The sessions of a previous run, if every one of them is still alive (logins all happen
    together, so they expire together; argon2 makes 300 logins take a while)."""
    if not path.exists():
        return []
    tokens = [t for t in path.read_text().split() if t]
    if len(tokens) != wanted:
        return []
    query = {"query": "{ viewer { id } }"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for token in tokens:
            r = await client.post("/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 200 or not (r.json().get("data") or {}).get("viewer"):
                return []
    return tokens


async def bench_patrons(args: argparse.Namespace) -> dict[str, Any]:
    """Card numbers to log in (a deterministic spread over all patrons), and the patrons with
    exactly 1 and 30 current loans for the statement count."""
    from app import db

    await db.init_db(database_url(args))
    try:
        conn = db.connection()
        total = (await conn.execute_query_dict("SELECT count(*) AS n FROM patrons"))[0]["n"]
        step = max(1, total // args.patrons)
        ids = list(range(1 + step // 2, total + 1, step))[: args.patrons]

        async def with_loans(n: int) -> int:
            rows = await conn.execute_query_dict(
                "SELECT patron_id FROM loans WHERE returned_at IS NULL GROUP BY patron_id "
                f"HAVING count(*) = {n} ORDER BY patron_id LIMIT 1")
            return rows[0]["patron_id"]

        return {"cards": [f"10{i:07d}" for i in ids], "one": await with_loans(1), "thirty": await with_loans(30)}
    finally:
        await db.close_db()


def mypage_document() -> str:
    return (BENCH / "queries" / "mypage.graphql").read_text()


def search_document() -> str:
    return (BENCH / "queries" / "search.graphql").read_text()


async def count_statements(args: argparse.Namespace, patron_ids: dict[str, int]) -> dict[str, Any]:
    """SQL statements of one My Page request (after the session is established), in-process."""
    from app import db
    from app.main import create_app
    from app.settings import Settings
    from bench.statements import StatementCounter

    env = server_env(args)
    settings = Settings.from_env(env)
    await db.init_db(settings.database_url)
    counts: dict[str, Any] = {}
    try:
        app = create_app(settings, manage_database=False)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for label, pid in (("1 loan", patron_ids["one"]), ("30 loans", patron_ids["thirty"])):
                r = await client.post("/graphql", json={"query": LOGIN, "variables": {
                    "input": {"cardNumber": f"10{pid:07d}", "password": PASSWORD, "issueToken": True}}})
                token = r.json()["data"]["login"]["token"]
                headers = {"Authorization": f"Bearer {token}"}
                body = {"query": mypage_document()}
                first = (await client.post("/graphql", json=body, headers=headers)).json()
                if first.get("errors"):
                    raise SystemExit(f"My Page failed: {first['errors']}")
                counter = StatementCounter()
                with counter.installed():
                    response = (await client.post("/graphql", json=body, headers=headers)).json()
                loans = response["data"]["viewer"]["loans"]["totalCount"]
                counts[label] = {"statements": counter.count, "loans": loans, "sql": counter.statements}
    finally:
        await db.close_db()
    return counts


# --- load ---------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk: not found, installing the Debian package ...")
    install = ["apt-get", "install", "-y", "wrk"]
    if os.geteuid() != 0:
        install = ["sudo", *install]
    if subprocess.run(install).returncode != 0:
        subprocess.run([*install[:-3], "update"] if install[0] == "sudo" else ["apt-get", "update"])
        subprocess.run(install, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def run_wrk(wrk: str, args: argparse.Namespace, url: str, script: str, script_args: list[str],
            seconds: int, connections: int) -> dict[str, Any]:
    cmd = [wrk, f"-t{min(args.threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(BENCH / "lua" / script), url, "--", *script_args]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            for p in ("p50", "p95", "p99"):
                result[f"{p}_ms"] = result[f"{p}_us"] / 1000
            result["error_count"] = sum(result["errors"].values())
            return result
    raise SystemExit(f"wrk printed no result:\n{out}")


def scenario(wrk: str, args: argparse.Namespace, server: Server, path: str, script: str,
             script_args: list[str], connections: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{server.port}{path}"
    if args.warmup:
        run_wrk(wrk, args, url, script, script_args, args.warmup, connections)
    server.rss_peak.clear()
    server.start_sampling()
    try:
        result = run_wrk(wrk, args, url, script, script_args, args.duration, connections)
    finally:
        server.stop_sampling()
    result["rss_mb"] = {pid: kb / 1024 for pid, kb in server.rss_peak.items()}
    result["connections"] = connections
    return result


async def outbox_figure(args: argparse.Namespace) -> dict[str, Any] | None:
    from bench import outbox

    if args.database == "sqlite":
        # A scratch database, so the outbox run leaves the seeded one as it was.
        from app import db

        path = Path(tempfile.mkdtemp(prefix="bench-outbox-")) / "outbox.sqlite3"
        url = f"sqlite://{path}"
        await db.migrate(url)
    else:
        # Never the seeded database: the outbox run empties its database first.
        url = await scratch_postgres(database_url(args), "outbox")
    return await outbox.run(url)


async def scratch_postgres(url: str, suffix: str) -> str:
    """A database beside `url`'s, named `<its name>_<suffix>`, created when missing."""
    import asyncpg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{suffix}"
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


# --- report -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "kernel": platform.release()}


def _fmt_rss(result: dict[str, Any]) -> str:
    values = sorted(result.get("rss_mb", {}).values())
    return ", ".join(f"{v:.0f} MB" for v in values) or "n/a"


def _ok(met: bool) -> str:
    return "met" if met else "**missed**"


def _header(args: argparse.Namespace, command: str, started: datetime, workers: int, seeded: str) -> list[str]:
    m = machine()
    return [
        f"### {args.database}, {workers} worker{'s' if workers > 1 else ''} — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Command: `{command}`",
        f"- Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, Linux {m['kernel']}",
        f"- Database: {'SQLite file' if args.database == 'sqlite' else 'PostgreSQL'}; {seeded}",
        f"- Load: wrk, {args.threads} threads, {args.rounds} interleaved round(s), each scenario {args.warmup} s "
        f"warm-up then {args.duration} s per round"
        + (f", {args.patrons} patrons logged in and rotated" if "mypage" in args.scenarios else ""),
    ]


def _seeded(run: dict[str, Any]) -> str:
    seconds = run["seeded"].get("seconds")
    return f"{run['titles']:,} titles, " + (f"seeded in {seconds:.0f} s" if seconds else "seed reused")


def _data_path(path: dict[str, Any]) -> str:
    return (f"warm {path['warm']['mean']:.2f} / {path['warm']['p95']:.2f} ms, "
            f"cold {path['cold']['mean']:.1f} / {path['cold']['max']:.1f} ms")


def report(args: argparse.Namespace, command: str, started: datetime, run: dict[str, Any],
           outbox: dict[str, Any] | None, workers: int) -> str:
    results, statements = run["results"], run["statements"]
    lines = _header(args, command, started, workers, _seeded(run))
    if statements:
        lines.append(f"- Baseline agrees with the GraphQL answer: {run['agree']}")
    lines += [
        "",
        "| Scenario | Conns | Requests/s (each round) | p50 ms | p95 ms | p99 ms | Errors | Peak RSS per worker |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        per_round = f" ({', '.join(f'{x:,.0f}' for x in r['rounds_rps'])})" if r.get("rounds_rps") else ""
        lines.append(f"| {name} | {r['connections']} | {r['rps']:,.0f}{per_round} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['error_count']} | {_fmt_rss(r)} |")
    lines += ["", "| Figure | Value | Target | |", "|---|---|---|---|"]
    if "My Page" in results and "baseline" in results:
        ratio = results["My Page"]["rps"] / results["baseline"]["rps"]
        lines.append(f"| My Page / baseline | {ratio:.1%} | ≥ {TARGETS['ratio']:.0%} | {_ok(ratio >= TARGETS['ratio'])} |")
        if "My Page (interpreted)" in results:
            before = results["My Page (interpreted)"]["rps"] / results["baseline"]["rps"]
            lines.append(f"| My Page (interpreted) / baseline: graphql-core's interpreter, as before compiled plans | "
                         f"{before:.1%} | | |")
    for label, c in statements.items():
        lines.append(f"| SQL statements per My Page, patron with {label} | {c['statements']} | ≤ 8, same for 1 and 30 | "
                     f"{_ok(c['statements'] <= TARGETS['statements'] and len({x['statements'] for x in statements.values()}) == 1)} |")
    if "search" in results:
        p95, target = results["search"]["p95_ms"], search_target_ms(run["titles"])
        lines.append(f"| Catalog search p95 ({results['search']['connections']} connections, {run['titles']:,} titles) | "
                     f"{p95:.1f} ms | < {target:.0f} ms | {_ok(p95 < target)} |")
    if "data_path" in run:
        lines.append(f"| Catalog search data path in-process, mean / p95 (warm), mean / max (cold) | "
                     f"{_data_path(run['data_path'])} | about 1–2 ms warm | |")
    app_peaks = [v for n, r in results.items() if n != "baseline" for v in r.get("rss_mb", {}).values()]
    if app_peaks:
        peak = max(app_peaks)
        lines.append(f"| Peak RSS of an app worker under load | {peak:.0f} MB | < 150 MB | {_ok(peak < TARGETS['rss_mb'])} |")
    if outbox is None:
        lines.append("| Outbox delivery | not measured (`--no-outbox`) | ≥ 200/s | |")
    else:
        lines.append(f"| Outbox delivery | {outbox['per_second']:.0f} messages/s ({outbox['messages']} in "
                     f"{outbox['seconds']:.1f} s) | ≥ 200/s | {_ok(outbox['per_second'] >= TARGETS['outbox_per_second'])} |")
    return "\n".join(lines) + "\n"


def size_report(args: argparse.Namespace, command: str, started: datetime, runs: list[dict[str, Any]],
                workers: int) -> str:
    """Catalog search by catalog size: how the cost grows (one run, one table)."""
    lines = _header(args, command, started, workers, ", ".join(_seeded(r) for r in runs))
    lines += [
        "- Search: `bench/search_mix.py` (36 keywords × relevance, newest, 五十音順, on the shelf, two "
        "material types; 20 titles, total and facets), 8 connections; floor: `{ __typename }`",
        "- Data path: the same searches in-process without HTTP and GraphQL (SQL and the Python around it); "
        "warm = counts cached, cold = the first search after the catalog changed",
        "",
        "| Titles | Search requests/s | p50 ms | p95 ms | Target p95 | | Floor requests/s | Floor p95 ms | "
        "Data path warm mean / p95 | Data path cold mean / max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        search, floor, path = run["results"].get("search"), run["results"].get("floor"), run.get("data_path")
        target = search_target_ms(run["titles"])
        cells = [f"{run['titles']:,}"]
        cells += ([f"{search['rps']:,.0f}", f"{search['p50_ms']:.1f}", f"{search['p95_ms']:.1f}", f"< {target:.0f} ms",
                   _ok(search["p95_ms"] < target)] if search else ["", "", "", f"< {target:.0f} ms", ""])
        cells += [f"{floor['rps']:,.0f}", f"{floor['p95_ms']:.1f}"] if floor else ["", ""]
        cells += ([f"{path['warm']['mean']:.2f} / {path['warm']['p95']:.2f} ms",
                   f"{path['cold']['mean']:.1f} / {path['cold']['max']:.1f} ms"] if path else ["", ""])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(section: str, database: str) -> None:
    """Replace this database's generated section of RESULTS.md, keeping everything else."""
    begin, end = f"<!-- bench:{database}:begin -->", f"<!-- bench:{database}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results (issue 7)\n\nGenerated by `python -m bench`; the sections between the markers are "
        "rewritten by each run, the notes outside them are kept.\n\n"
        "## Latest run: SQLite\n\n<!-- bench:sqlite:begin -->\n<!-- bench:sqlite:end -->\n\n"
        "## Latest run: PostgreSQL\n\n<!-- bench:postgres:begin -->\n<!-- bench:postgres:end -->\n")
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    RESULTS.write_text(f"{head}{begin}\n{section}{end}{tail}")


async def check_baseline(base_app: str, base_line: str, tokens: list[str]) -> str:
    """Compare the baseline's answer with the app's for a few patrons."""
    body = {"query": mypage_document()}
    async with httpx.AsyncClient(timeout=30) as client:
        for token in tokens[:5]:
            headers = {"Authorization": f"Bearer {token}"}
            a = (await client.post(f"{base_app}/graphql", json=body, headers=headers)).json()
            b = (await client.post(f"{base_line}/mypage", json=body, headers=headers)).json()
            if a != b:
                return f"**no** (first difference for one patron; app: {json.dumps(a, ensure_ascii=False)[:300]} " \
                       f"baseline: {json.dumps(b, ensure_ascii=False)[:300]})"
    return f"yes (identical JSON for {min(5, len(tokens))} patrons)"


async def measure_data_path(args: argparse.Namespace) -> dict[str, Any]:
    """The search mix in-process on the current size's database (`bench.search_mix.data_path`)."""
    from app import db
    from bench import search_mix

    await db.init_db(database_url(args))
    try:
        return await search_mix.data_path()
    finally:
        await db.close_db()


def run_size(args: argparse.Namespace, wrk: str, scenarios: list[str], workers: int,
             seeded: dict[str, Any]) -> dict[str, Any]:
    """Every scenario asked for, on the database of the current catalog size."""
    from bench import search_mix

    run: dict[str, Any] = {"titles": args.size, "seeded": seeded, "statements": {}, "results": {},
                           "agree": "not checked"}
    if "search" in scenarios:
        run["data_path"] = data_path = asyncio.run(measure_data_path(args))
        print(f"data path ({data_path['searches']} searches in-process): warm mean {data_path['warm']['mean']:.2f} ms, "
              f"p95 {data_path['warm']['p95']:.2f} ms; cold mean {data_path['cold']['mean']:.1f} ms, "
              f"max {data_path['cold']['max']:.1f} ms ({data_path['cold']['slowest']})")
    patrons = None
    if "mypage" in scenarios or "baseline" in scenarios:
        patrons = asyncio.run(bench_patrons(args))
        run["statements"] = asyncio.run(count_statements(args, patrons))
        for label, c in run["statements"].items():
            print(f"statements: My Page for a patron with {label}: {c['statements']}")

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    mypage_body = workdir / "mypage.json"
    mypage_body.write_text(json.dumps({"query": mypage_document(), "operationName": "MyPage"}))
    search_bodies = workdir / "search.jsonl"
    search_bodies.write_text("".join(body + "\n" for body in search_mix.bodies()))
    floor_body = workdir / "floor.jsonl"
    floor_body.write_text(json.dumps({"query": "{ __typename }"}) + "\n")

    results: dict[str, dict[str, Any]] = run["results"]
    executions = ["compiled", "interpreted"] if args.compare_interpreted else ["compiled"]
    tokens_file = DATA / f"bench-tokens-{args.database}-{args.size}.txt"
    servers: list[Server] = []
    # What wrk drives, in order: (name, server, path, script, script arguments, connections).
    targets: list[tuple[str, Server, str, str, list[str], int]] = []
    try:
        apps = {}
        for i, execution in enumerate(executions):
            apps[execution] = start_server(args, f"app-{execution}", "bench.server:create", args.port + 2 * i,
                                           workers, {"GRAPHQL_EXECUTION": execution})
            servers.append(apps[execution])
        label = {e: "" if e == "compiled" else f" ({e})" for e in executions}
        base_url = f"http://127.0.0.1:{args.port}"
        if patrons is not None:
            tokens = asyncio.run(reusable_tokens(base_url, tokens_file, len(patrons["cards"])))
            if tokens:
                print(f"login: reusing {len(tokens)} sessions of the previous run")
            else:
                t0 = time.perf_counter()
                tokens = asyncio.run(login_patrons(base_url, patrons["cards"]))
                print(f"login: {len(tokens)} patrons in {time.perf_counter() - t0:.1f} s")
                tokens_file.write_text("\n".join(tokens) + "\n")
            mypage_args = [str(tokens_file), str(mypage_body)]
            if "mypage" in scenarios:
                targets += [(f"My Page{label[e]}", apps[e], "/graphql", "mypage.lua", mypage_args, args.connections)
                            for e in executions]
            if "baseline" in scenarios:
                base_server = start_server(args, "baseline", "bench.baseline:create", args.port + 1, workers)
                servers.append(base_server)
                run["agree"] = asyncio.run(check_baseline(base_url, f"http://127.0.0.1:{args.port + 1}", tokens))
                print(f"baseline agrees with the app: {run['agree']}")
                targets.append(("baseline", base_server, "/mypage", "mypage.lua", mypage_args, args.connections))
        if "search" in scenarios:
            # Steady state: each worker has counted every keyword of the mix once (the first
            # search of a keyword after the catalog changed counts it; the data path's "cold"
            # figure above is that cost).
            for e in executions:
                t0 = time.perf_counter()
                asyncio.run(prime(f"http://127.0.0.1:{apps[e].port}", search_mix.bodies(), rounds=2 * workers))
                print(f"search{label[e]}: every request of the mix sent {2 * workers} times first "
                      f"({time.perf_counter() - t0:.1f} s)")
            targets += [(f"search{label[e]}", apps[e], "/graphql", "search.lua", [str(search_bodies)], 8)
                        for e in executions]
        if "floor" in scenarios:
            # `{ __typename }` through the same app: HTTP, middleware and GraphQL with no field
            # work, what any request costs here, for reading the search figure against.
            targets += [(f"floor{label[e]}", apps[e], "/graphql", "search.lua", [str(floor_body)], 8)
                        for e in executions]
        # Interleaved rounds: each target once per round, so that a noisy minute on this shared
        # machine falls on all of them rather than on one.
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in targets}
        for n in range(args.rounds):
            for name, server, path, script, script_args, connections in targets:
                rounds[name].append(scenario(wrk, args, server, path, script, script_args, connections))
                _print(f"{name}, round {n + 1}/{args.rounds}", rounds[name][-1])
        for name, measured in rounds.items():
            results[name] = combine_rounds(measured)
    finally:
        for server in servers:
            server.stop()
    return run


def combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from a scenario's rounds: requests/s over all of them, the mean of each latency
    percentile, errors summed, the peak memory of each worker."""
    if len(rounds) == 1:
        return rounds[0]
    combined = dict(rounds[-1])
    combined["requests"] = sum(r["requests"] for r in rounds)
    combined["duration_us"] = sum(r["duration_us"] for r in rounds)
    combined["rps"] = combined["requests"] / (combined["duration_us"] / 1e6)
    for p in ("p50_ms", "p95_ms", "p99_ms"):
        combined[p] = statistics.fmean(r[p] for r in rounds)
    combined["error_count"] = sum(r["error_count"] for r in rounds)
    peaks: dict[int, float] = {}
    for r in rounds:
        for pid, mb in r.get("rss_mb", {}).items():
            peaks[pid] = max(peaks.get(pid, 0.0), mb)
    combined["rss_mb"] = peaks
    combined["rounds_rps"] = [r["rps"] for r in rounds]
    return combined


async def prime(base_url: str, bodies: list[str], rounds: int) -> None:
    """Send every body `rounds` times, a few at a time (so each worker process sees each)."""
    limiter = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        async def one(body: str) -> None:
            async with limiter:
                r = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
                if r.status_code != 200 or r.json().get("errors"):
                    raise SystemExit(f"search failed while priming: {r.text[:300]}")

        for _ in range(rounds):
            await asyncio.gather(*(one(b) for b in bodies))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.database == "both":
        run_both(argv)
        return
    started = datetime.now(timezone.utc)
    command = os.environ.get("BENCH_COMMAND") or " ".join(["python -m bench", *argv])
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    runs = bench_database(args, ensure_wrk(), scenarios, command, started)
    if args.ratios_to and len(runs) == 1:
        results = runs[0]["results"]
        Path(args.ratios_to).write_text(json.dumps({
            name: results[name]["rps"] / results["baseline"]["rps"]
            for name in ("My Page", "My Page (interpreted)") if name in results and "baseline" in results}))


def run_both(argv: list[str]) -> None:
    """SQLite, then PostgreSQL, each in a process of its own (the app's module state belongs to one
    database); then the My Page / baseline ratio of each, side by side."""
    ensure_wrk()
    ratios: dict[str, dict[str, float]] = {}
    for database in ("sqlite", "postgres"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            rest = [a for i, a in enumerate(argv) if not a.startswith("--database")
                    and not (i and argv[i - 1] == "--database")]
            subprocess.run([sys.executable, "-m", "bench", "--database", database, "--ratios-to", out.name, *rest],
                           cwd=ROOT, check=True,
                           env={**os.environ, "BENCH_COMMAND": " ".join(["python -m bench", *argv])})
            text = Path(out.name).read_text()
            ratios[database] = json.loads(text) if text else {}
    shown = {d: r for d, r in ratios.items() if "My Page" in r}
    if shown:
        print(f"My Page / baseline, same run (target ≥ {TARGETS['ratio']:.2f}): " + ", ".join(
            f"{_DATABASE_NAMES[d]} {r['My Page']:.2f} ({_ok(r['My Page'] >= TARGETS['ratio']).strip('*')}"
            + (f"; interpreted {r['My Page (interpreted)']:.2f}" if "My Page (interpreted)" in r else "") + ")"
            for d, r in shown.items()))


_DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def bench_database(args: argparse.Namespace, wrk: str, scenarios: list[str], command: str,
                   started: datetime) -> list[dict[str, Any]]:
    """Every size and scenario asked for on one database; its section of RESULTS.md."""
    workers = args.workers or (1 if args.database == "sqlite" else 2)
    runs = []
    for size in args.sizes:
        args.size = size
        print(f"== {_DATABASE_NAMES[args.database]}, {size:,} titles, {workers} worker(s) ==")
        seeded = asyncio.run(ensure_seeded(args))
        if not args.seed_only:
            runs.append(run_size(args, wrk, scenarios, workers, seeded))
    if args.seed_only:
        return runs
    if len(runs) == 1:
        outbox = None if args.no_outbox else asyncio.run(outbox_figure(args))
        print("outbox: " + ("not measured (--no-outbox)" if outbox is None else
                            f"{outbox['per_second']:.0f} messages/s ({outbox['messages']} in {outbox['seconds']:.1f} s)"))
        section, key = report(args, command, started, runs[0], outbox, workers), args.database
    else:
        section, key = size_report(args, command, started, runs, workers), f"{args.database}:sizes"
    print()
    print(section)
    if not args.no_write:
        write_results(section, key)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return runs


def _print(name: str, r: dict[str, Any]) -> None:
    print(f"{name}: {r['rps']:,.0f} requests/s, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
          f"p99 {r['p99_ms']:.1f} ms, errors {r['error_count']}, peak RSS {_fmt_rss(r)}")


if __name__ == "__main__":
    main()
