"""Load and requests: logging patrons in, the documents, the statement count of one My Page,
wrk runs and their rounds, priming the search mix."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench.config import BENCH, PASSWORD, ROOT
from bench.servers import Server, server_env


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


async def check_baseline(base_app: str, base_line: str, tokens: list[str]) -> str:
    """Compare the baseline's answer with the app's for a few patrons."""
    body = {"query": mypage_document()}
    async with httpx.AsyncClient(timeout=30) as client:
        for token in tokens[:5]:
            headers = {"Authorization": f"Bearer {token}"}
            a = (await client.post(f"{base_app}/graphql", json=body, headers=headers)).json()
            for path in ("/mypage", "/mypage-batched"):
                b = (await client.post(f"{base_line}{path}", json=body, headers=headers)).json()
                if a != b:
                    return f"**no** (first difference for one patron; app: {json.dumps(a, ensure_ascii=False)[:300]} " \
                           f"baseline {path}: {json.dumps(b, ensure_ascii=False)[:300]})"
    return f"yes (identical JSON for {min(5, len(tokens))} patrons, both baselines)"


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


# A request of the mix slower than this while priming was a worker's first search of its keyword.
_COLD_SECONDS = 0.1


async def prime(base_url: str, bodies: list[str], rounds: int, *, most: int = 24) -> int:
    """Send every body at least `rounds` times, a few at a time, each over a new connection (so
    the kernel hands them to any worker process), and go on until two passes in a row found
    every request warm (none slower than `_COLD_SECONDS`) or `most` passes were sent. Kept-alive
    connections could all land on one worker and leave the other to count every keyword under
    load. Returns the passes sent."""
    limiter = asyncio.Semaphore(4)
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=fresh) as client:
        async def one(body: str) -> float:
            async with limiter:
                started = time.perf_counter()
                r = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
                if r.status_code != 200 or r.json().get("errors"):
                    raise SystemExit(f"search failed while priming: {r.text[:300]}")
                return time.perf_counter() - started

        warm_passes = passes = 0
        while passes < most and (passes < rounds or warm_passes < 2):
            slowest = max(await asyncio.gather(*(one(b) for b in bodies)))
            passes += 1
            warm_passes = warm_passes + 1 if slowest < _COLD_SECONDS else 0
        return passes
