"""Circulation in GraphQL: loans, holds, the hold cart (the patron's My Page) and the staff desk,
mirroring `app.domain.circulation`: `enums`, `types` (with the patron's lists), `inputs`,
`payloads`, `mutations`, and the `dataloaders` the types batch their fields with.

Resolvers stay thin: the rules are in `app.domain.circulation`. Every field a list can ask for
per row (title, copy, renewability, queue position, holdability) goes through a per-request
DataLoader, so My Page costs the same few statements for 1 loan or 30.
"""

from app.schema.circulation.mutations import CirculationMutation
from app.schema.circulation.types import Hold, HoldCartEntry, Loan, PatronCirculation

NODE_TYPES = [Loan, Hold, HoldCartEntry]

__all__ = ["CirculationMutation", "Hold", "HoldCartEntry", "Loan", "NODE_TYPES", "PatronCirculation"]
