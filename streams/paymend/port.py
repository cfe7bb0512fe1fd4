"""The Paymend port: the narrow interface agents depend on (STYLE §6).

Owns: `PaymendPort`, the protocol `PaymendClient` implements. Agents and the pipeline type their
dependency as `PaymendPort`, never as an HTTP-library type, so tests can hand them a fake.
Every method raises only `streams.paymend.errors.PaymendError` subclasses (and ValueError for
arguments that can never be valid).
"""

from __future__ import annotations

from typing import Protocol

from streams.paymend.models import PaymentRequest
from streams.paymend.responses import PaymentResponse

__all__ = ["PaymendPort"]


class PaymendPort(Protocol):
    """The five Paymend operations. `request_id` defaults to a fresh uuid4 per logical call."""

    async def create_payment(
        self, request: PaymentRequest, *, request_id: str | None = None
    ) -> PaymentResponse: ...

    async def get_payment(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse: ...

    async def capture(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse: ...

    async def void(self, payment_id: str, *, request_id: str | None = None) -> PaymentResponse: ...

    async def refund(
        self, payment_id: str, amount: int | None = None, *, request_id: str | None = None
    ) -> PaymentResponse: ...
