"""The session lookup reads plain rows (`sessions.LiveSession`), not models: they carry every
column of the patron and the staff member that code reads from the request's account, with
the types the models would give them, on both databases."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime

from app.domain import sessions
from app.models import Patron, Staff
from app.models.enums import SessionKind, StaffRole
from tests.support import make_patron, make_staff


def test_the_rows_have_the_models_columns():
    assert {f.name for f in fields(sessions.PatronRow)} == set(Patron._meta.db_fields)
    # A staff session never needs the password hash.
    assert {f.name for f in fields(sessions.StaffRow)} == set(Staff._meta.db_fields) - {"password_hash"}


async def test_a_patron_session_resolves_to_typed_rows(deps):
    patron = await make_patron(deps, email="koga@example.jp")
    session = await sessions.resolve(deps, await sessions.start(deps, patron=patron))
    assert session is not None and session.kind is SessionKind.PATRON and session.staff is None
    row = session.patron
    assert row is not None and row.id == patron.id == session.patron_id
    model = await Patron.get(id=patron.id)
    assert {f.name: getattr(row, f.name) for f in fields(row)} == {c: getattr(model, c) for c in Patron._meta.db_fields}
    assert row.notify_due_reminder is True and row.is_active is True
    assert isinstance(row.birth_date, date) and isinstance(row.created_at, datetime) and row.created_at.tzinfo


async def test_a_staff_session_resolves_to_typed_rows(deps):
    staff = await make_staff(deps, role=StaffRole.ADMIN)
    session = await sessions.resolve(deps, await sessions.start(deps, staff=staff))
    assert session is not None and session.kind is SessionKind.STAFF and session.patron is None
    row = session.staff
    assert row is not None and (row.id, row.username, row.role, row.is_active) == (staff.id, "desk1", StaffRole.ADMIN,
                                                                                  True)
