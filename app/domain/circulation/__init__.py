"""Circulation (貸出・延長・予約・予約カート・カウンター業務): the library's lending rules and the
operations that follow them, one module per concept:

- `rules`: the rules themselves, pure functions used by both the mutation and the eligibility
  field a client shows before the patron tries: `renewal_blocks` (延長), `hold_blocks` (予約),
  `cancel_blocks` (取消); the due date and pickup deadline.
- `renewals`: renewing a loan; `holds`: placing and cancelling holds; `cart`: the hold cart;
  `desk`: checkout and check-in at the counter; `expiry`: uncollected holds (取置期限切れ).
- `queue`: the order of a title's holds and where a free copy goes (trapped for the first in
  line, or back to the shelf).
- `locks`: what each operation locks, and in which order.
- `mypage`: the patron's lists as My Page reads them, and each list's order.

Concurrency: every operation that changes holds or copies runs in one transaction that first
locks what it depends on, always in the same order (`locks`). The partial unique indexes of
migration 0002 (one active hold per patron and title, one ready hold per copy, one open loan
per copy) back the locks up.

The names below are the package's interface: callers write `circulation.checkin(...)`.
"""

from app.domain.circulation.cart import add_to_cart, place_holds_from_cart, remove_from_cart
from app.domain.circulation.desk import Checkin, Checkout, checkin, checkout
from app.domain.circulation.expiry import ExpiryReport, expire_holds
from app.domain.circulation.holds import (
    Cancelled, HoldAttempt, cancel_hold, holder_states, place_hold, place_hold_for_patron,
)
from app.domain.circulation.mypage import (
    CANCELLED_ORDER, CART_KEY_TYPES, HOLD_LIST_KEY_TYPES, LOAN_LIST_KEY_TYPES, ActiveHold, CartLine, CurrentLoan,
    active_holds, cancelled_holds, cart_key, cart_lines, current_loans, hold_list_key, loan_list_key,
)
from app.domain.circulation.queue import queue_positions
from app.domain.circulation.renewals import renew_loan
from app.domain.circulation.rules import (
    HolderState, cancel_blocks, hold_blocks, holdable_on_web, is_overdue, local_date, renewal_blocks,
)

__all__ = [
    "ActiveHold", "CANCELLED_ORDER", "CART_KEY_TYPES", "Cancelled", "CartLine", "Checkin", "Checkout", "CurrentLoan", "ExpiryReport",
    "HOLD_LIST_KEY_TYPES", "HoldAttempt", "HolderState", "LOAN_LIST_KEY_TYPES", "active_holds",
    "add_to_cart", "cancel_blocks", "cancel_hold", "cancelled_holds", "cart_key", "cart_lines", "checkin", "checkout", "current_loans",
    "expire_holds", "hold_blocks", "hold_list_key", "holdable_on_web", "holder_states",
    "is_overdue", "loan_list_key", "local_date", "place_hold",
    "place_hold_for_patron", "place_holds_from_cart", "queue_positions", "remove_from_cart", "renew_loan",
    "renewal_blocks",
]
