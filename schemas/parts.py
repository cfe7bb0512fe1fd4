"""Nested objects of the contracts, shaped like Paymend's request objects (paymend-api.md §4).

Card, Consumer, Address, Billing, Shipping and ProductItem carry what a merchant must give us to
create a Paymend payment; Failure is Paymend's failure object. They have no version of their own:
they are versioned with the record that contains them.

`Card` is the only holder of card data in the whole package. Its repr and str show the masked
number (`411111******1111`) and `***` for the CVV and holder name; only `to_representation()` /
`dumps()` (the request body and the input topic) carry the full number.
"""

from __future__ import annotations

from typing import Any, Final

from .enums import ItemGoodsType
from .fieldspec import REQUIRED, wire
from .masking import CVV_MASK, mask_pan
from .record import WireRecord

__all__ = [
    "CURRENCY_HINT",
    "CURRENCY_PATTERN",
    "ID_HINT",
    "ID_PATTERN",
    "Address",
    "Billing",
    "Card",
    "Consumer",
    "Failure",
    "ProductItem",
    "Shipping",
    "currency_wire",
    "id_wire",
]

#: Identifiers (payment, order, store, event IDs): 1-255 characters, no control characters.
ID_PATTERN: Final = r"^[^\x00-\x1f\x7f]{1,255}$"
ID_HINT: Final = "a string of 1-255 characters without control characters"
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CURRENCY_HINT: Final = "an ISO 4217 code of 3 upper-case letters, e.g. EUR"
_NAME: Final = 255


def id_wire(name: str, description: str, *, default: Any = REQUIRED) -> Any:
    """An identifier field (see ID_PATTERN)."""
    return wire(name, description, default=default, pattern=ID_PATTERN, hint=ID_HINT)


def currency_wire(name: str, description: str, *, default: Any = REQUIRED) -> Any:
    """An ISO 4217 currency field."""
    return wire(name, description, default=default, pattern=CURRENCY_PATTERN, hint=CURRENCY_HINT)


class Card(WireRecord, namespace="paymend_streams.Card"):
    """Payment card, as Paymend's Card request object. Sensitive: see the module doc."""

    number: str = wire(
        "number",
        "Card number (PAN), 12-19 digits, no spaces. Sensitive: never logged or stored outside the "
        "input topic and the request to Paymend.",
        pattern=r"^[0-9]{12,19}$",
        hint="a string of 12-19 digits",
    )
    holder_name: str = wire("holderName", "Name on the card.", max_length=_NAME)
    expiry_month: str = wire(
        "expiryMonth", "Expiry month, 01-12.", pattern=r"^(0[1-9]|1[0-2])$", hint="a month 01-12"
    )
    expiry_year: str = wire(
        "expiryYear", "Expiry year, 4 digits.", pattern=r"^[0-9]{4}$", hint="a 4-digit year"
    )
    cvv: str | None = wire(
        "cvv",
        "Security code, 3-4 digits. Sensitive: never stored.",
        default=None,
        pattern=r"^[0-9]{3,4}$",
        hint="a string of 3-4 digits",
    )
    brand: str | None = wire("brand", "Card brand, e.g. VISA, MASTERCARD, AMEX.", default=None, max_length=32)

    @property
    def masked_number(self) -> str:
        """The number with at most its first 6 and last 4 digits shown."""
        return mask_pan(self.number)

    @property
    def bin(self) -> str | None:
        """First 6 digits, when the masking rule shows them (PANs of 15+ digits)."""
        head = self.masked_number[:6]
        return head if head.isdigit() else None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def _humanize(self) -> str:
        cvv = "None" if self.cvv is None else repr(CVV_MASK)
        return (
            f"number={self.masked_number!r}, holder_name='***', expiry_month={self.expiry_month!r}, "
            f"expiry_year={self.expiry_year!r}, cvv={cvv}, brand={self.brand!r}"
        )

    def __str__(self) -> str:
        return repr(self)


class Consumer(WireRecord, namespace="paymend_streams.Consumer"):
    """The paying customer (Paymend Consumer)."""

    first_name: str = wire("firstName", "Given name.", max_length=_NAME)
    email: str = wire(
        "email", "E-mail address.", pattern=r"^[^@\s]+@[^@\s]+$", max_length=320, hint="an e-mail address"
    )
    last_name: str | None = wire("lastName", "Family name.", default=None, max_length=_NAME)
    phone: str | None = wire("phone", "Phone number, any format.", default=None, max_length=64)
    ip: str | None = wire(
        "ip",
        "Customer IP address (IPv4 or IPv6), used by Paymend for fraud checks.",
        default=None,
        pattern=r"^[0-9A-Fa-f:.]{2,45}$",
        hint="an IPv4 or IPv6 address",
    )


class Address(WireRecord, namespace="paymend_streams.Address"):
    """Postal address (Paymend Address); every field is optional."""

    street: str | None = wire("street", "Street line.", default=None, max_length=_NAME)
    city: str | None = wire("city", "City or locality.", default=None, max_length=_NAME)
    state: str | None = wire("state", "State, province or region.", default=None, max_length=_NAME)
    zip: str | None = wire("zip", "ZIP or postal code.", default=None, max_length=32)
    country: str | None = wire(
        "country",
        "ISO 3166-1 alpha-2 country code, e.g. DE.",
        default=None,
        pattern=r"^[A-Z]{2}$",
        hint="an ISO 3166-1 alpha-2 code of 2 upper-case letters",
    )


class Billing(WireRecord, namespace="paymend_streams.Billing"):
    """Billing details (Paymend Billing), used for address verification and fraud checks."""

    address: Address = wire("address", "Billing address.")


class Shipping(WireRecord, namespace="paymend_streams.Shipping"):
    """Delivery address and recipient. Paymend documents no Shipping page: `address` is what its
    docs imply, the recipient fields are this contract's choice (paymend-api.md §4.10)."""

    address: Address = wire("address", "Delivery address.")
    first_name: str | None = wire("firstName", "Recipient's given name.", default=None, max_length=_NAME)
    last_name: str | None = wire("lastName", "Recipient's family name.", default=None, max_length=_NAME)
    email: str | None = wire(
        "email",
        "Recipient's e-mail address.",
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        max_length=320,
        hint="an e-mail address",
    )
    phone: str | None = wire("phone", "Recipient's phone number, any format.", default=None, max_length=64)


class ProductItem(WireRecord, namespace="paymend_streams.ProductItem"):
    """One line item (Paymend ProductItem)."""

    item_id: str = wire("id", "SKU or catalogue ID.", max_length=_NAME)
    name: str = wire("name", "Item name.", max_length=_NAME)
    quantity: int = wire("quantity", "Quantity, at least 1.", minimum=1)
    unit_price: int = wire("unitPrice", "Unit price in minor units, at least 1.", minimum=1)
    goods_type: ItemGoodsType = wire("goodsType", "PHYSICAL or DIGITAL (MIXED is not allowed per item).")


class Failure(WireRecord, namespace="paymend_streams.Failure"):
    """Why Paymend failed a payment (Paymend Failure, the newer nested format)."""

    failure_code: str | None = wire(
        "failureCode", "Paymend's own code, e.g. INSUFFICIENT_FUNDS.", default=None, max_length=64
    )
    provider_failure_code: str | None = wire(
        "providerFailureCode",
        "The provider's code (ISO response code for cards), e.g. 51.",
        default=None,
        max_length=64,
    )
