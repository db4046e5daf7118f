"""Settling a level's awaitables without Tasks: outcomes in order, failures as outcomes, each
coroutine in a context of its own, DataLoader batching intact, cancellation closes what waits."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import pytest
from strawberry.dataloader import DataLoader

from app.schema.compiled.settle import settle

WHO: ContextVar[str] = ContextVar("who", default="nobody")


async def test_values_and_failures_come_back_in_order_however_each_finishes():
    loop = asyncio.get_running_loop()
    later = loop.create_future()
    loop.call_soon(later.set_result, "from a future")

    async def at_once():
        return 1

    async def after_a_wait():
        await asyncio.sleep(0)
        return 2

    async def failing():
        await asyncio.sleep(0)
        raise ValueError("refused")

    outcomes = await settle([at_once(), after_a_wait(), failing(), later])
    assert outcomes[:2] == [(1, False), (2, False)] and outcomes[3] == ("from a future", False)
    error, failed = outcomes[2]
    assert failed and isinstance(error, ValueError)


async def test_a_context_variable_set_by_one_coroutine_is_not_seen_by_another():
    async def sets(name):
        WHO.set(name)
        await asyncio.sleep(0)
        return WHO.get()

    async def reads():
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return WHO.get()

    outcomes = await settle([sets("a"), reads(), sets("b")])
    assert [value for value, _ in outcomes] == ["a", "nobody", "b"] and WHO.get() == "nobody"


async def test_a_dataloader_gets_the_whole_level_in_one_batch():
    batches = []

    async def load(keys):
        batches.append(list(keys))
        return [k * 10 for k in keys]

    loader = DataLoader(load_fn=load)

    async def field(key):
        return await loader.load(key)

    outcomes = await settle([field(1), field(2), field(3)])
    assert [value for value, _ in outcomes] == [10, 20, 30] and batches == [[1, 2, 3]]


async def test_cancelling_the_request_closes_the_coroutines_still_waiting():
    closed = []

    async def waits_forever():
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            closed.append(True)

    task = asyncio.ensure_future(settle([waits_forever(), waits_forever()]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [True, True]


async def test_it_says_which_finished_at_their_first_step_as_a_tasks_first_turn_would():
    loop = asyncio.get_running_loop()

    async def at_once():
        return "sync path"

    async def refused_before_waiting():
        raise ValueError("bad page size")

    async def after_a_query():
        await asyncio.sleep(0)
        return "rows"

    waiting = loop.create_future()
    loop.call_soon(waiting.set_result, "done later")
    waited: list[bool] = []
    await settle([at_once(), refused_before_waiting(), after_a_query(), waiting], waited)
    assert waited == [False, False, True, True]
