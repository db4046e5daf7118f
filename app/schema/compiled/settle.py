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
from contextvars import Context, copy_context
from types import CoroutineType
from typing import Any

Outcome = tuple[Any, bool]  # (value, False) or (exception, True)


async def settle(awaitables: list[Any]) -> list[Outcome]:
    """Each awaitable's outcome, in order; a BaseException that is not an Exception (cancellation)
    propagates, and the coroutines still waiting are closed."""
    outcomes: list[Outcome | None] = [None] * len(awaitables)
    waiting: list[list[Any]] = []  # [index, coroutine or None, context, future or None]
    try:
        for index, awaitable in enumerate(awaitables):
            if type(awaitable) is CoroutineType:
                _step(index, awaitable, copy_context(), outcomes, waiting)
            elif asyncio.isfuture(awaitable):
                waiting.append([index, None, None, awaitable])
            else:  # any other awaitable: driven as a coroutine awaiting it
                _step(index, _awaiting(awaitable), copy_context(), outcomes, waiting)
        while waiting:
            futures = {entry[3] for entry in waiting if entry[3] is not None}
            if futures and len(futures) == len(waiting):
                await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(0)  # a coroutine yielded to the loop (a bare `yield`)
            still: list[list[Any]] = []
            for entry in waiting:
                index, coroutine, context, future = entry
                if future is not None and not future.done():
                    still.append(entry)
                elif coroutine is None:  # a future on its own
                    exception = future.exception()
                    outcomes[index] = (exception, True) if exception is not None else (future.result(), False)
                else:
                    _step(index, coroutine, context, outcomes, still)
            waiting = still
    except BaseException:
        for _index, coroutine, _context, _future in waiting:
            if coroutine is not None:
                coroutine.close()
        raise
    return outcomes  # type: ignore[return-value]


def _step(index: int, coroutine: Any, context: Context, outcomes: list[Outcome | None],
          waiting: list[list[Any]]) -> None:
    """Run the coroutine to its next wait (or its end), as `asyncio.Task` does."""
    try:
        yielded = context.run(coroutine.send, None)
    except StopIteration as done:
        outcomes[index] = (done.value, False)
        return
    except Exception as error:  # noqa: BLE001 - the resolver's own failure, reported as its outcome
        outcomes[index] = (error, True)
        return
    if yielded is None:
        waiting.append([index, coroutine, context, None])
    elif getattr(yielded, "_asyncio_future_blocking", False):
        yielded._asyncio_future_blocking = False
        waiting.append([index, coroutine, context, yielded])
    else:
        coroutine.close()
        outcomes[index] = (RuntimeError(f"a coroutine yielded {yielded!r}, not an asyncio future"), True)


async def _awaiting(awaitable: Any) -> Any:
    return await awaitable
