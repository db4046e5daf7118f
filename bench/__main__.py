"""`python -m bench`: seed (or reuse) a realistic data set, serve the real app under uvicorn, log
patrons in, drive My Page, the baseline and catalog search with wrk, and report.

See `python -m bench --help` and docs/performance.md. This module runs the scenarios of a run;
the rest of the runner is split by concept: `config` (command line, targets, which database a
catalog size uses), `database` (reset, seed, the in-process data path, the outbox figure),
`servers` (uvicorn processes and their memory), `load` (logins, documents, wrk and its rounds)
and `report` (what is printed and written into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.config import DATA, parse_args, RESULTS, ROOT, TARGETS
from bench.database import bench_patrons, ensure_seeded, measure_data_path, outbox_figure
from bench.load import (check_baseline, combine_rounds, count_statements, ensure_wrk, login_patrons,
                        mypage_document, prime, reusable_tokens, scenario)
from bench.report import DATABASE_NAMES, verdict, print_result, report, size_report, write_results
from bench.servers import Server, start_server


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
                # The same endpoint with its reads started together through `app.db.fetch`, as the
                # app's resolvers start theirs: the yardstick for GraphQL's own cost.
                targets.append(("baseline (reads batched)", base_server, "/mypage-batched", "mypage.lua", mypage_args,
                                args.connections))
        if "search" in scenarios:
            # Steady state: each worker has counted every keyword of the mix once (the first
            # search of a keyword after the catalog changed counts it; the data path's "cold"
            # figure above is that cost).
            for e in executions:
                t0 = time.perf_counter()
                passes = asyncio.run(prime(f"http://127.0.0.1:{apps[e].port}", search_mix.bodies(), rounds=2 * workers))
                print(f"search{label[e]}: every request of the mix sent {passes} times first, each over a new "
                      f"connection, until two passes in a row were all warm ({time.perf_counter() - t0:.1f} s)")
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
                print_result(f"{name}, round {n + 1}/{args.rounds}", rounds[name][-1])
        for name, measured in rounds.items():
            results[name] = combine_rounds(measured)
    finally:
        for server in servers:
            server.stop()
    return run


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
            **{name: results[name]["rps"] / results["baseline"]["rps"]
               for name in ("My Page", "My Page (interpreted)") if name in results and "baseline" in results},
            **({"batched": results["My Page"]["rps"] / results["baseline (reads batched)"]["rps"]}
               if "My Page" in results and "baseline (reads batched)" in results else {})}))


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
            f"{DATABASE_NAMES[d]} {r['My Page']:.2f} ({verdict(r['My Page'] >= TARGETS['ratio']).strip('*')}"
            + (f"; interpreted {r['My Page (interpreted)']:.2f}" if "My Page (interpreted)" in r else "")
            + (f"; against the baseline with its reads batched {r['batched']:.2f}" if "batched" in r else "") + ")"
            for d, r in shown.items()))


def bench_database(args: argparse.Namespace, wrk: str, scenarios: list[str], command: str,
                   started: datetime) -> list[dict[str, Any]]:
    """Every size and scenario asked for on one database; its section of RESULTS.md."""
    workers = args.workers or (1 if args.database == "sqlite" else 2)
    runs = []
    for size in args.sizes:
        args.size = size
        print(f"== {DATABASE_NAMES[args.database]}, {size:,} titles, {workers} worker(s) ==")
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

if __name__ == "__main__":
    main()
