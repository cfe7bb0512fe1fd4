"""The recovery pipeline: a pure decision core (`decide`) and the stateful agent that applies it.

`register(runtime)` puts the `payments` table and its agent, the order router (cancels that name
only an order) and the reconciliation timer on the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.app import Runtime

__all__ = ["register"]


def register(runtime: Runtime) -> None:
    """Register the pipeline's table, agent and reconciliation timer on `runtime.app`."""
    from streams.pipeline.agent import register_agent
    from streams.pipeline.orders import register_order_router
    from streams.pipeline.reconcile import register_reconciliation

    table = register_agent(runtime)
    register_order_router(runtime)
    register_reconciliation(runtime, table)
