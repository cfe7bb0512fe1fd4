"""Messages of the internal effects topic: outcomes of Paymend calls and reconciliation commands.

Keyed by payment ID like every other topic, so each message reaches the worker that owns the
payment's state. Internal, but versioned (`v`) like a contract: a rolling deploy runs two versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import orjson

from schemas.enums import PaymentStatus
from streams.pipeline.inputs import CallOutcome, PaymentSnapshot, Reconcile
from streams.pipeline.state import OpKind

__all__ = ["EffectsMessageError", "decode_effect", "encode_outcome", "encode_reconcile"]

VERSION: Final = 1


class EffectsMessageError(ValueError):
    """An effects message this worker cannot read."""


def encode_outcome(outcome: CallOutcome) -> bytes:
    snap = outcome.payment
    return orjson.dumps(
        {
            "v": VERSION,
            "type": "outcome",
            "opId": outcome.op_id,
            "kind": outcome.kind.value,
            "payment": None
            if snap is None
            else {
                "paymentId": snap.paymend_payment_id,
                "status": snap.status.value,
                "at": snap.occurred_at.isoformat(),
                "failureCode": snap.failure_code,
                "providerFailureCode": snap.provider_failure_code,
            },
            "rejectedStatus": outcome.rejected_status,
            "reason": outcome.reason,
        }
    )


def encode_reconcile(command: Reconcile) -> bytes:
    return orjson.dumps({"v": VERSION, "type": "reconcile", "at": command.requested_at.isoformat()})


def decode_effect(raw: bytes | None) -> CallOutcome | Reconcile:
    try:
        data: dict[str, Any] = orjson.loads(raw or b"")
        if data.get("type") == "reconcile":
            return Reconcile(datetime.fromisoformat(data["at"]))
        if data.get("type") != "outcome":
            raise EffectsMessageError(f"unknown effects message type {data.get('type')!r}")
        pay = data.get("payment")
        snapshot = (
            None
            if pay is None
            else PaymentSnapshot(
                pay["paymentId"],
                PaymentStatus(pay["status"]),
                datetime.fromisoformat(pay["at"]),
                pay.get("failureCode"),
                pay.get("providerFailureCode"),
            )
        )
        return CallOutcome(
            data["opId"], OpKind(data["kind"]), snapshot, data.get("rejectedStatus"), data.get("reason")
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, EffectsMessageError):
            raise
        raise EffectsMessageError(f"unreadable effects message: {type(exc).__name__}: {exc}") from None
