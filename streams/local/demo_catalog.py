"""What the demo traffic is made of: decline codes, sandbox test cards, stores, people, goods.

Weights are relative (`random.choices`). The cards are the sandbox's test cards
(`streams.sandbox.cards`), so the demo shows every outcome the sandbox can give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas import GoodsType, ItemGoodsType

__all__ = [
    "CANCEL_REASONS",
    "CANCEL_SHARE",
    "CARDS",
    "DECLINE_CODES",
    "FIRST_NAMES",
    "GOODS",
    "LAST_NAMES",
    "PLACES",
    "PRODUCTS",
    "PROVIDERS",
    "SECOND_DECLINE_SHARE",
    "SETTLED_SHARE",
    "SETTLE_METHODS",
    "STORES",
    "SandboxCard",
    "Store",
]

DECLINE_CODES: Final = (("51", 35), ("05", 30), ("91", 10), ("61", 9), ("54", 8), ("14", 8))


@dataclass(frozen=True, slots=True)
class SandboxCard:
    number: str
    brand: str
    behaviour: str  # for humans reading this table; the sandbox decides by number


#: Sandbox test cards (streams/sandbox/cards.py) with weights: ~57 % recover, ~3 % expire.
CARDS: Final = (
    (SandboxCard("4444444444440000", "VISA", "approve"), 18),
    (SandboxCard("5555555555550000", "MASTERCARD", "approve"), 12),
    (SandboxCard("370000000000002", "AMEX", "approve"), 5),
    (SandboxCard("4000000000001000", "VISA", "pending, then approve"), 22),
    (SandboxCard("4000000000001051", "VISA", "pending, then fail 51"), 10),
    (SandboxCard("4000000000001005", "VISA", "pending, then fail 05"), 4),
    (SandboxCard("4000000000000051", "VISA", "decline 51 at once"), 10),
    (SandboxCard("4000000000000005", "VISA", "decline 05 at once"), 6),
    (SandboxCard("4000000000000054", "VISA", "decline 54 at once"), 3),
    (SandboxCard("4000000000009999", "VISA", "pending until the recovery window ends"), 3),
    (SandboxCard("4000000000002000", "VISA", "approve, every capture fails"), 2),
    (SandboxCard("4000000000003000", "VISA", "approve, every refund fails"), 2),
)


@dataclass(frozen=True, slots=True)
class Store:
    store_id: str
    country: str
    currencies: tuple[tuple[str, int], ...]


STORES: Final = (
    (Store("store-us-east", "US", (("USD", 1),)), 30),
    (Store("store-us-west", "US", (("USD", 1),)), 15),
    (Store("store-de", "DE", (("EUR", 1),)), 20),
    (Store("store-fr", "FR", (("EUR", 1),)), 15),
    (Store("store-uk", "GB", (("GBP", 8), ("EUR", 2))), 20),
)

#: Per country: (city, state, zip, street).
PLACES: Final[dict[str, tuple[tuple[str, str | None, str, str], ...]]] = {
    "US": (
        ("Springfield", "IL", "62701", "1 Main St"),
        ("Austin", "TX", "73301", "500 Congress Ave"),
        ("Portland", "OR", "97201", "12 Harbor Way"),
    ),
    "DE": (("Berlin", None, "10115", "Invalidenstr. 1"), ("Hamburg", None, "20095", "Mönckebergstr. 7")),
    "FR": (("Paris", None, "75001", "1 Rue de Rivoli"), ("Lyon", None, "69001", "3 Quai Saint-Vincent")),
    "GB": (("London", None, "EC1A 1BB", "1 King St"), ("Leeds", None, "LS1 4DY", "22 Park Row")),
}
FIRST_NAMES: Final = ("Ada", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Gus", "Hana", "Ivo", "Jules")
LAST_NAMES: Final = ("Smith", "Müller", "Martin", "Jones", "Rossi", "Nguyen", "Okafor", "Silva", "Kowalski")
PROVIDERS: Final = ("stripe", "adyen", "worldpay")
GOODS: Final = ((GoodsType.PHYSICAL, 60), (GoodsType.DIGITAL, 25), (GoodsType.MIXED, 15))
PRODUCTS: Final = {
    ItemGoodsType.PHYSICAL: (
        ("SKU-KB-01", "Wireless Keyboard"),
        ("SKU-MUG-2", "Coffee Mug"),
        ("SKU-TEE-M", "T-Shirt"),
    ),
    ItemGoodsType.DIGITAL: (
        ("SKU-EBOOK", "E-book"),
        ("SKU-SUB-1M", "Monthly Subscription"),
        ("SKU-GIFT", "Gift Card"),
    ),
}
CANCEL_REASONS: Final = (
    "customer request",
    "out of stock",
    "fraud review",
    "duplicate order",
    "address invalid",
)
SETTLE_METHODS: Final = (
    ("PAYPAL", "paypal"),
    ("CARD", "stripe"),
    ("BANK_TRANSFER", None),
    ("APPLE_PAY", "adyen"),
)

SECOND_DECLINE_SHARE: Final = 0.06
CANCEL_SHARE: Final = 0.08
SETTLED_SHARE: Final = 0.05
