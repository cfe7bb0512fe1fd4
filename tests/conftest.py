"""Shared pytest wiring: the fixtures live in `tests/fixtures/`, one module per real part."""

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.sandbox",
    "tests.fixtures.worker",
    "tests.fixtures.pipeline",
]
