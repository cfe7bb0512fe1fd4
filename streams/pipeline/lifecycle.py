"""Paymend's payment lifecycle as a forward-only order: which status can follow which.

A status event is *applied* when its status is reachable from the current one, *stale* when the
current status is reachable from it (it describes the past: out-of-order delivery), and a
*conflict* otherwise (e.g. VOIDED after CAPTURED: Paymend cannot do that, so something is wrong
and a human must look). Transitions come from paymend-api.md §5.2; jumps along a path are allowed
(REFUNDED may arrive before the CAPTURED that preceded it).
"""

from __future__ import annotations

import enum
from typing import Final

from schemas.enums import PaymentStatus

__all__ = ["Ordering", "compare", "is_live", "is_terminal"]

_NEXT: Final[dict[PaymentStatus, frozenset[PaymentStatus]]] = {
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, PaymentStatus.FAILED, PaymentStatus.VOIDED}
    ),
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.VOIDED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}


def _closure(status: PaymentStatus) -> frozenset[PaymentStatus]:
    seen: set[PaymentStatus] = set()
    todo = list(_NEXT[status])
    while todo:
        nxt = todo.pop()
        if nxt not in seen:
            seen.add(nxt)
            todo.extend(_NEXT[nxt])
    return frozenset(seen)


_REACHABLE: Final = {status: _closure(status) for status in PaymentStatus}


class Ordering(enum.Enum):
    SAME = "same"
    FORWARD = "forward"
    STALE = "stale"
    CONFLICT = "conflict"


def compare(current: PaymentStatus | None, incoming: PaymentStatus) -> Ordering:
    """Where `incoming` stands relative to `current` in the lifecycle."""
    if current is None or incoming in _REACHABLE[current]:
        return Ordering.FORWARD
    if incoming == current:
        return Ordering.SAME
    if current in _REACHABLE[incoming]:
        return Ordering.STALE
    return Ordering.CONFLICT


def is_terminal(status: PaymentStatus | None) -> bool:
    return status is not None and not _NEXT[status]


def is_live(status: PaymentStatus | None) -> bool:
    """PENDING or AUTHORIZED: the customer may still be charged unless the payment is voided."""
    return status in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED)
