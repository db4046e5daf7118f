"""Counting the SQL statements one request executes: every execute method of Tortoise's database
clients (SQLite, asyncpg, their transaction wrappers) is wrapped while a real document goes
through the real app in-process. A statement issued through another statement's method (one
client method calling another) is counted once."""

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
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar("sql_depth", default=0)

    def _wrap(self, method: Any) -> Any:
        @functools.wraps(method)
        async def counted(client: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            outer = self._depth.get() == 0
            if outer:
                self.count += 1
                self.statements.append(" ".join(str(query).split())[:160])
            token = self._depth.set(self._depth.get() + 1)
            try:
                return await method(client, query, *args, **kwargs)
            finally:
                self._depth.reset(token)

        return counted

    @contextlib.contextmanager
    def installed(self) -> Iterator[StatementCounter]:
        """Wrap the clients' methods for the duration of the block."""
        import tortoise.backends.asyncpg.client  # noqa: F401  (load both clients' classes)
        import tortoise.backends.sqlite.client  # noqa: F401

        originals: list[tuple[type, str, Any]] = []
        for cls in [BaseDBAsyncClient, *_subclasses(BaseDBAsyncClient)]:
            for name in _METHODS:
                if name in cls.__dict__:
                    originals.append((cls, name, cls.__dict__[name]))
                    setattr(cls, name, self._wrap(cls.__dict__[name]))
        try:
            yield self
        finally:
            for cls, name, original in originals:
                setattr(cls, name, original)

    def reset(self) -> None:
        self.count = 0
        self.statements = []
