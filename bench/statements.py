"""Counting the SQL statements the app sends to the database: the one counter, for the
benchmark's report and the tests' statement budgets (My Page, the query cost guard).

While the block runs, every execute method of Tortoise's database clients (SQLite, asyncpg,
their transaction wrappers) is wrapped, and the batches of reads of `app.sqlite_client` (each
read counts). A transaction counts as its two statements, BEGIN and
COMMIT or ROLLBACK (a nested one as its SAVEPOINT and RELEASE); a statement issued through
another statement's method (one client method calling another) is counted once.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Any, Iterator

from tortoise.backends.base.client import BaseDBAsyncClient

_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script")


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class StatementCounter:
    """The statements run inside `installed()`, each as a one-line summary (160 characters)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar("sql_depth", default=0)

    @property
    def count(self) -> int:
        return len(self.statements)

    def _wrap(self, method: Any) -> Any:
        @functools.wraps(method)
        async def counted(client: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if self._depth.get() == 0:
                self.statements.append(" ".join(str(query).split())[:160])
            token = self._depth.set(self._depth.get() + 1)
            try:
                return await method(client, query, *args, **kwargs)
            finally:
                self._depth.reset(token)

        return counted

    def _wrap_batch(self, method: Any) -> Any:
        # The reads of `app.sqlite_client`, run together: each one counts.
        @functools.wraps(method)
        async def counted(connection: Any, statements: list[tuple[str, list]]) -> Any:
            self.statements.extend(" ".join(str(sql).split())[:160] for sql, _params in statements)
            return await method(connection, statements)

        return counted

    def _wrap_transaction(self, method: Any) -> Any:
        @functools.wraps(method)
        def in_transaction(client: Any, *args: Any, **kwargs: Any) -> Any:
            self.statements.extend(("BEGIN", "COMMIT"))
            return method(client, *args, **kwargs)

        return in_transaction

    @contextlib.contextmanager
    def installed(self) -> Iterator[StatementCounter]:
        """Wrap the clients' methods for the duration of the block."""
        import tortoise.backends.asyncpg.client  # noqa: F401  (load both clients' classes)
        import tortoise.backends.sqlite.client  # noqa: F401

        originals: list[tuple[type, str, Any]] = []
        for cls in [BaseDBAsyncClient, *_subclasses(BaseDBAsyncClient)]:
            for name in (*_METHODS, "_in_transaction"):
                if name in cls.__dict__:
                    original = cls.__dict__[name]
                    originals.append((cls, name, original))
                    wrap = self._wrap_transaction if name == "_in_transaction" else self._wrap
                    setattr(cls, name, wrap(original))
        from app.sqlite_client import BatchedReads

        batched = BatchedReads.__dict__["execute"]
        BatchedReads.execute = staticmethod(self._wrap_batch(batched.__func__))  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BatchedReads.execute = batched  # type: ignore[method-assign]
            for cls, name, original in reversed(originals):
                setattr(cls, name, original)

    def reset(self) -> None:
        self.statements.clear()


@contextlib.contextmanager
def counting_statements() -> Iterator[list[str]]:
    """The statements run inside the block (the list grows as they run)."""
    counter = StatementCounter()
    with counter.installed():
        yield counter.statements
