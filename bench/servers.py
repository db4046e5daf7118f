"""The servers under load: the real app (and the baseline) under uvicorn in processes of their
own, with their workers' peak memory sampled while wrk runs."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import DATA, database_url, ROOT, SECRET_KEY


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
        # no search is refused, while each guest request is still counted, as in production (in
        # memory, written when an address reaches a tenth of its budget: app.domain.throttle).
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
