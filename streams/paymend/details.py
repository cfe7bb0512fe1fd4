"""The optional details of a payment request: consumer, addresses, shipping and line items.

Owns: `Consumer`, `Address`, `Billing`, `Shipping`, `ProductItem` (paymend-api.md §4.7 to §4.11),
and the small JSON and validation helpers the request models share. Like every request model,
these are frozen, validate in `__post_init__` with messages that name the field but never show
its value, and serialise with `to_json()` in the API's camelCase, leaving out None and empties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.paymend.enums import GoodsType

__all__ = ["Address", "Billing", "Consumer", "JSONObject", "ProductItem", "Shipping"]

JSONObject = dict[str, Any]


def compact(pairs: Mapping[str, Any]) -> JSONObject:
    """Drop None values and empty lists/objects: the API never needs an explicit null."""
    return {k: v for k, v in pairs.items() if v is not None and v != [] and v != {}}


def require_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer of at least 1")


def require_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


@dataclass(frozen=True, slots=True)
class Consumer:
    """The customer: first name and email are required when a consumer is sent."""

    first_name: str
    email: str
    last_name: str | None = None
    phone: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        require_text(self.first_name, "consumer firstName")
        require_text(self.email, "consumer email")

    def to_json(self) -> JSONObject:
        return compact(
            {
                "firstName": self.first_name,
                "lastName": self.last_name,
                "email": self.email,
                "phone": self.phone,
                "ip": self.ip,
            }
        )


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; every field is optional. `country` is ISO 3166 alpha-2."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None

    def to_json(self) -> JSONObject:
        return compact(
            {
                "street": self.street,
                "city": self.city,
                "state": self.state,
                "zip": self.zip,
                "country": self.country,
            }
        )


@dataclass(frozen=True, slots=True)
class Billing:
    """The billing address (used by Paymend for AVS and fraud checks)."""

    address: Address | None = None

    def to_json(self) -> JSONObject:
        return compact({"address": None if self.address is None else self.address.to_json()})


@dataclass(frozen=True, slots=True)
class Shipping:
    """Delivery address plus recipient details whose field names the docs do not give (§4.10).

    `extra` is merged into the JSON object as given (use the API's camelCase names); it may not
    contain `address`.
    """

    address: Address | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "address" in self.extra:
            raise ValueError("shipping extra must not contain 'address': use Shipping.address")

    def to_json(self) -> JSONObject:
        return compact({**self.extra, "address": None if self.address is None else self.address.to_json()})


@dataclass(frozen=True, slots=True)
class ProductItem:
    """One line item; `unit_price` in minor units; `goods_type` PHYSICAL or DIGITAL."""

    id: str
    name: str
    quantity: int
    unit_price: int
    goods_type: GoodsType

    def __post_init__(self) -> None:
        require_text(self.id, "productItem id")
        require_text(self.name, "productItem name")
        require_positive_int(self.quantity, "productItem quantity")
        require_positive_int(self.unit_price, "productItem unitPrice")
        object.__setattr__(self, "goods_type", GoodsType(self.goods_type))
        if self.goods_type is GoodsType.MIXED:
            raise ValueError("productItem goodsType must be PHYSICAL or DIGITAL")

    def to_json(self) -> JSONObject:
        return {
            "id": self.id,
            "name": self.name,
            "quantity": self.quantity,
            "unitPrice": self.unit_price,
            "goodsType": self.goods_type.value,
        }
