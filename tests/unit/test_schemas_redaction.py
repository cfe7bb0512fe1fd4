"""Card data cannot leak by accident: masked repr/str everywhere, and a card-free summary for state."""

from __future__ import annotations

import logging

import orjson
import pytest

import schemas
from tests.unit.schema_samples import CVV, MASKED_PAN, PAN, minimal_decline, sample


def _decline() -> schemas.DeclineEvent:
    return schemas.decode(schemas.DeclineEvent, orjson.dumps(sample(schemas.DeclineEvent)))


def _renderings(obj: object) -> str:
    return " | ".join([repr(obj), str(obj), f"{obj}", f"{obj!r}", "%s %r" % (obj, obj)])  # noqa: UP031


@pytest.mark.parametrize("cls", schemas.CONTRACTS, ids=lambda c: c.__name__)
def test_no_record_prints_a_pan_or_cvv(cls: type[schemas.ContractRecord]) -> None:
    text = _renderings(schemas.decode(cls, orjson.dumps(sample(cls))))
    assert PAN not in text
    assert CVV not in text


def test_the_card_prints_masked() -> None:
    card = _decline().card
    text = _renderings(card) + _renderings(_decline()) + _renderings(_decline().asdict())
    assert PAN not in text
    assert CVV not in text
    assert "John Doe" not in repr(card)
    assert f"number='{MASKED_PAN}'" in repr(card)
    assert "cvv='***'" in repr(card)
    assert card.number == PAN  # the value itself is still there for the request to Paymend


def test_logging_a_decline_shows_no_card_data(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("processing %s / %r", _decline(), _decline())
    assert PAN not in caplog.text
    assert CVV not in caplog.text


def test_redacted_summary_has_no_card_or_personal_data() -> None:
    summary = _decline().redacted()
    assert isinstance(summary, schemas.DeclineSummary)
    wire = orjson.loads(summary.encode())
    assert wire == sample(schemas.DeclineSummary)
    text = summary.encode().decode() + repr(summary)
    for secret in (PAN, CVV, "John", "Doe", "john.doe@example.com", "Main St"):
        assert secret not in text


def test_short_pans_do_not_show_their_first_six() -> None:
    data = minimal_decline()
    data["card"]["number"] = "4111111111119"  # 13 digits, Luhn-valid
    summary = schemas.decode(schemas.DeclineEvent, orjson.dumps(data)).redacted()
    assert summary.card_bin is None
    assert summary.card_last4 == "1119"
    assert summary.card_brand is None
