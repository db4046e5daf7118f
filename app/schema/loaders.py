"""Per-request DataLoaders: batch the lookups of many fields into one query each.

Loaders live on the request's context and die with it, so nothing is ever shown from another
request's data.
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from strawberry.dataloader import DataLoader

from app.domain import catalog
from app.domain.catalog import Availability
from app.models import Patron as PatronModel
from app.models import Title as TitleModel
from app.schema.context import Context


def loader(ctx: Context, name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> DataLoader:
    """The request's loader called `name`, created on first use."""
    existing = ctx.loaders.get(name)
    if existing is None:
        existing = ctx.loaders[name] = DataLoader(load_fn=batch)
    return existing


V = TypeVar("V")
R = TypeVar("R")


def then(value: V | Awaitable[V], build: Callable[[V], R]) -> R | Awaitable[R]:
    """`build(value)` now when the value is at hand (read with its row), else an awaitable of it
    (a loader's future): what a sync resolver returns either way."""
    if inspect.isawaitable(value):
        async def later() -> R:
            return build(await value)  # type: ignore[misc]

        return later()
    return build(value)  # type: ignore[arg-type]


def titles(ctx: Context) -> DataLoader[int, TitleModel | None]:
    async def batch(ids: list[int]) -> list[TitleModel | None]:
        found = {t.id: t for t in await TitleModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loader(ctx, "titles", batch)


def availability(ctx: Context) -> DataLoader[int, Availability]:
    async def batch(ids: list[int]) -> list[Availability]:
        found = await catalog.availability(ids)
        return [found.get(i, Availability()) for i in ids]

    return loader(ctx, "availability", batch)


def patrons(ctx: Context) -> DataLoader[int, PatronModel | None]:
    async def batch(ids: list[int]) -> list[PatronModel | None]:
        found = {p.id: p for p in await PatronModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loader(ctx, "patrons", batch)
