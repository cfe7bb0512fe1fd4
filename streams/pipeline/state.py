"""`PaymentState`: what the service knows about one payment, one table row keyed by payment ID.

It holds no card data and no personal data: only what the decisions need (amounts, codes, Paymend's
status and ID, the intent of the call in flight, a stop request, recent webhook event IDs, the
recent status changes with the input that caused each). Values are immutable; a decision returns a
new state. Stored as compact JSON (orjson) in the faust table's changelog; unknown keys are
ignored on read so that a newer worker's rows load in an older one during a rolling deploy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Self

import orjson

from schemas.enums import PaymentStatus, StatusCause

__all__ = [
    "DeclineInfo",
    "OpKind",
    "Operation",
    "PaymentState",
    "StatusEntry",
    "StopKind",
    "StopRequest",
]

#: Bounds that keep a row small whatever happens to a payment.
MAX_DECLINES: Final = 20
MAX_EVENT_IDS: Final = 32
MAX_HISTORY: Final = 8

STATE_VERSION: Final = 1


class OpKind(enum.StrEnum):
    CREATE = "CREATE"
    VOID = "VOID"
    REFUND = "REFUND"
    QUERY = "QUERY"


class StopKind(enum.StrEnum):
    CANCELLED = "CANCELLED"
    SETTLED_ELSEWHERE = "SETTLED_ELSEWHERE"


@dataclass(frozen=True, slots=True)
class DeclineInfo:
    """One failed attempt at the merchant's provider (becomes a Paymend `PreviousFailure`)."""

    provider: str
    code: str
    attempt: int
    occurred_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"p": self.provider, "c": self.code, "a": self.attempt, "t": self.occurred_at.isoformat()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        return cls(d["p"], d["c"], int(d["a"]), datetime.fromisoformat(d["t"]))


@dataclass(frozen=True, slots=True)
class StopRequest:
    """The merchant asked to stop: the order was cancelled, or the customer paid elsewhere."""

    kind: StopKind
    requested_at: datetime
    double_charge: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind.value, "t": self.requested_at.isoformat(), "d": self.double_charge}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        return cls(StopKind(d["k"]), datetime.fromisoformat(d["t"]), bool(d.get("d", False)))


@dataclass(frozen=True, slots=True)
class Operation:
    """The intent of a Paymend call, recorded before the call. `op_id` ties its outcome to it."""

    kind: OpKind
    op_id: str
    started_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind.value, "i": self.op_id, "t": self.started_at.isoformat()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        return cls(OpKind(d["k"]), d["i"], datetime.fromisoformat(d["t"]))


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """A status change the service published, and the input (`topic:offset`) that caused it."""

    previous: PaymentStatus | None
    status: PaymentStatus
    cause: StatusCause
    source: str
    occurred_at: datetime
    failure_code: str | None = None
    provider_failure_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "f": self.previous.value if self.previous else None,
            "s": self.status.value,
            "c": self.cause.value,
            "o": self.source,
            "t": self.occurred_at.isoformat(),
            "fc": self.failure_code,
            "pc": self.provider_failure_code,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        return cls(
            PaymentStatus(d["f"]) if d.get("f") else None,
            PaymentStatus(d["s"]),
            StatusCause(d["c"]),
            d["o"],
            datetime.fromisoformat(d["t"]),
            d.get("fc"),
            d.get("pc"),
        )


@dataclass(frozen=True, slots=True)
class PaymentState:
    """Everything known about one payment. `status` is Paymend's, None until Paymend has answered."""

    payment_id: str
    order_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    store_id: str | None = None
    declines: tuple[DeclineInfo, ...] = ()
    status: PaymentStatus | None = None
    paymend_payment_id: str | None = None
    operation: Operation | None = None
    op_seq: int = 0
    stop: StopRequest | None = None
    rejected: str | None = None
    seen_event_ids: tuple[str, ...] = ()
    history: tuple[StatusEntry, ...] = ()
    applied: dict[str, int] = field(default_factory=dict)
    status_since: datetime | None = None

    # --- derived -----------------------------------------------------------------------------
    @property
    def first_decline(self) -> DeclineInfo | None:
        return self.declines[0] if self.declines else None

    @property
    def at_paymend(self) -> bool:
        """A create has been attempted: Paymend may hold a payment under this reference."""
        creating = self.operation is not None and self.operation.kind is OpKind.CREATE
        return self.status is not None or creating

    def with_decline(self, decline: DeclineInfo) -> PaymentState:
        """The state with `decline` recorded once (redeliveries and duplicates are ignored)."""
        if decline in self.declines:
            return self
        declines = sorted((*self.declines, decline), key=lambda d: (d.attempt, d.occurred_at))
        return replace(self, declines=tuple(declines[:MAX_DECLINES]))

    def with_event_id(self, event_id: str) -> PaymentState:
        return replace(self, seen_event_ids=(*self.seen_event_ids, event_id)[-MAX_EVENT_IDS:])

    def with_entry(self, entry: StatusEntry) -> PaymentState:
        return replace(
            self,
            status=entry.status,
            status_since=entry.occurred_at,
            history=(*self.history, entry)[-MAX_HISTORY:],
        )

    def with_applied(self, topic: str, offset: int) -> PaymentState:
        if self.applied.get(topic, -1) >= offset:
            return self
        return replace(self, applied={**self.applied, topic: offset})

    def next_operation(self, kind: OpKind, now: datetime) -> PaymentState:
        seq = self.op_seq + 1
        return replace(self, operation=Operation(kind, f"{kind.value.lower()}-{seq}", now), op_seq=seq)

    # --- storage -----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "v": STATE_VERSION,
                "id": self.payment_id,
                "order": self.order_id,
                "amount": self.amount,
                "currency": self.currency,
                "store": self.store_id,
                "declines": [d.to_json() for d in self.declines],
                "status": self.status.value if self.status else None,
                "pid": self.paymend_payment_id,
                "op": self.operation.to_json() if self.operation else None,
                "seq": self.op_seq,
                "stop": self.stop.to_json() if self.stop else None,
                "rejected": self.rejected,
                "events": list(self.seen_event_ids),
                "history": [h.to_json() for h in self.history],
                "applied": self.applied,
                "since": self.status_since.isoformat() if self.status_since else None,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> PaymentState:
        d = orjson.loads(raw)
        return cls(
            payment_id=d["id"],
            order_id=d.get("order"),
            amount=d.get("amount"),
            currency=d.get("currency"),
            store_id=d.get("store"),
            declines=tuple(DeclineInfo.from_json(x) for x in d.get("declines", ())),
            status=PaymentStatus(d["status"]) if d.get("status") else None,
            paymend_payment_id=d.get("pid"),
            operation=Operation.from_json(d["op"]) if d.get("op") else None,
            op_seq=int(d.get("seq", 0)),
            stop=StopRequest.from_json(d["stop"]) if d.get("stop") else None,
            rejected=d.get("rejected"),
            seen_event_ids=tuple(d.get("events", ())),
            history=tuple(StatusEntry.from_json(x) for x in d.get("history", ())),
            applied={str(k): int(v) for k, v in d.get("applied", {}).items()},
            status_since=datetime.fromisoformat(d["since"]) if d.get("since") else None,
        )
