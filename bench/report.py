"""What a run prints and writes into bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.config import RESULTS, search_target_ms, TARGETS


DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


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


def verdict(met: bool) -> str:
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
        lines.append(f"| My Page / baseline | {ratio:.1%} | ≥ {TARGETS['ratio']:.0%} | {verdict(ratio >= TARGETS['ratio'])} |")
        if "baseline (reads batched)" in results:
            batched = results["My Page"]["rps"] / results["baseline (reads batched)"]["rps"]
            lines.append(f"| My Page / baseline with its reads batched as the app's (GraphQL's own cost) | "
                         f"{batched:.1%} | | |")
        if "My Page (interpreted)" in results:
            before = results["My Page (interpreted)"]["rps"] / results["baseline"]["rps"]
            lines.append(f"| My Page (interpreted) / baseline: graphql-core's interpreter, as before compiled plans | "
                         f"{before:.1%} | | |")
    for label, c in statements.items():
        lines.append(f"| SQL statements per My Page, patron with {label} | {c['statements']} | ≤ 8, same for 1 and 30 | "
                     f"{verdict(c['statements'] <= TARGETS['statements'] and len({x['statements'] for x in statements.values()}) == 1)} |")
    if "search" in results:
        p95, target = results["search"]["p95_ms"], search_target_ms(run["titles"])
        lines.append(f"| Catalog search p95 ({results['search']['connections']} connections, {run['titles']:,} titles) | "
                     f"{p95:.1f} ms | < {target:.0f} ms | {verdict(p95 < target)} |")
    if "data_path" in run:
        lines.append(f"| Catalog search data path in-process, mean / p95 (warm), mean / max (cold) | "
                     f"{_data_path(run['data_path'])} | about 1–2 ms warm | |")
    app_peaks = [v for n, r in results.items() if n != "baseline" for v in r.get("rss_mb", {}).values()]
    if app_peaks:
        peak = max(app_peaks)
        lines.append(f"| Peak RSS of an app worker under load | {peak:.0f} MB | < 150 MB | {verdict(peak < TARGETS['rss_mb'])} |")
    if outbox is None:
        lines.append("| Outbox delivery | not measured (`--no-outbox`) | ≥ 200/s | |")
    else:
        lines.append(f"| Outbox delivery | {outbox['per_second']:.0f} messages/s ({outbox['messages']} in "
                     f"{outbox['seconds']:.1f} s) | ≥ 200/s | {verdict(outbox['per_second'] >= TARGETS['outbox_per_second'])} |")
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
                   verdict(search["p95_ms"] < target)] if search else ["", "", "", f"< {target:.0f} ms", ""])
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


def print_result(name: str, r: dict[str, Any]) -> None:
    print(f"{name}: {r['rps']:,.0f} requests/s, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
          f"p99 {r['p99_ms']:.1f} ms, errors {r['error_count']}, peak RSS {_fmt_rss(r)}")
