"""The errors raised when bytes or values do not fit a contract.

    SchemaError(ValueError)       field + reason; str() is "Record.path: reason"
    ├── UndecodableError          the bytes are not a JSON object (not UTF-8, not JSON, wrong top level)
    └── InvalidFieldError         a JSON object that breaks the contract (missing, wrong type, out of range)

Messages name the field by its wire path (`DeclineEvent.card.expiryMonth`,
`DeclineEvent.productItems[1].unitPrice`) and say what was expected. They never contain the value
that was received, so card data cannot reach a log line or a dead letter through an error.
A consumer maps `SchemaError` to its own "poison message" handling (dead letter, counter).
"""

from __future__ import annotations

__all__ = ["InvalidFieldError", "SchemaError", "UndecodableError"]


class SchemaError(ValueError):
    """Input that does not fit a contract. `field` is the wire path, `reason` what was expected."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def record(self) -> str:
        """The record named at the start of the path (e.g. `DeclineEvent`)."""
        return self.field.split(".", 1)[0].split("[", 1)[0]

    def __reduce__(self) -> tuple[type[SchemaError], tuple[str, str]]:
        return (type(self), (self.field, self.reason))


class UndecodableError(SchemaError):
    """The bytes are not UTF-8 JSON, or the top level is not a JSON object."""


class InvalidFieldError(SchemaError):
    """The JSON object breaks the contract: a field is missing, of the wrong type or out of range."""

    def nested_under(self, prefix: str) -> InvalidFieldError:
        """The same error with its record name replaced by `prefix` (a field path of the parent)."""
        _, _, rest = self.field.partition(".")
        return type(self)(f"{prefix}.{rest}" if rest else prefix, self.reason)
