"""Renewing a loan (延長) on the web, by the rule `renewal_blocks`."""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.domain import catalog
from app.domain.circulation.rules import due_date_from, renewal_blocks
from app.domain.deps import Deps
from app.domain.errors import DomainError, ErrorCode
from app.models import Loan, Patron


async def renew_loan(deps: Deps, patron: Patron, loan_id: int | None) -> Loan:
    """延長: the patron's own current loan, due again a loan period from today."""
    today, now = deps.today(), deps.now()
    async with in_transaction():
        # The row lock makes two simultaneous renewals of one loan take turns (renew once).
        loan = await Loan.filter(id=loan_id or 0, patron_id=patron.id, returned_at=None).select_for_update().first()
        if loan is None:
            raise DomainError(ErrorCode.NOT_FOUND, "loan_id")
        queue = (await catalog.availability([loan.title_id]))[loan.title_id]
        blocks = renewal_blocks(loan, today, deps.settings.policy, queue.holds_waiting, queue.material_type)
        if blocks:
            raise DomainError(failures=blocks)
        # A renewal never shortens a loan (e.g. renewed on the day it was lent).
        due = max(loan.due_date, await due_date_from(deps, today))
        renewed = await Loan.filter(id=loan.id, renewal_count=loan.renewal_count, returned_at=None).update(
            renewal_count=F("renewal_count") + 1, due_date=due, last_renewed_at=now
        )
        if renewed != 1:  # only without row locks (never expected): someone renewed first
            raise DomainError(ErrorCode.RENEWAL_LIMIT_REACHED, "loan_id", limit=deps.settings.policy.renewal_limit)
        return await Loan.get(id=loan.id)
