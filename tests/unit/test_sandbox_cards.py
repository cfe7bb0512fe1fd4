"""Sandbox test cards: outcome per card number, the seeded mix, the masked CardResponse."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from streams.sandbox.cards import (
    DECLINE_CODES,
    Outcome,
    OutcomeKind,
    card_response,
    decide_outcome,
    infer_brand,
    known_card_outcome,
    mix_outcome,
    seeded_fractions,
)

NOW = datetime(2026, 6, 15, tzinfo=UTC)
WEIGHTS = (0.80, 0.10, 0.06, 0.04)


def card(number: str, month: str = "12", year: str = "2030", **extra: str) -> dict[str, str]:
    return {"number": number, "holderName": "J D", "expiryMonth": month, "expiryYear": year, **extra}


def decide(number: str, reference: str = "R", seed: int = 0) -> Outcome:
    return decide_outcome(card(number), reference, now=NOW, seed=seed, weights=WEIGHTS, decline_expired=True)


@pytest.mark.parametrize(
    ("number", "kind", "failure_code", "provider_code"),
    [
        ("4444444444440000", OutcomeKind.APPROVE, None, None),
        ("5555555555550000", OutcomeKind.APPROVE, None, None),
        ("370000000000002", OutcomeKind.APPROVE, None, None),
        ("4000000000000051", OutcomeKind.DECLINE, "INSUFFICIENT_FUNDS", "51"),
        ("4000000000000005", OutcomeKind.DECLINE, "DO_NOT_HONOR", "05"),
        ("4000000000000054", OutcomeKind.DECLINE, "EXPIRED_CARD", "54"),
        ("4000000000000091", OutcomeKind.DECLINE, "ISSUER_UNAVAILABLE", "91"),
        ("4000000000001000", OutcomeKind.PENDING_APPROVE, None, None),
        ("4000000000001051", OutcomeKind.PENDING_DECLINE, "INSUFFICIENT_FUNDS", "51"),
        ("4000000000001005", OutcomeKind.PENDING_DECLINE, "DO_NOT_HONOR", "05"),
        ("4000000000009999", OutcomeKind.PENDING_EXPIRE, None, None),
    ],
)
def test_test_cards_have_fixed_outcomes(
    number: str, kind: OutcomeKind, failure_code: str | None, provider_code: str | None
) -> None:
    outcome = known_card_outcome(number)
    assert outcome is not None
    assert outcome.kind is kind
    if failure_code is None:
        assert outcome.failure is None
    else:
        assert outcome.failure is not None
        assert (outcome.failure.failure_code, outcome.failure.provider_failure_code) == (
            failure_code,
            provider_code,
        )


def test_every_decline_code_has_a_decline_card() -> None:
    for iso, name in DECLINE_CODES.items():
        outcome = known_card_outcome(f"40000000000000{iso}")
        assert outcome is not None
        assert outcome.failure is not None
        assert outcome.failure.failure_code == name


def test_operation_failure_cards_approve_then_fail_their_operation() -> None:
    capture = known_card_outcome("4000000000002000")
    refund = known_card_outcome("4000000000003000")
    assert capture is not None
    assert capture.kind is OutcomeKind.APPROVE
    assert capture.capture_fails
    assert refund is not None
    assert refund.kind is OutcomeKind.APPROVE
    assert refund.refund_fails


def test_other_numbers_are_not_test_cards() -> None:
    assert known_card_outcome("4111111111111111") is None
    assert known_card_outcome("4000000000000099") is None  # 99 is not a decline code we know


def test_expired_card_is_declined_whatever_its_number() -> None:
    outcome = decide_outcome(
        card("4444444444440000", month="05", year="2026"),
        "R",
        now=NOW,
        seed=0,
        weights=WEIGHTS,
        decline_expired=True,
    )
    assert outcome.kind is OutcomeKind.DECLINE
    assert outcome.failure is not None
    assert outcome.failure.failure_code == "EXPIRED_CARD"
    current_month = card("4444444444440000", month="06", year="2026")
    options: dict = {"now": NOW, "seed": 0, "weights": WEIGHTS}
    assert decide_outcome(current_month, "R", decline_expired=True, **options).kind is OutcomeKind.APPROVE
    expired = card("4444444444440000", month="01", year="2020")
    assert decide_outcome(expired, "R", decline_expired=False, **options).kind is OutcomeKind.APPROVE


def test_mix_is_reproducible_per_reference_and_seed() -> None:
    first = [decide("4111111111111111", f"ORDER-{i}") for i in range(50)]
    again = [decide("4111111111111111", f"ORDER-{i}") for i in range(50)]
    other_seed = [decide("4111111111111111", f"ORDER-{i}", seed=7) for i in range(50)]
    assert first == again
    assert first != other_seed


def test_mix_follows_the_weights() -> None:
    kinds = Counter(decide("4111111111111111", f"ORDER-{i}").kind for i in range(4000))
    assert 0.75 < kinds[OutcomeKind.APPROVE] / 4000 < 0.85
    assert 0.07 < kinds[OutcomeKind.DECLINE] / 4000 < 0.13
    assert kinds[OutcomeKind.PENDING_APPROVE] > 0
    assert kinds[OutcomeKind.PENDING_DECLINE] > 0
    assert OutcomeKind.PENDING_EXPIRE not in kinds


@pytest.mark.parametrize(
    ("weights", "kind"),
    [
        ((1, 0, 0, 0), OutcomeKind.APPROVE),
        ((0, 1, 0, 0), OutcomeKind.DECLINE),
        ((0, 0, 1, 0), OutcomeKind.PENDING_APPROVE),
        ((0, 0, 0, 1), OutcomeKind.PENDING_DECLINE),
    ],
)
def test_mix_with_a_single_weight(weights: tuple[float, float, float, float], kind: OutcomeKind) -> None:
    for i in range(20):
        assert mix_outcome(*seeded_fractions(1, f"R{i}"), weights).kind is kind


def test_mix_declines_carry_a_known_code() -> None:
    for i in range(200):
        outcome = mix_outcome(*seeded_fractions(3, f"R{i}"), (0, 1, 0, 0))
        assert outcome.failure is not None
        assert DECLINE_CODES[outcome.failure.provider_failure_code or ""] == outcome.failure.failure_code


def test_card_response_masks_the_card() -> None:
    visa = card_response(card("4444444444440000", cvv="123"))
    assert visa == {
        "bin": "44444444",
        "holderName": "J D",
        "cvvPresentDuringAttempt": True,
        "expiryMonth": "12",
        "expiryYear": "2030",
        "brand": "VISA",
    }
    amex = card_response(card("370000000000002"))
    assert amex["bin"] == "370000"
    assert amex["brand"] == "AMEX"
    assert amex["cvvPresentDuringAttempt"] is False
    given = card_response(card("4444444444440000", brand="AMEX"))
    assert given["bin"] == "444444"
    assert given["brand"] == "AMEX"
    assert "number" not in visa
    assert "cvv" not in visa


@pytest.mark.parametrize(
    ("number", "brand"),
    [("4111", "VISA"), ("5105", "MASTERCARD"), ("2221", "MASTERCARD"), ("3782", "AMEX"), ("6011", None)],
)
def test_brand_is_inferred_from_leading_digits(number: str, brand: str | None) -> None:
    assert infer_brand(number + "000000000000") == brand
