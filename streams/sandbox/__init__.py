"""A stateful simulator of the Paymend API, served over HTTP (aiohttp) for local runs, demos,
integration and load tests. Independent of `streams.paymend`: it implements the documented API
(/work/shared/paymend-api.md) on its own, so the client is tested against code it shares nothing with.

Modules, one concern each:

- `config`: `SandboxConfig`, every knob (flag `--x-y`, env `SANDBOX_X_Y`).
- `distributions`: delay specs (`fixed:`, `uniform:`, `lognormal:`).
- `cards`: test cards -> outcomes, CardResponse (BIN), the seeded mix.
- `validation`: request checks -> the path of the offending field.
- `model`: Payment, Transaction, ids, the PaymentResponse rendering.
- `rules`: authorization results and the capture/void/refund state rules (pure).
- `lifecycle`: PENDING resolution plans, the recovery window, their timers.
- `store`: payments by id and merchantReference, waiters.
- `service`: the operations, wired to the store, timers and events.
- `webhooks`: delivery, redelivery, duplication/reordering, token and HMAC signature.
- `faults`: latency, 5xx, 429, drops, timeouts, fail-after-commit.
- `errors`: JSON bodies and the error answers.
- `core`: `Sandbox`, the in-process surface; `app`, `introspection`: the HTTP routes;
  `server`: `SandboxServer`; `cli`: `python -m streams sandbox`.
"""

from streams.sandbox.config import SandboxConfig, SandboxConfigError
from streams.sandbox.server import SandboxServer

__all__ = ["SandboxConfig", "SandboxConfigError", "SandboxServer"]
