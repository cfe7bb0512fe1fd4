"""Test cards: which outcome a card number gets, and the masked card a response shows.

The card number and CVV are read here to decide an outcome and to derive the BIN, and nowhere
else; nothing keeps or logs them. Paymend's docs show one test card (4444444444440000, approve);
the rest of their table is cut off (paymend-api.md §8), so every other card below is ours.

| card number          | outcome                                                               |
|----------------------|-----------------------------------------------------------------------|
| 4444444444440000     | approve: AUTHORIZED, or CAPTURED with captureNow (Paymend's own card)  |
| 5555555555550000     | approve (MASTERCARD)                                                  |
| 370000000000002      | approve (AMEX: the BIN is 6 digits)                                   |
| 40000000000000XX     | decline at once: FAILED with ISO code XX (table `DECLINE_CODES`), e.g.  |
|                      | 51 INSUFFICIENT_FUNDS, 05 DO_NOT_HONOR, 54 EXPIRED_CARD, 91 ISSUER_... |
| 4000000000001000     | PENDING, then approved after the pending delay                        |
| 40000000000010XX     | PENDING, then FAILED with ISO code XX after the pending delay          |
| 4000000000009999     | PENDING until the recovery window ends: FAILED RECOVERY_WINDOW_EXPIRED |
| 4000000000002000     | approve, but every capture fails (FAILED CAPTURE transaction, 96)      |
| 4000000000003000     | approve, but every refund fails (FAILED REFUND transaction, 96)        |
| any other number     | seeded random mix (`mix_*` weights), fixed per merchantReference       |

An `XX` missing from `DECLINE_CODES` makes the card an ordinary (random-mix) card. A card whose
expiry month has passed is declined EXPIRED_CARD (54) whatever its number, unless
`decline_expired_cards` is off. The `failureCode` names other than INSUFFICIENT_FUNDS are ours:
Paymend publishes no list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "DECLINE_CODES",
    "Failure",
    "Outcome",
    "OutcomeKind",
    "card_response",
    "decide_outcome",
]


@dataclass(frozen=True, slots=True)
class Failure:
    """Paymend's Failure object: its own code, and the provider's (ISO) code when there is one."""

    failure_code: str
    provider_failure_code: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"failureCode": self.failure_code}
        if self.provider_failure_code is not None:
            out["providerFailureCode"] = self.provider_failure_code
        return out


#: ISO 8583 response code -> our failureCode (only INSUFFICIENT_FUNDS/51 is from Paymend's docs).
DECLINE_CODES: Final[Mapping[str, str]] = {
    "05": "DO_NOT_HONOR",
    "14": "INVALID_CARD_NUMBER",
    "41": "LOST_CARD",
    "43": "STOLEN_CARD",
    "51": "INSUFFICIENT_FUNDS",
    "54": "EXPIRED_CARD",
    "57": "TRANSACTION_NOT_PERMITTED",
    "59": "SUSPECTED_FRAUD",
    "61": "EXCEEDS_WITHDRAWAL_LIMIT",
    "62": "RESTRICTED_CARD",
    "65": "ACTIVITY_LIMIT_EXCEEDED",
    "91": "ISSUER_UNAVAILABLE",
    "96": "SYSTEM_MALFUNCTION",
}

#: The declines of the random mix, most common first, with their weights.
_MIX_DECLINES: Final = (("51", 50), ("05", 25), ("54", 8), ("91", 7), ("61", 5), ("62", 5))

RECOVERY_WINDOW_EXPIRED: Final = Failure("RECOVERY_WINDOW_EXPIRED")
OPERATION_FAILURE: Final = Failure("SYSTEM_MALFUNCTION", "96")


class OutcomeKind(StrEnum):
    APPROVE = "APPROVE"
    DECLINE = "DECLINE"
    PENDING_APPROVE = "PENDING_APPROVE"
    PENDING_DECLINE = "PENDING_DECLINE"
    PENDING_EXPIRE = "PENDING_EXPIRE"

    @property
    def pending(self) -> bool:
        return self.name.startswith("PENDING")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the authorization of a payment will end in; decided once, at creation."""

    kind: OutcomeKind
    failure: Failure | None = None
    capture_fails: bool = False
    refund_fails: bool = False


def failure_for(iso_code: str) -> Failure:
    return Failure(DECLINE_CODES[iso_code], iso_code)


_APPROVE: Final = Outcome(OutcomeKind.APPROVE)
_FIXED_CARDS: Final[Mapping[str, Outcome]] = {
    "4444444444440000": _APPROVE,
    "5555555555550000": _APPROVE,
    "370000000000002": _APPROVE,
    "4000000000001000": Outcome(OutcomeKind.PENDING_APPROVE),
    "4000000000009999": Outcome(OutcomeKind.PENDING_EXPIRE),
    "4000000000002000": Outcome(OutcomeKind.APPROVE, capture_fails=True),
    "4000000000003000": Outcome(OutcomeKind.APPROVE, refund_fails=True),
}


def known_card_outcome(number: str) -> Outcome | None:
    """The outcome of a documented test card, or None for any other number."""
    fixed = _FIXED_CARDS.get(number)
    if fixed is not None:
        return fixed
    if len(number) == 16 and number.startswith("40000000000000") and number[-2:] in DECLINE_CODES:
        return Outcome(OutcomeKind.DECLINE, failure_for(number[-2:]))
    if len(number) == 16 and number.startswith("40000000000010") and number[-2:] in DECLINE_CODES:
        return Outcome(OutcomeKind.PENDING_DECLINE, failure_for(number[-2:]))
    return None


def mix_outcome(fraction: float, decline_pick: float, weights: tuple[float, float, float, float]) -> Outcome:
    """Map two uniform numbers in [0, 1) onto the weighted mix (approve, decline, pending x2)."""
    approve, decline, pending_approve, pending_decline = weights
    point = fraction * (approve + decline + pending_approve + pending_decline)
    if point < approve:
        return _APPROVE
    total = sum(w for _, w in _MIX_DECLINES)
    target, code = decline_pick * total, _MIX_DECLINES[-1][0]
    for iso, weight in _MIX_DECLINES:
        if target < weight:
            code = iso
            break
        target -= weight
    if point < approve + decline:
        return Outcome(OutcomeKind.DECLINE, failure_for(code))
    if point < approve + decline + pending_approve:
        return Outcome(OutcomeKind.PENDING_APPROVE)
    return Outcome(OutcomeKind.PENDING_DECLINE, failure_for(code))


def seeded_fractions(seed: int, merchant_reference: str) -> tuple[float, float]:
    """Two reproducible numbers in [0, 1) for one merchantReference (not for one request)."""
    digest = hashlib.blake2b(f"{seed}:{merchant_reference}".encode(), digest_size=16).digest()
    scale = float(1 << 64)
    return int.from_bytes(digest[:8]) / scale, int.from_bytes(digest[8:]) / scale


def is_expired(expiry_month: str, expiry_year: str, now: datetime) -> bool:
    """A card is valid through the end of its expiry month."""
    return (int(expiry_year), int(expiry_month)) < (now.year, now.month)


def decide_outcome(
    card: Mapping[str, Any],
    merchant_reference: str,
    *,
    now: datetime,
    seed: int,
    weights: tuple[float, float, float, float],
    decline_expired: bool,
) -> Outcome:
    """The outcome of a validated card: expired, then test card, then the seeded mix."""
    if decline_expired and is_expired(card["expiryMonth"], card["expiryYear"], now):
        return Outcome(OutcomeKind.DECLINE, failure_for("54"))
    number: str = card["number"]
    known = known_card_outcome(number)
    if known is not None:
        return known
    return mix_outcome(*seeded_fractions(seed, merchant_reference), weights)


def infer_brand(number: str) -> str | None:
    """The scheme from the leading digits, for cards sent without `brand`."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in {"34", "37"}:
        return "AMEX"
    if "51" <= number[:2] <= "55" or "2221" <= number[:4] <= "2720":
        return "MASTERCARD"
    return None


def card_response(card: Mapping[str, Any]) -> dict[str, Any]:
    """The CardResponse of a validated request card: BIN (6 digits for AMEX, else 8), no PAN, no CVV."""
    number: str = card["number"]
    brand = card.get("brand") or infer_brand(number)
    out: dict[str, Any] = {
        "bin": number[:6] if (brand or "").upper() == "AMEX" else number[:8],
        "holderName": card["holderName"],
        "cvvPresentDuringAttempt": card.get("cvv") is not None,
        "expiryMonth": card["expiryMonth"],
        "expiryYear": card["expiryYear"],
    }
    if brand is not None:
        out["brand"] = brand
    return out
