"""Who may see a patron's row (利用者の記録を見られる人): the one rule behind every node and list.

A row that belongs to a patron is visible to that patron. Staff see the rows the desk works
with (the patron record, loans, holds, notices) but never what the patron keeps for themself
(the hold cart, favorites, bookshelves, loan history, sessions): reading records are the
patron's secret. Anyone else is told nothing, not even that the row exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Audience(Enum):
    """Who besides the patron may see a kind of row."""

    DESK = "desk"  # the patron and staff: loans, holds, notices, the patron record
    OWNER = "owner"  # the patron alone: the cart, favorites, shelves, history, sessions


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a logged-in patron, a staff member, or a guest (neither)."""

    patron_id: int | None = None
    is_staff: bool = False

    def sees(self, owner_patron_id: int | None, audience: Audience = Audience.DESK) -> bool:
        """Whether a row of the patron `owner_patron_id` (None: linked to nobody, e.g. a
        returned loan) is visible to this viewer."""
        if self.is_staff and audience is Audience.DESK:
            return True
        return self.patron_id is not None and self.patron_id == owner_patron_id

    def is_patron(self, patron_id: int) -> bool:
        """The viewer is this patron (the only one who sees the patron's own library)."""
        return self.sees(patron_id, Audience.OWNER)


GUEST = Viewer()
