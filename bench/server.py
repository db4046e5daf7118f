"""The uvicorn factory of the benchmark: the real app (`app.main:create_app`, settings from the
environment). With BENCH_PROFILE_TO set (`python -m bench --profile`), each worker runs under
pyinstrument from start-up to shutdown and writes `<BENCH_PROFILE_TO>-<pid>.txt` (call tree),
`.flat.txt` (functions by own time) and `.html`."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app


class Profiled:
    """Samples the whole worker (event loop included) while it serves."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        from pyinstrument import Profiler

        self.app = app
        self.prefix = prefix
        self.profiler = Profiler(interval=0.001, async_mode="disabled")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched_receive():
            message = await receive()
            from pyinstrument.renderers import ConsoleRenderer

            if message["type"] == "lifespan.startup":
                self.profiler.start()
            elif message["type"] == "lifespan.shutdown" and self.profiler.is_running:
                self.profiler.stop()
                path = Path(f"{self.prefix}-{os.getpid()}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.with_suffix(".txt").write_text(self.profiler.output_text(unicode=True, show_all=False))
                flat = ConsoleRenderer(unicode=True, flat=True, flat_time="self")
                path.with_suffix(".flat.txt").write_text(self.profiler.output(renderer=flat))
                path.with_suffix(".html").write_text(self.profiler.output_html())
            return message

        await self.app(scope, watched_receive, send)


def create() -> ASGIApp:
    app = create_app()
    prefix = os.environ.get("BENCH_PROFILE_TO")
    return Profiled(app, prefix) if prefix else app
