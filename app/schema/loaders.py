"""Per-request DataLoaders: batch the lookups of many fields into one query each.

Loaders live on the request's context and die with it, so nothing is ever shown from another
request's data.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, Sequence, TypeVar

from strawberry.dataloader import DataLoader

from app.domain import catalog
from app.domain.catalog import Availability
from app.models import Patron as PatronModel
from app.models import Title as TitleModel
from app.schema.awaitable import is_awaitable
from app.schema.context import Context


class Loader(DataLoader):
    """A DataLoader that also answers from values the request read along with something else
    (a page's titles and their availability): `know` them, and a `load` of one of them costs no
    query. Cheaper than `prime_many`, which makes a future for every value, asked for or not."""

    def __init__(self, load_fn: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> None:
        super().__init__(load_fn=load_fn)
        self.known: dict[Any, Any] = {}

    def know(self, values: Mapping[Any, Any]) -> None:
        """Values read with something else; the first value known (or loaded) for a key stands."""
        self.known = {**values, **self.known} if self.known else dict(values)

    def load(self, key: Any) -> Awaitable[Any]:
        if key in self.known and self.cache_map.get(key) is None:
            future = self.loop.create_future()
            future.set_result(self.known[key])
            self.cache_map.set(key, future)
            return future
        return super().load(key)


def loader(ctx: Context, name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> Loader:
    """The request's loader called `name`, created on first use."""
    existing = ctx.loaders.get(name)
    if existing is None:
        existing = ctx.loaders[name] = Loader(batch)
    return existing


V = TypeVar("V")
R = TypeVar("R")


def then(value: V | Awaitable[V], build: Callable[[V], R]) -> R | Awaitable[R]:
    """`build(value)` now when the value is at hand (read with its row), else an awaitable of it
    (a loader's future): what a sync resolver returns either way."""
    if is_awaitable(value):
        async def later() -> R:
            return build(await value)  # type: ignore[misc]

        return later()
    return build(value)  # type: ignore[arg-type]


def titles(ctx: Context) -> Loader:
    async def batch(ids: list[int]) -> list[TitleModel | None]:
        found = {t.id: t for t in await TitleModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loader(ctx, "titles", batch)


def availability(ctx: Context) -> Loader:
    async def batch(ids: list[int]) -> list[Availability]:
        found = await catalog.availability(ids)
        return [found.get(i, Availability()) for i in ids]

    return loader(ctx, "availability", batch)


def patrons(ctx: Context) -> Loader:
    async def batch(ids: list[int]) -> list[PatronModel | None]:
        found = {p.id: p for p in await PatronModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loader(ctx, "patrons", batch)
