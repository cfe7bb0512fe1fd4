"""`Policy`: the merchant's choices the decision core follows, taken from settings once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from streams.pipeline.state import StopKind
from streams.settings import Settings

__all__ = ["Policy"]


@dataclass(frozen=True, slots=True)
class Policy:
    refund_captured_on_cancel: bool = True
    refund_captured_on_settled_elsewhere: bool = True
    reconcile_after: timedelta = timedelta(minutes=15)
    recovery_window: timedelta = timedelta(days=14)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            refund_captured_on_cancel=settings.cancel_captured_action == "refund",
            refund_captured_on_settled_elsewhere=settings.settled_elsewhere_captured_action == "refund",
            reconcile_after=timedelta(seconds=settings.reconcile_after_s),
            recovery_window=timedelta(seconds=settings.recovery_window_s),
        )

    def refunds_captured(self, kind: StopKind) -> bool:
        if kind is StopKind.CANCELLED:
            return self.refund_captured_on_cancel
        return self.refund_captured_on_settled_elsewhere
