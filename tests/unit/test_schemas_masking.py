"""Card-data masking: examples, and properties checked by hypothesis against an independent oracle."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.masking import (
    CVV_MASK,
    is_card_number_key,
    is_security_code_key,
    luhn_valid,
    mask_card_data,
    mask_pan,
    mask_text,
)
from tests.unit.masking_oracle import formatted_pans, luhn_pans_in, pans, texts_with_pans

PROPERTY = settings(max_examples=300, database=None, deadline=None)

# --- examples -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("", False),
        ("41a1", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        ("4111111111111111", "411111******1111"),
        ("4111 1111 1111 1111", "411111******1111"),
        ("378282246310005", "378282*****0005"),  # Amex: 15 digits, 5 hidden
        ("41111111111111", "**********1111"),  # 14 digits: first 6 would leave only 4 hidden
        ("4111111111111111111", "411111*********1111"),
        ("12345", "*****"),
    ],
)
def test_mask_pan(pan: str, masked: str) -> None:
    assert mask_pan(pan) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("paid with 4111111111111111 today", "paid with 411111******1111 today"),
        ("card 4111 1111 1111 1111.", "card 4111 11** **** 1111."),
        ("card 4111-1111-1111-1111.", "card 4111-11**-****-1111."),
        ("order 1234567890123 is not a card", "order 1234567890123 is not a card"),
        ("short 4111 1111 111", "short 4111 1111 111"),
        ('{"number":"4444444444440000","cvv":"123"}', '{"number":"444444******0000","cvv":"***"}'),
        ("{'cardNumber': 5555555555550000}", "{'cardNumber': 555555******0000}"),
    ],
)
def test_mask_text_examples(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_a_pan_inside_a_longer_digit_run_is_masked() -> None:
    assert luhn_pans_in("000" + "4111111111111111" + "99")
    assert not luhn_pans_in(mask_text("000" + "4111111111111111" + "99"))


@pytest.mark.parametrize(
    "key", ["number", "cardNumber", "card_number", "CARD-NUMBER", "pan", "PAN", "accountNumber"]
)
def test_card_number_keys(key: str) -> None:
    assert is_card_number_key(key)
    assert mask_card_data({"outer": [{key: "4444444444440000"}]}) == {"outer": [{key: "444444******0000"}]}


@pytest.mark.parametrize("key", ["cvv", "CVC", "cvv2", "securityCode", "security_code", "track2"])
def test_security_code_keys(key: str) -> None:
    assert is_security_code_key(key)
    assert mask_card_data({"card": {key: "123"}}) == {"card": {key: CVV_MASK}}
    assert mask_card_data({"card": {key: None}}) == {"card": {key: None}}


def test_mask_card_data_leaves_everything_else_alone() -> None:
    data = {"amount": 12997, "ok": True, "f": 1.5, "n": None, "bin": "41111111", "list": ["a", 1]}
    assert mask_card_data(data) == data


# --- properties -----------------------------------------------------------------------------------


@PROPERTY
@given(texts_with_pans)
def test_no_luhn_valid_pan_survives_mask_text(text: str) -> None:
    assert luhn_pans_in(mask_text(text)) == []


@PROPERTY
@given(texts_with_pans)
def test_mask_text_is_idempotent(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@PROPERTY
@given(st.text(alphabet=st.characters(blacklist_characters="0123456789:")))
def test_text_without_digits_or_keys_is_unchanged(text: str) -> None:
    assert mask_text(text) == text


@PROPERTY
@given(pans)
def test_an_isolated_pan_shows_at_most_its_first_6_and_last_4(pan: str) -> None:
    masked = mask_text(f"x {pan} y")[2:-2]
    assert len(masked) == len(pan)
    for index, (original, shown) in enumerate(zip(pan, masked, strict=True)):
        assert shown == "*" or (shown == original and (index < 6 or index >= len(pan) - 4))
    assert masked.count("*") >= min(5, len(pan) - 4)


card_keys = st.sampled_from(["number", "cardNumber", "card_number", "PAN", "cvv", "CVC", "securityCode"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | formatted_pans
    | pans.map(int)
    | texts_with_pans,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(card_keys, st.text(max_size=8), formatted_pans), children, max_size=4)
    ),
    max_leaves=20,
)


def _leaves(value: Any, key: str | None = None) -> list[tuple[str | None, Any]]:
    if isinstance(value, dict):
        return [(None, k) for k in value] + [leaf for k, v in value.items() for leaf in _leaves(v, k)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]


@PROPERTY
@given(json_values)
def test_no_luhn_valid_pan_survives_mask_card_data(value: Any) -> None:
    original = copy.deepcopy(value)
    masked = mask_card_data(value)
    assert value == original  # the input is not changed
    for key, leaf in _leaves(masked):
        if isinstance(leaf, str | int) and not isinstance(leaf, bool):
            assert luhn_pans_in(str(leaf)) == [], (key, leaf)
        if key is not None and is_security_code_key(key):
            assert leaf in (CVV_MASK, None) or isinstance(leaf, dict | list)
        if key is not None and is_card_number_key(key) and isinstance(leaf, str):
            assert sum(c.isdigit() for c in leaf) <= 10
    assert mask_card_data(masked) == masked


def test_a_card_number_parsed_as_a_float_is_masked() -> None:
    # Found by hypothesis: a bare 21-digit payload is valid JSON and parses as a float whose
    # printed digits held Luhn-valid runs.
    masked = mask_card_data({"value": 1.000011111000011e20, "pan": 4111111111111111.0})
    assert masked["value"] != 1.000011111000011e20
    assert luhn_pans_in(str(masked)) == []
    assert mask_card_data(12.5) == 12.5
