"""The per-request DataLoaders of circulation's fields (copies, places in line, hold rules) and
the titles of rows read with them: every field a list asks for per row is batched, so My Page
costs the same few statements for 1 loan or 30."""

from __future__ import annotations

from typing import Awaitable

from app.domain import circulation
from app.models import Item as ItemModel
from app.schema import loaders
from app.schema.catalog import Title
from app.schema.context import Context


def items(ctx: Context):
    async def batch(ids: list[int]) -> list[ItemModel | None]:
        found = {i.id: i for i in await ItemModel.filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return loaders.loader(ctx, "items", batch)


def queue_positions(ctx: Context):
    async def batch(keys: list[tuple[int, int]]) -> list[int | None]:
        found = await circulation.queue_positions(keys)
        return [found.get(hold_id) for hold_id, _ in keys]

    return loaders.loader(ctx, "queue_positions", batch)


def holder_states(ctx: Context):
    async def batch(ids: list[int]) -> list[circulation.HolderState]:
        found = await circulation.holder_states(ids)
        return [found.get(i, circulation.HolderState(i, None)) for i in ids]

    return loaders.loader(ctx, "holder_states", batch)


def with_titles(ctx: Context, rows: list) -> list:
    """Rows fetched with their title joined in: the titles loader is primed, so no list pays a
    second query (or a query per row) for titles."""
    loaders.titles(ctx).know({row.title_id: row.title for row in rows})
    return rows


# Rows of My Page's lists come with what their fields show (title, queue, place in line):
# sync resolvers answer from the row; models (mutations, the desk, `node`) go through loaders.
READ_WITH_TITLE = (circulation.CurrentLoan, circulation.ActiveHold, circulation.CartLine)


def title_of(ctx: Context, row: object) -> Title | Awaitable[Title]:
    if isinstance(row, READ_WITH_TITLE):
        return Title.from_model(row.title)
    return loaders.then(loaders.titles(ctx).load(row.title_id), Title.from_model)  # type: ignore[attr-defined]
