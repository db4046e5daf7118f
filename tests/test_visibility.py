"""Who may see a patron's row (`app.domain.visibility`), the rule behind every `node` lookup and
patron-only list: the patron always; staff the desk's rows, never the patron's own library."""

from __future__ import annotations

import pytest

from app.domain.visibility import GUEST, Audience, Viewer

ME, OTHER = 1, 2
PATRON, STAFF = Viewer(patron_id=ME), Viewer(is_staff=True)
DESK, OWNER = Audience.DESK, Audience.OWNER


@pytest.mark.parametrize(("viewer", "owner", "audience", "sees"), [
    (PATRON, ME, DESK, True),  # my loan
    (PATRON, ME, OWNER, True),  # my favorite
    (PATRON, OTHER, DESK, False),  # another patron's hold: it does not exist
    (PATRON, OTHER, OWNER, False),
    (PATRON, None, DESK, False),  # a returned loan, linked to nobody
    (STAFF, ME, DESK, True),  # the desk sees loans, holds, notices, the patron record
    (STAFF, None, DESK, True),
    (STAFF, ME, OWNER, False),  # never the cart, favorites, shelves, history or sessions
    (GUEST, ME, DESK, False),
    (GUEST, ME, OWNER, False),
    (GUEST, None, DESK, False),
    (GUEST, None, OWNER, False),
])
def test_who_sees_a_patrons_row(viewer, owner, audience, sees):
    assert viewer.sees(owner, audience) is sees


def test_only_the_patron_is_the_patron():
    assert PATRON.is_patron(ME) and not PATRON.is_patron(OTHER)
    assert not STAFF.is_patron(ME) and not GUEST.is_patron(ME)
