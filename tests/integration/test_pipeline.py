"""The recovery pipeline end to end: real broker, real sandbox process, real worker process."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.broker.embedded import free_port
from streams.pipeline.effects_codec import decode_effect
from streams.pipeline.inputs import CallOutcome
from tests.fixtures.pipeline import (
    APPROVE,
    DECLINE_51,
    PENDING_APPROVE,
    PENDING_FAIL_51,
    STAYS_PENDING,
    Stack,
    StackFactory,
    decline_event,
)

pytestmark = pytest.mark.integration


def pid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        (APPROVE, ["AUTHORIZED"]),
        (PENDING_APPROVE, ["PENDING", "AUTHORIZED"]),
        (PENDING_FAIL_51, ["PENDING", "FAILED"]),
        (DECLINE_51, ["FAILED"]),
    ],
)
def test_a_decline_is_recovered_through_paymend(
    stack_factory: StackFactory, card: str, expected: list[str]
) -> None:
    stack = stack_factory()
    payment = pid("happy")
    stack.decline(payment, card)

    events = stack.wait_status(payment, expected[-1])

    assert [e.new_status for e in events] == expected
    assert len({e.event_id for e in events}) == len(events)
    first = events[0]
    assert first.first_decline_code == "51"
    assert first.paymend_payment_id is not None
    assert first.recovered == (expected[-1] == "AUTHORIZED" and len(expected) == 1)
    held = stack.paymend(payment)
    assert held["count"] == 1
    assert held["payments"][0]["status"] == expected[-1]


def test_stops_void_exactly_once_whenever_they_arrive(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    before = pid("cancel-before")
    pending = pid("cancel-pending")
    authorized = pid("cancel-authorized")

    stack.cancel(before)
    stack.wait_until(lambda: processed(stack, stack.settings.topic_order_cancelled) >= 1, 30, "the cancel")
    stack.decline(before, APPROVE)
    stack.decline(pending, STAYS_PENDING)
    stack.decline(authorized, APPROVE)
    stack.wait_status(pending, "PENDING")
    stack.wait_status(authorized, "AUTHORIZED")
    stack.cancel(pending)
    stack.cancel(authorized)

    for payment in (pending, authorized):
        stack.wait_status(payment, "VOIDED")
        assert_voided_once(stack, payment)
    stack.wait_until(lambda: processed(stack, stack.settings.topic_declines) >= 3, 30, "every decline")
    assert stack.paymend(before)["count"] == 0, "a decline after its cancel reached Paymend"
    assert stack.statuses(before) == []


def test_a_cancel_during_the_create_call_voids_the_payment_once_it_exists(
    stack_factory: StackFactory,
) -> None:
    stack = stack_factory(sandbox_env={"SANDBOX_LATENCY_MS": "fixed:1500"})
    payment = pid("cancel-during")
    stack.decline(payment, STAYS_PENDING)
    stack.wait_until(lambda: processed(stack, stack.settings.topic_declines) >= 1, 30, "the decline")

    stack.cancel(payment)  # Paymend has not answered the create yet (1.5 s latency)

    events = stack.wait_status(payment, "VOIDED")
    assert [e.new_status for e in events] == ["PENDING", "VOIDED"]
    assert_voided_once(stack, payment)


def assert_voided_once(stack: Stack, payment: str) -> None:
    held = stack.paymend(payment)
    assert held["count"] == 1
    assert held["payments"][0]["status"] == "VOIDED"
    voids = [t for t in held["payments"][0]["transactions"] if t["type"] == "VOID"]
    assert len(voids) == 1


def processed(stack: Stack, topic: str) -> float:
    return scrape(stack.worker.url, "topic").get(("paymend_streams_events_processed_total", topic), 0.0)


def test_settled_elsewhere_after_capture_refunds_the_double_charge(stack_factory: StackFactory) -> None:
    stack = stack_factory(paymend_capture_now=True)
    payment = pid("settled")
    stack.decline(payment, APPROVE)
    stack.wait_status(payment, "CAPTURED")

    stack.settled_elsewhere(payment, double_charge=True)

    events = stack.wait_status(payment, "REFUNDED")
    assert [e.new_status for e in events] == ["CAPTURED", "REFUNDED"]
    assert events[-1].cause in ("REFUND", "WEBHOOK")  # whichever reached the agent first; same eventId
    held = stack.paymend(payment)["payments"][0]
    assert [t["type"] for t in held["transactions"]].count("REFUND") == 1


def test_duplicated_and_reordered_webhooks_give_the_right_final_state_once(
    stack_factory: StackFactory,
) -> None:
    stack = stack_factory(
        sandbox_env={"SANDBOX_WEBHOOK_DUPLICATE_RATE": "0.5", "SANDBOX_WEBHOOK_REORDER_RATE": "0.5"}
    )
    payments = {pid("chaos"): card for card in [PENDING_APPROVE, PENDING_FAIL_51] * 5}
    for payment, card in payments.items():
        stack.decline(payment, card)

    for payment, card in payments.items():
        final = "AUTHORIZED" if card == PENDING_APPROVE else "FAILED"
        events = stack.wait_status(payment, final)
        statuses = [e.new_status for e in events]
        # PENDING may be skipped: when the final webhook overtakes the create's outcome, PENDING
        # arrives stale and is dropped (state only moves forward). Never backwards, never twice.
        assert statuses in (["PENDING", final], [final]), statuses
        assert len({e.event_id for e in events}) == len(events)
        for earlier, later in itertools.pairwise(events):
            assert later.previous_status == earlier.new_status
    stats = stack.paymend_stats()["webhooks"]
    assert stats["duplicated"] > 0
    assert stats["reordered"] > 0


def test_injected_paymend_faults_still_give_one_payment_per_decline(stack_factory: StackFactory) -> None:
    stack = stack_factory(
        sandbox_env={
            "SANDBOX_FAULT_ERROR_RATE": "0.2",
            "SANDBOX_FAULT_RATE_LIMIT_RATE": "0.05",
            "SANDBOX_FAULT_RETRY_AFTER_MS": "100",
            "SANDBOX_FAULT_COMMIT_ERROR_RATE": "0.1",
            "SANDBOX_FAULT_COMMIT_DROP_RATE": "0.05",
            "SANDBOX_FAULT_TIMEOUT_RATE": "0.03",
            "SANDBOX_FAULT_TIMEOUT_MS": "1500",
        },
        paymend_read_timeout_s=0.5,
    )
    payments = [pid("faults") for _ in range(30)]
    for payment in payments:
        stack.decline(payment, APPROVE)

    for payment in payments:
        stack.wait_status(payment, "AUTHORIZED", timeout=60)
        assert stack.paymend(payment)["count"] == 1
    faults = stack.paymend_stats()["faultsInjected"]
    assert sum(faults.values()) > 0


def test_bad_input_is_dead_lettered_with_its_reason_and_the_worker_goes_on(
    stack_factory: StackFactory,
) -> None:
    stack = stack_factory()
    s = stack.settings
    stack.produce(s.topic_declines, "bad-1", b"{not json")
    stack.produce(s.topic_declines, "bad-2", b'{"paymentId": "bad-2", "amount": -5}')
    no_payment = b'{"orderId": "o-3", "reason": "changed mind", "occurredAt": "2026-11-01T12:00:00Z"}'
    stack.produce(s.topic_order_cancelled, "bad-3", no_payment)
    stack.produce(s.topic_settled_elsewhere, "bad-4", b"[]")
    stack.produce(s.topic_webhooks, "bad-5", b'{"eventId": 1}')
    good = pid("after-bad")
    wrong_key = decline_key_mismatch(stack)
    stack.decline(good, APPROVE)

    stack.wait_status(good, "AUTHORIZED")
    letters = stack.read_all(s.topic_dead_letters, 6)
    assert len(letters) == 6
    reasons = {key.decode() if key else "": loads(value)["reason"] for key, value in letters}
    assert reasons["bad-2"].startswith("DeclineEvent.")  # names the field
    assert "order ID" in reasons["bad-3"]  # keyed neither by its payment nor by its order
    assert "co-partitioning" in reasons[wrong_key]
    for _, value in letters:
        assert b"4444444444440000" not in value


def test_metrics_move_as_payments_resolve(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    payment = pid("metrics")
    stack.decline(payment, PENDING_APPROVE)
    stack.wait_status(payment, "AUTHORIZED")

    url = stack.worker.url
    assert scrape(url, "decline_code")[("paymend_streams_recoveries_started_total", "51")] == 1
    assert scrape(url, "outcome")[("paymend_streams_recovery_outcomes_total", "recovered")] == 1
    assert scrape(url, "operation")[("paymend_streams_paymend_calls_total", "create")] >= 1
    amounts = scrape(url, "currency")
    assert amounts[("paymend_streams_recovered_amount_minor_total", decline_event(payment).currency)] > 0


def decline_key_mismatch(stack: Stack) -> str:
    key = pid("wrong-key")
    stack.produce(stack.settings.topic_declines, key, decline_event(pid("other")).encode())
    return key


def loads(raw: bytes) -> dict[str, object]:
    data: dict[str, object] = orjson.loads(raw)
    return data


def scrape(url: str, label: str) -> dict[tuple[str, str], float]:
    """Sum samples by (name, value of `label`) from a real /metrics scrape."""
    text = httpx.get(url + "/metrics", timeout=5).text
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if label in sample.labels:
                key = (sample.name, sample.labels[label])
                out[key] = out.get(key, 0.0) + sample.value
    return out


def calls_in_flight(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "paymend_streams_paymend_calls_in_flight":
                return sample.value
    raise AssertionError("no paymend_calls_in_flight gauge in /metrics")


def test_kill_9_mid_stream_loses_no_decline_and_creates_no_duplicate(stack_factory: StackFactory) -> None:
    stack = stack_factory(sandbox_env={"SANDBOX_LATENCY_MS": "uniform:5,40"})
    payments = [pid("kill") for _ in range(120)]
    for payment in payments:
        stack.decline(payment, APPROVE)
    stack.wait_until(lambda: sum(bool(stack.statuses(p)) for p in payments) >= 10, 60, "the first recoveries")

    stack.worker.proc.kill()  # SIGKILL: no commit, no flush, calls in flight lost
    stack.worker.proc.wait(timeout=10)
    stack.restart_worker()

    stack.wait_until(lambda: all(stack.statuses(p) for p in payments), 90, "every decline to be recovered")
    for payment in payments:
        events = stack.statuses(payment)
        assert {e.new_status for e in events} == {"AUTHORIZED"}, events
        assert len({e.event_id for e in events}) == 1  # replays carry the same event ID
        assert stack.paymend(payment)["count"] == 1, f"{payment} has a duplicate Paymend payment"


def test_reconciliation_finds_out_what_webhooks_never_said(stack_factory: StackFactory) -> None:
    stack = stack_factory(sandbox_env={"SANDBOX_WEBHOOK_URL": ""})  # Paymend sends no webhooks at all
    payment = pid("silent")
    stack.decline(payment, PENDING_APPROVE)

    events = stack.wait_status(payment, "AUTHORIZED", timeout=45)

    assert [e.new_status for e in events] == ["PENDING", "AUTHORIZED"]
    assert events[-1].cause == "RECONCILIATION"


def test_no_card_number_leaves_the_decline_topic(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    s = stack.settings
    ok, refused = pid("pan-ok"), pid("pan-refused")
    stack.decline(ok, APPROVE)
    stack.decline(refused, DECLINE_51)
    stack.wait_status(ok, "AUTHORIZED")
    stack.wait_status(refused, "FAILED")
    stack.decline(refused, DECLINE_51, attempt=2)  # refused: dead letter carrying the masked decline
    stack.produce(s.topic_declines, "pan-bad", b'{"card": {"number": "4000000000000051", "cvv": "737"}}')
    letters = stack.read_all(s.topic_dead_letters, 2, timeout=30)
    assert len(letters) == 2
    stack.worker.stop()

    outputs = [s.topic_status, s.topic_dead_letters, s.topic_conflicts, s.topic_effects, s.topic_webhooks]
    changelog = f"{s.app_id}-payments-changelog"
    records = stack.read_all([*outputs, changelog], 10_000, timeout=10)
    assert len(records) > 10
    for key, value in records:
        for pan in (APPROVE, DECLINE_51):
            assert pan.encode() not in value
            assert key is None or pan.encode() not in key
        assert b'"737"' not in value
    log = stack.worker.log.read_text()
    assert APPROVE not in log
    assert DECLINE_51 not in log
    assert stack.read_all(changelog, 1, timeout=10), "no payments changelog: wrong topic name?"


def test_a_cancel_that_names_only_its_order_voids_its_payments(stack_factory: StackFactory) -> None:
    stack = stack_factory()
    early, late = pid("order-early"), pid("order-late")
    stack.decline(early, STAYS_PENDING)
    stack.wait_status(early, "PENDING")
    stack.cancel_order(f"order-{early}")  # after the decline: routed at once
    stack.cancel_order(f"order-{late}")  # before the decline: routed when the decline registers
    stack.wait_until(lambda: processed(stack, stack.settings.topic_order_cancelled) >= 2, 30, "the cancels")
    stack.decline(late, STAYS_PENDING)

    for payment in (early, late):
        stack.wait_status(payment, "VOIDED")
        assert_voided_once(stack, payment)


def test_rocksdb_state_lives_on_the_partition_of_its_payment(stack_factory: StackFactory) -> None:
    """The co-partitioning check: memory stores hide a key on the wrong partition, RocksDB does not."""
    stack = stack_factory(worker_store="rocksdb://", topic_partitions=4)
    payments = [pid("copart") for _ in range(24)]
    for payment in payments:
        stack.decline(payment, APPROVE)
    for payment in payments:
        stack.wait_status(payment, "AUTHORIZED")
    changelog = f"{stack.settings.app_id}-payments-changelog"

    records = stack.read_records([stack.settings.topic_declines, changelog], 10_000, timeout=10)

    where: dict[str, dict[str, set[int]]] = {}
    for topic, partition, key, _ in records:
        assert key is not None
        where.setdefault(key.decode(), {}).setdefault(topic, set()).add(partition)
    assert len({next(iter(w[stack.settings.topic_declines])) for w in where.values()}) > 1, (
        "one partition only"
    )
    for payment in payments:
        assert where[payment][changelog] == where[payment][stack.settings.topic_declines], payment


def test_calls_in_flight_across_a_rebalance_settle_through_the_new_owner(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    """A call's outcome is applied in its own task only while no rebalance happened since the call
    started; otherwise it goes through the effects topic to whoever owns the payment now."""
    stack = stack_factory(sandbox_env={"SANDBOX_LATENCY_MS": "fixed:4000"})
    payments = [pid("rebalance") for _ in range(16)]
    for payment in payments:
        stack.decline(payment, APPROVE)
    stack.wait_until(lambda: calls_in_flight(stack.worker.url) >= 8, 30, "calls in flight")

    second = dataclasses.replace(
        stack.settings, worker_web_port=free_port(), worker_data_dir=str(tmp_path / "second-worker")
    )
    stack.start_worker(second)  # joins the group: a rebalance while the calls are in flight

    stack.wait_until(lambda: all(stack.statuses(p) for p in payments), 90, "every decline to be recovered")
    for payment in payments:
        assert {e.new_status for e in stack.statuses(payment)} == {"AUTHORIZED"}
        assert stack.paymend(payment)["count"] == 1, f"{payment} has a duplicate Paymend payment"
    effects = stack.read_all(stack.settings.topic_effects, 10_000, timeout=5)
    outcomes = [value for _, value in effects if isinstance(decode_effect(value), CallOutcome)]
    assert outcomes, "no outcome went through the effects topic: the rebalance missed the calls in flight"
