"""Settling a level's awaitables together, without a Task for each.

graphql-core gathers a level's awaitables with `asyncio.gather`, which wraps every coroutine in a
Task. A resolver's coroutine mostly finishes at once (a `totalCount` already known) or after one
database statement, so a Task each (its creation, its first step scheduled, its wake-ups, the
gathering future's callbacks) costs more than the resolver. Here each coroutine is stepped as a
Task would step it — in a context of its own, copied when it starts, so a context variable one
sets (a transaction's connection) never leaks into another — and the ones still waiting are
driven together: a step runs as soon as the future it waits for is done. Everything starts before
anything waits, so DataLoaders still see the whole level's keys in one batch.
"""

from __future__ import annotations

import asyncio
import functools
from contextvars import Context, copy_context
from types import CoroutineType
from typing import Any

Outcome = tuple[Any, bool]  # (value, False) or (exception, True)


async def settle(awaitables: list[Any], waited: list[bool] | None = None) -> list[Outcome]:
    """Each awaitable's outcome, in order; a BaseException that is not an Exception (cancellation)
    propagates, and the coroutines still waiting are closed. `waited`, when given, is set to
    whether each one had to wait (True) or was done at its first step, as a Task's first turn."""
    loop = asyncio.get_running_loop()
    outcomes: list[Outcome | None] = [None] * len(awaitables)
    ready: list[list[Any]] = []  # entries whose future is done (or that yielded to the loop)
    waiting: dict[int, list[Any]] = {}  # the entries not settled yet, by index
    wakeup: list[asyncio.Future[None]] = []

    def done(entry: list[Any], _future: Any = None) -> None:
        ready.append(entry)
        if wakeup and not wakeup[0].done():
            wakeup[0].set_result(None)

    def step(entry: list[Any]) -> None:
        index, coroutine, context, _ = entry
        if coroutine is None:  # a future on its own, now done
            future = entry[3]
            exception = future.exception()
            outcomes[index] = (exception, True) if exception is not None else (future.result(), False)
            del waiting[index]
            return
        yielded = _step(index, coroutine, context, outcomes)
        if yielded is _FINISHED:
            del waiting[index]
        elif yielded is None:  # a bare `yield`: run again on the loop's next turn
            loop.call_soon(done, entry)
        else:
            entry[3] = yielded
            yielded.add_done_callback(functools.partial(done, entry))

    try:
        if waited is not None:
            waited[:] = [False] * len(awaitables)
        for index, awaitable in enumerate(awaitables):
            if asyncio.isfuture(awaitable):
                entry = waiting[index] = [index, None, None, awaitable]
                if awaitable.done():
                    step(entry)
                else:
                    awaitable.add_done_callback(functools.partial(done, entry))
                continue
            coroutine = awaitable if type(awaitable) is CoroutineType else _awaiting(awaitable)
            entry = waiting[index] = [index, coroutine, copy_context(), None]
            step(entry)
        while waiting:
            if not ready:
                wakeup[:] = [loop.create_future()]
                await wakeup[0]
            batch = ready[:]
            ready.clear()
            for entry in batch:
                if waited is not None:
                    waited[entry[0]] = True
                step(entry)
    except BaseException:
        for entry in waiting.values():
            if entry[1] is not None:
                entry[1].close()
        raise
    return outcomes  # type: ignore[return-value]


_FINISHED = object()


def _step(index: int, coroutine: Any, context: Context, outcomes: list[Outcome | None]) -> Any:
    """Run the coroutine to its next wait (or its end), as `asyncio.Task` does: the future it
    now waits for, None for a bare `yield`, or `_FINISHED` with its outcome recorded."""
    try:
        yielded = context.run(coroutine.send, None)
    except StopIteration as finished:
        outcomes[index] = (finished.value, False)
        return _FINISHED
    except Exception as error:  # noqa: BLE001 - the resolver's own failure, reported as its outcome
        outcomes[index] = (error, True)
        return _FINISHED
    if yielded is None:
        return None
    if getattr(yielded, "_asyncio_future_blocking", False):
        yielded._asyncio_future_blocking = False
        return yielded
    coroutine.close()
    outcomes[index] = (RuntimeError(f"a coroutine yielded {yielded!r}, not an asyncio future"), True)
    return _FINISHED


async def _awaiting(awaitable: Any) -> Any:
    return await awaitable
