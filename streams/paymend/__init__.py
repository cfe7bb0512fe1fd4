"""The Paymend API client: typed requests and responses, errors, retries, and the HTTP client.

Public surface (import from `streams.paymend`):
- `PaymendClient`: one per process, `PaymendClient.from_settings(settings)`, used as
  `async with`; methods `create_payment`, `get_payment`, `capture`, `void`, `refund`.
- `PaymendPort`: the protocol agents depend on instead of the client class.
- Requests (`models`, `details`): `PaymentRequest` and its parts `PaymentMethod`, `Card`,
  `Source`, `PreviousFailure`; `Consumer`, `Billing`, `Address`, `Shipping`, `ProductItem`.
- Responses (`responses`): `PaymentResponse` and `Failure`, `Transaction`, `PaymentMethodResponse`,
  `CardResponse`, `SourceResponse`.
- Enums (`enums`): `PaymentStatus`, `GoodsType`, `InitiatedBy`, `PaymentMethodType`,
  `TransactionType`, `TransactionResult`.
- Errors (`errors`, tree in its docstring): `PaymendError` > `PaymendUnavailable`,
  `PaymendRejected` (> `PaymendInvalidRequest`, `PaymendUnauthorized`, `PaymendNotFound`,
  `PaymendConflict`), `PaymendProtocolError`; `CallContext`.
- Retries (`retry`): `RetryPolicy`, `should_retry`, `parse_retry_after`.
- `CallObserver`: the per-attempt hook for metrics (operation, outcome, seconds).

The API contract and its open questions: /work/shared/paymend-api.md (kept in the repo docs).
"""

from streams.paymend.client import CallObserver, PaymendClient, Sleep
from streams.paymend.details import Address, Billing, Consumer, ProductItem, Shipping
from streams.paymend.enums import (
    GoodsType,
    InitiatedBy,
    PaymentMethodType,
    PaymentStatus,
    TransactionResult,
    TransactionType,
)
from streams.paymend.errors import (
    CallContext,
    PaymendConflict,
    PaymendError,
    PaymendInvalidRequest,
    PaymendNotFound,
    PaymendProtocolError,
    PaymendRejected,
    PaymendUnauthorized,
    PaymendUnavailable,
)
from streams.paymend.models import Card, PaymentMethod, PaymentRequest, PreviousFailure, Source
from streams.paymend.port import PaymendPort
from streams.paymend.responses import (
    CardResponse,
    Failure,
    PaymentMethodResponse,
    PaymentResponse,
    SourceResponse,
    Transaction,
)
from streams.paymend.retry import RetryPolicy, parse_retry_after, should_retry

__all__ = [
    "Address",
    "Billing",
    "CallContext",
    "CallObserver",
    "Card",
    "CardResponse",
    "Consumer",
    "Failure",
    "GoodsType",
    "InitiatedBy",
    "PaymendClient",
    "PaymendConflict",
    "PaymendError",
    "PaymendInvalidRequest",
    "PaymendNotFound",
    "PaymendPort",
    "PaymendProtocolError",
    "PaymendRejected",
    "PaymendUnauthorized",
    "PaymendUnavailable",
    "PaymentMethod",
    "PaymentMethodResponse",
    "PaymentMethodType",
    "PaymentRequest",
    "PaymentResponse",
    "PaymentStatus",
    "PreviousFailure",
    "ProductItem",
    "RetryPolicy",
    "Shipping",
    "Sleep",
    "Source",
    "SourceResponse",
    "Transaction",
    "TransactionResult",
    "TransactionType",
    "parse_retry_after",
    "should_retry",
]
