"""The reliability suite's short forms: the scenarios of `make chaos` (`tests/chaos/`) at small sizes.

Each test runs one scenario against real processes (its own embedded broker, the sandbox, worker
processes) and asserts its figures: nothing lost, nothing duplicated, no invariant violated, and
that the chaos really happened (kills, faults, duplicated and reordered webhooks, 503s). The cancel
races property runs in the unit suite (`tests/unit/test_pipeline_properties.py`). The first
test shows, on made-up figures, that the accounting the scenarios share can fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.enums import PaymentStatus, StatusCause
from schemas.status import PaymentStatusChanged
from tests.chaos.payments import StatusView, Workload, account
from tests.chaos.result import Result
from tests.chaos.scenarios import SCENARIOS
from tests.fixtures.pipeline import APPROVE, DECLINE_51

P = PaymentStatus


def status(
    payment: str, new: PaymentStatus, previous: PaymentStatus | None = None, pm: str = "pm_1"
) -> PaymentStatusChanged:
    return PaymentStatusChanged.create(
        payment_id=payment,
        new_status=new,
        previous_status=previous,
        cause=StatusCause.WEBHOOK,
        amount=100,
        currency="EUR",
        occurred_at=datetime.now(UTC),
        paymend_payment_id=pm,
    )


def test_the_accounting_counts_losses_duplicates_and_wrong_statuses() -> None:
    cards = {"ok": APPROVE, "lost": APPROVE, "twice": APPROVE, "stale": APPROVE, "backwards": DECLINE_51}
    cards |= {"two-ids": APPROVE, "live-after-stop": APPROVE, "stopped-early": APPROVE, "replayed": APPROVE}
    workload = Workload(cards, stopped={"live-after-stop", "stopped-early"})
    view = StatusView()
    for event in [
        status("ok", P.AUTHORIZED),
        status("ok", P.AUTHORIZED),  # a replay: same eventId, fine
        status("twice", P.AUTHORIZED),
        status("stale", P.PENDING),  # Paymend says AUTHORIZED: the final status never came
        status("backwards", P.FAILED),
        status("backwards", P.PENDING, P.FAILED),
        status("two-ids", P.AUTHORIZED),
        status("two-ids", P.AUTHORIZED, pm="pm_2"),
        status("live-after-stop", P.AUTHORIZED),
        status("replayed", P.PENDING),
        status("replayed", P.AUTHORIZED, P.PENDING),
        status("replayed", P.PENDING),  # re-published after a crash: its old eventId, ignored
    ]:
        view.add(event)
    held = {
        p: [{"merchantReference": p, "status": "AUTHORIZED"}]
        for p in cards
        if p not in ("lost", "stopped-early")
    }
    held["twice"] = held["twice"] * 2
    held["backwards"] = [{"merchantReference": "backwards", "status": "FAILED"}]
    held["never-declined"] = [{"merchantReference": "never-declined", "status": "AUTHORIZED"}]
    result = Result("made up")

    account(workload, view, held, result)

    assert (result.sent, result.lost, result.duplicates) == (9, 1, 1)
    assert result.arrived == 5  # ok, twice, two-ids, live-after-stop, replayed
    problems = "\n".join(result.failures)
    for expected in [
        "lost: declined, no Paymend payment",
        "twice: 2 Paymend payments",
        "stale: Paymend says AUTHORIZED, the status topic's last is PENDING",
        "backwards: Paymend says FAILED, the status topic's last is PENDING",
        "backwards: status moved FAILED -> PENDING",
        "two-ids: AUTHORIZED published under 2 event IDs",
        "live-after-stop: AUTHORIZED at Paymend after a stop",
        "'never-declined', which was never declined",
    ]:
        assert expected in problems, problems
    assert result.violations == 6
    assert result.details["stopped before Paymend"] == 1
    assert (
        result.details["status replays (same eventId)"],
        result.details["of which after a later status"],
    ) == (2, 1)
    assert not result.ok


def run(name: str, tmp_path: Path) -> Result:
    result = SCENARIOS[name](tmp_path / name, short=True)
    print("\n" + result.summary())
    return result


def assert_clean(result: Result) -> None:
    assert (result.lost, result.duplicates, result.violations) == (0, 0, 0), result.summary()
    assert result.sent > 0


@pytest.mark.integration
def test_kill_9_twice_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result = run("kill", tmp_path)

    assert_clean(result)
    assert result.details["kills"] == 2
    reached = result.sent - int(result.details["stopped before Paymend"])
    assert result.arrived == reached  # every payment Paymend holds has its final status on the topic


@pytest.mark.integration
def test_paymend_faults_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    result = run("faults", tmp_path)

    assert_clean(result)
    assert result.arrived == result.sent - int(result.details["stopped before Paymend"])
    assert int(result.details["error faults"]) > 0
    assert int(result.details["rate-limit faults"]) + int(result.details["timeout faults"]) > 0


@pytest.mark.integration
def test_duplicated_and_reordered_webhooks_give_every_payment_its_final_state(tmp_path: Path) -> None:
    result = run("webhooks", tmp_path)

    assert_clean(result)
    assert result.arrived == result.sent - int(result.details["stopped before Paymend"])
    assert int(result.details["duplicated"]) > 0
    assert int(result.details["reordered"]) > 0
    assert int(result.details["repeated eventIds"]) > 0  # duplicates reached the raw topic...
    # ...and none reached the status topic under another eventId (assert_clean: no violation)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Result:
    run_dir = tmp_path_factory.mktemp("chaos") / "bad-input"
    result = SCENARIOS["bad-input"](run_dir, short=True, seed=20_251_122)
    print("\n" + result.summary())
    return result


@pytest.mark.integration
def test_fuzzed_input_is_dead_lettered_or_refused_with_a_reason(fuzzed: Result) -> None:
    leaks = int(fuzzed.details["places with card numbers"])
    assert (fuzzed.lost, fuzzed.duplicates, fuzzed.violations - leaks) == (0, 0, 0), fuzzed.summary()
    assert fuzzed.arrived == fuzzed.sent
    assert fuzzed.details["tracebacks in the log"] == 0
    assert int(fuzzed.details["records dead-lettered"]) == int(fuzzed.details["records"])


@pytest.mark.integration
def test_no_card_number_of_fuzzed_input_is_logged_stored_or_published(fuzzed: Result) -> None:
    assert fuzzed.details["places with card numbers"] == 0, fuzzed.summary()


@pytest.mark.integration
def test_a_stalled_broker_gets_503_never_2xx_and_loses_nothing(tmp_path: Path) -> None:
    result = run("stall", tmp_path)

    assert_clean(result)
    assert result.arrived == result.sent
    assert str(result.details["answers during the stall"]).startswith("503: ")
    assert result.details["payments final on the status topic"] == result.details["payments"]
