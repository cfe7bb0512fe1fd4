"""The broker stalled: SIGSTOP for `stall_s` seconds while webhooks keep coming, then SIGCONT.

Before the stall, `payments` declines (PENDING test cards) are recovered up to PENDING, so that
Paymend (the sandbox) resolves them and sends their webhooks while the broker is stopped. The
scenario also POSTs webhooks of its own: some before the stall (200), one after the other during
it (each must be answered 503, never 2xx: the endpoint cannot write), and after SIGCONT it
redelivers every refused one until it is accepted, as Paymend would, and sends a few new ones.
Counted: every webhook the endpoint accepted is on the raw webhook topic (lost otherwise); no 2xx
and nothing but 503 during the stall; and the payments settle as in `payments.settle` (a Paymend
payment each, their final status on the status topic).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import orjson

from schemas.paymend import PaymendWebhookEvent
from tests.chaos.fuzz import samples
from tests.chaos.leaks import read_all
from tests.chaos.payments import (
    PIPELINE_SANDBOX_ENV,
    PIPELINE_WORKER_SETTINGS,
    StatusView,
    Workload,
    settle,
    timeout_for,
    wait_progress,
)
from tests.chaos.result import Result
from tests.fixtures.pipeline import PENDING_APPROVE, PENDING_FAIL_51
from tests.harness.system import System

__all__ = ["broker_stall"]

_OWN = 20  # webhooks of our own before the stall, and as many after it
_REDELIVERY_S = 60.0  # how long refused webhooks are redelivered after the stall


def broker_stall(run_dir: Path, *, stall_s: float = 15.0, payments: int = 300) -> Result:
    result = Result(f"broker SIGSTOP {stall_s:g} s")
    started = time.monotonic()
    sandbox_env = {
        **PIPELINE_SANDBOX_ENV,
        "SANDBOX_PENDING_DELAY_MS": f"uniform:300,{max(400.0, stall_s * 800):.0f}",  # during the stall
    }
    workload = Workload.make("stall", payments, cards=(PENDING_APPROVE, PENDING_FAIL_51))
    with System(run_dir, sandbox_env=sandbox_env, settings_overrides=PIPELINE_WORKER_SETTINGS) as system:
        if system.broker_pid is None:
            raise RuntimeError("the stall scenario needs its own embedded broker")
        system.start_worker()
        view = StatusView(system)
        paid = Result("payments")
        try:
            workload.produce(system)
            if not wait_progress(system, workload, view, payments):
                result.fail(f"{len(view.by_payment)} of {payments} payments had a status before the stall")
            with _Webhooks(system, result) as hooks:
                hooks.send("before", _OWN)
                os.kill(system.broker_pid, signal.SIGSTOP)
                try:
                    during = hooks.send_for(stall_s)
                finally:
                    os.kill(system.broker_pid, signal.SIGCONT)
                two_xx = sum(count for status, count in during.items() if 200 <= status < 300)
                result.check(two_xx == 0, f"{two_xx} webhooks answered 2xx while the broker was stopped")
                others = {status: count for status, count in during.items() if status != 503}
                result.check(not others, f"answers other than 503 during the stall: {others}")
                hooks.redeliver()
                hooks.send("after", _OWN)
            result.details["answers during the stall"] = ", ".join(
                f"{s}: {c}" for s, c in sorted(during.items())
            )
            hooks.count_on_topic()
            settle(system, workload, view, paid, timeout=timeout_for(payments))
        finally:
            view.close()
        result.check(system.worker.alive, f"the worker exited:\n{system.worker.log_tail()}")
    _merge(result, paid)
    result.seconds = time.monotonic() - started
    return result


class _Webhooks:
    """Our own webhooks to the worker: what was sent, accepted, refused."""

    def __init__(self, system: System, result: Result) -> None:
        self.system = system
        self.result = result
        self.url = system.worker.url + system.settings.webhook_path
        self.client = httpx.Client(timeout=10.0)
        self.run = uuid.uuid4().hex[:8]
        self.sent: set[str] = set()
        self.accepted: set[str] = set()
        self.refused: list[bytes] = []

    def __enter__(self) -> _Webhooks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def post(self, name: str) -> int:
        data = samples()["webhook_body"]
        data["eventId"] = f"evt-stall-{self.run}-{name}"
        data["payment"]["merchantReference"] = f"stall-{self.run}-{name}"
        body = orjson.dumps(data)
        self.sent.add(data["eventId"])
        status = self.client.post(self.url, content=body).status_code
        if status == 200:
            self.accepted.add(data["eventId"])
        else:
            self.refused.append(body)
        return status

    def send(self, phase: str, count: int) -> None:
        for n in range(count):
            status = self.post(f"{phase}-{n}")
            self.result.check(status == 200, f"a webhook {phase} the stall was answered {status}")

    def send_for(self, seconds: float) -> dict[int, int]:
        """POST one webhook after the other for `seconds`; returns {status: answers}."""
        answers: Counter[int] = Counter()
        stop_at = time.monotonic() + seconds
        n = 0
        while time.monotonic() < stop_at:
            answers[self.post(f"during-{n}")] += 1
            n += 1
        return dict(answers)

    def redeliver(self) -> None:
        """POST each refused body again until it is accepted, as Paymend redelivers."""
        deadline = time.monotonic() + _REDELIVERY_S
        waiting, self.refused = self.refused, []
        while waiting and time.monotonic() < deadline:
            if self.client.post(self.url, content=waiting[0]).status_code == 200:
                self.accepted.add(orjson.loads(waiting.pop(0))["eventId"])
        self.result.check(not waiting, f"{len(waiting)} refused webhooks were never accepted after the stall")

    def count_on_topic(self) -> None:
        """Every accepted webhook must be on the raw webhook topic."""
        on_topic = {
            PaymendWebhookEvent.decode(value).event_id
            for _, _, value in read_all(self.system, [self.system.settings.topic_webhooks])
        }
        missing = self.accepted - on_topic
        self.result.sent += len(self.sent)
        self.result.arrived += len(self.accepted & on_topic)
        self.result.lost += len(self.sent - (self.accepted & on_topic))
        for event_id in sorted(missing)[:5]:
            self.result.note_failure(f"webhook {event_id} was answered 200 but is not on the raw topic")


def _merge(result: Result, payments: Result) -> None:
    """The payments' figures into the scenario's: losses, duplicates, violations, failures."""
    result.lost += payments.lost
    result.duplicates += payments.duplicates
    result.violations += payments.violations
    result.failures += [f"payments: {f}" for f in payments.failures]
    result.details["payments"] = payments.sent
    result.details["payments final on the status topic"] = payments.arrived
