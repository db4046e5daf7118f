"""Running the real commands (`library worker`, uvicorn) as subprocesses in tests: environment,
output captured to a file, waiting for a condition with a deadline (polling, never sleeping a
fixed time), and stopping with SIGTERM as systemd would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Awaitable, Callable

REPO = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 60


def library_env(database_url: str, **settings: object) -> dict[str, str]:
    """The environment of a production-like process: its settings as variables (docs/operations.md)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SMTP_", "MAIL_", "WORKER_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="test-secret-key", ARGON2_TIME_COST="1",
               ARGON2_MEMORY_KIB="1024", ARGON2_PARALLELISM="1", PYTHONUNBUFFERED="1")
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


class Process:
    """A child process whose output (stdout and stderr together) goes to a temporary file."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
        self.log_path = Path(path)
        with os.fdopen(handle, "wb") as log:
            self.popen = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    @classmethod
    def library(cls, *arguments: str, env: dict[str, str], name: str = "library") -> Process:
        return cls([sys.executable, "-m", "app.cli", *arguments], env, name)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for_output(self, text: str, timeout: float = DEADLINE_SECONDS) -> None:
        await until(lambda: _contains(self, text), timeout, f"{self.name} to print {text!r}")

    async def exit_code(self, timeout: float = DEADLINE_SECONDS) -> int:
        return await asyncio.wait_for(asyncio.to_thread(self.popen.wait), timeout)

    async def stop(self) -> int:
        """SIGTERM, then the exit code (killed after the deadline)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return await self.exit_code()
        except TimeoutError:
            os.killpg(self.popen.pid, signal.SIGKILL)
            return await self.exit_code()

    def cleanup(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.log_path.unlink(missing_ok=True)


async def _contains(process: Process, text: str) -> bool:
    if process.popen.poll() is not None and text not in process.output:
        raise AssertionError(f"{process.name} exited ({process.popen.returncode}):\n{process.output}")
    return text in process.output


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = DEADLINE_SECONDS,
                what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
