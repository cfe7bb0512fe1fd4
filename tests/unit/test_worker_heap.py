"""The started worker freezes its heap, so full collections stop walking it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.worker import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_the_heap_alive_at_startup_is_frozen_and_garbage_is_not() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    alive = [object() for _ in range(1000)]
    Cycle()  # unreachable: collected before the freeze, so not kept alive by it
    frozen = freeze_startup_heap()

    assert frozen == gc.get_freeze_count() >= len(alive)
    assert not any(type(o) is Cycle for o in gc.get_objects())  # frozen objects are still listed
    gc.collect()
    assert gc.get_freeze_count() == frozen  # a full collection leaves the frozen heap alone
