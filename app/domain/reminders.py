"""Due-date reminders (返却日メール): queued once a day by the worker, REMINDER_DAYS before the due date.

One notice per patron and due date, listing every loan due that day: a patron with three books
due on Friday gets one mail, not three. The dedupe key `due_reminder:<patron>:<due date>` makes
the step idempotent, and a renewal moves the loan to a new due date, hence a new key and a new
reminder for it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from app.domain import events, notices
from app.domain.deps import Deps
from app.models import Loan, Notice, Patron
from app.models.enums import EventKind, NoticeKind


def dedupe_key(patron_id: int, due_date_iso: str) -> str:
    return f"due_reminder:{patron_id}:{due_date_iso}"


async def queue_due_reminders(deps: Deps) -> int:
    """Queue the reminders due today; returns how many new notices were written.

    Loans due between today and today + REMINDER_DAYS are covered, so a day the worker missed
    is caught up (a loan due tomorrow still gets its reminder), while the dedupe key keeps it to
    one reminder per patron and due date.
    """
    today = deps.today()
    last_day = today + timedelta(days=deps.settings.policy.reminder_days_before_due)
    include_titles = deps.settings.notices_include_titles
    async with in_transaction():
        query = Loan.filter(
            returned_at=None, due_date__gte=today, due_date__lte=last_day,
            patron__notify_due_reminder=True, patron__is_active=True,
            patron__contact_email__isnull=False,
        ).order_by("due_date", "id")
        # Titles are read only when the library chose to name them (patron privacy).
        loans = await (query.select_related("title") if include_titles else query)
        groups: dict[tuple[int, str], list[Loan]] = defaultdict(list)
        for loan in loans:
            groups[(loan.patron_id, loan.due_date.isoformat())].append(loan)
        if not groups:
            return 0
        keys = {dedupe_key(p, d): (p, d) for p, d in groups}
        existing = set(await Notice.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
        contacts = dict(
            await Patron.filter(id__in={p for p, _ in groups}).values_list("id", "contact_email")
        )
        written = 0
        for key, (patron_id, due) in keys.items():
            if key in existing:
                continue
            due_loans = groups[(patron_id, due)]
            # No loan ids: a returned loan is anonymised, and the notice must not re-link it.
            data = {"due_date": due, "count": len(due_loans)}
            if include_titles:
                data["titles"] = [loan.title.title for loan in due_loans]
            await notices.enqueue(deps, NoticeKind.DUE_REMINDER, dedupe_key=key, patron_id=patron_id,
                                  to_address=contacts[patron_id], data=data)
            written += 1
    return written


async def announce_due_soon(deps: Deps) -> int:
    """Tell every patron with a loan due within REMINDER_DAYS, live, whatever their e-mail choice
    (the app is theirs to look at): one event per patron and due date; how many were written.
    (A daily step of the worker, after the reminders.)"""
    today = deps.today()
    last_day = today + timedelta(days=deps.settings.policy.reminder_days_before_due)
    due = await Loan.filter(returned_at=None, due_date__gte=today, due_date__lte=last_day,
                            patron_id__isnull=False).values_list("patron_id", "due_date")
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for patron_id, due_date in due:
        counts[(patron_id, due_date)] += 1
    async with in_transaction():
        for (patron_id, due_date), count in sorted(counts.items()):
            await events.publish(deps, patron_id, EventKind.LOAN_DUE_SOON, due_date=due_date.isoformat(),
                                 count=count)
    return len(counts)
