"""Webhook authentication (pure): the URL token and the HMAC signature, rotation and staleness."""

from __future__ import annotations

import pytest

from streams.sandbox.webhooks import signature_header
from streams.web.auth import check_signature, check_token, parse_signature, sign

BODY = b'{"eventId":"evt_1","eventType":"PAYMENT_CAPTURED"}'
NOW = 1_700_000_000
OLD_KEY, NEW_KEY = b"old-secret", b"new-secret"


def header(key: bytes, timestamp: int = NOW, body: bytes = BODY) -> str:
    return f"t={timestamp},v1={sign(key, timestamp, body)}"


def check(value: str | None, keys: tuple[bytes, ...] = (OLD_KEY,), *, now: float = NOW) -> str | None:
    failure = check_signature(value, BODY, keys, now=now, tolerance_s=300)
    return None if failure is None else failure.reason


# --- token -----------------------------------------------------------------------------------


def test_token_not_configured_accepts_anything() -> None:
    assert check_token(None, None) is None
    assert check_token("whatever", None) is None


def test_token_must_match_exactly() -> None:
    assert check_token("s3cret", "s3cret") is None
    failure = check_token("s3cret-not", "s3cret")
    assert failure is not None
    assert failure.reason == "bad_token"
    assert "s3cret" not in failure.message
    missing = check_token(None, "s3cret")
    assert missing is not None
    assert missing.reason == "missing_token"


def test_token_compare_handles_non_ascii() -> None:
    failure = check_token("sécret", "secret")
    assert failure is not None
    assert failure.reason == "bad_token"


# --- signature -------------------------------------------------------------------------------


def test_signature_not_configured_accepts_anything() -> None:
    assert check(None, ()) is None
    assert check("garbage", ()) is None


def test_valid_signature() -> None:
    assert check(header(OLD_KEY)) is None


def test_the_sandbox_signs_the_way_we_verify() -> None:
    assert check(signature_header(OLD_KEY.decode(), NOW, BODY)) is None


def test_wrong_key_is_refused() -> None:
    assert check(header(b"someone-else")) == "bad_signature"


def test_either_key_of_a_rotation_is_accepted() -> None:
    assert check(header(OLD_KEY), (OLD_KEY, NEW_KEY)) is None
    assert check(header(NEW_KEY), (OLD_KEY, NEW_KEY)) is None
    assert check(header(b"third"), (OLD_KEY, NEW_KEY)) == "bad_signature"


def test_a_header_with_several_signatures_needs_one_match() -> None:
    both = f"t={NOW},v1={sign(b'unknown', NOW, BODY)},v1={sign(NEW_KEY, NOW, BODY)}"
    assert check(both, (NEW_KEY,)) is None


def test_the_body_is_covered() -> None:
    failure = check_signature(header(OLD_KEY), BODY + b" ", (OLD_KEY,), now=NOW, tolerance_s=300)
    assert failure is not None
    assert failure.reason == "bad_signature"


def test_the_timestamp_is_covered() -> None:
    digest = sign(OLD_KEY, NOW, BODY)
    assert check(f"t={NOW + 1},v1={digest}") == "bad_signature"


@pytest.mark.parametrize("age", [301, -301, 10_000])
def test_stale_or_future_timestamps_are_refused(age: int) -> None:
    assert check(header(OLD_KEY, NOW - age)) == "stale_signature"


@pytest.mark.parametrize("age", [0, 299, -299])
def test_timestamps_within_the_tolerance_are_accepted(age: int) -> None:
    assert check(header(OLD_KEY, NOW - age)) is None


def test_missing_header() -> None:
    assert check(None) == "missing_signature"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        f"v1={'a' * 64}",  # no timestamp
        f"t={NOW}",  # no v1
        f"t=abc,v1={'a' * 64}",
        f"t=-5,v1={'a' * 64}",
        f"t={NOW},t={NOW},v1={'a' * 64}",
        f"t={NOW},v1=abc",  # not a sha256 hex digest
        f"t={NOW},v1={'a' * 64},junk",
        f"t={NOW},v1={'a' * 64}," + "x=y," * 1000,
    ],
)
def test_malformed_headers(value: str) -> None:
    assert check(value) == "malformed_signature"


def test_parse_ignores_other_schemes_and_spaces() -> None:
    digest = sign(OLD_KEY, NOW, BODY)
    assert parse_signature(f"t={NOW}, v0=zzz, v1={digest.upper()}") == (NOW, (digest,))


def test_messages_never_carry_secrets_or_digests() -> None:
    failures = [
        check_signature(header(b"wrong"), BODY, (OLD_KEY,), now=NOW, tolerance_s=300),
        check_signature(header(OLD_KEY, NOW - 999), BODY, (OLD_KEY,), now=NOW, tolerance_s=300),
    ]
    for failure in failures:
        assert failure is not None
        assert OLD_KEY.decode() not in failure.message
        assert sign(OLD_KEY, NOW, BODY) not in failure.message
