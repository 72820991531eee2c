"""pytest plugin (entry point ``pytest11``): relays as fixtures.

``socat_relay`` is a factory: each call starts a relay (``pysocat.start``),
waits until it is ready and returns its ``Relay``; every relay it started is
stopped when the test ends::

    def test_forwarder(socat_relay):
        relay = socat_relay("TCP4-LISTEN:0,bind=127.0.0.1", "EXEC:cat")
        ... connect to 127.0.0.1:relay.port ...

Keyword arguments are ``pysocat.start``'s (``mode="process"``, ``log_level``,
``on_log``, the flags), plus ``ready_timeout`` (seconds, default 10).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .api import Relay, start

RelayFactory = Callable[..., Relay]


@pytest.fixture
def socat_relay() -> Iterator[RelayFactory]:
    relays: list[Relay] = []

    def factory(addr1: str, addr2: str, *, ready_timeout: float = 10.0,
                **kwargs: Any) -> Relay:
        relay = start(addr1, addr2, **kwargs)
        relays.append(relay)
        relay.wait_ready(ready_timeout)
        return relay

    yield factory
    for relay in relays:
        try:
            relay.stop()
        except Exception:   # its error belongs to the test that used it
            pass
