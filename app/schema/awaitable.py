"""Whether a resolver's value must be awaited: graphql-core's rule, asked by type first.

Most values are plain data or objects of the schema's own classes, and graphql-core's check
(`graphql.pyutils.is_awaitable`) costs more than a set lookup: a class of which one value was
found not to be awaitable is remembered as such (a generator's answer depends on the generator:
never remembered). Used by the compiled executor and by `loaders.then`.
"""

from __future__ import annotations

from types import GeneratorType
from typing import Any

from graphql.pyutils import is_awaitable as _graphql_is_awaitable

_SYNC_TYPES = {str, int, bool, float, type(None), list, tuple, dict}


def is_awaitable(value: Any) -> bool:
    kind = type(value)
    if kind in _SYNC_TYPES:
        return False
    if _graphql_is_awaitable(value):
        return True
    if kind is not GeneratorType:
        _SYNC_TYPES.add(kind)
    return False
