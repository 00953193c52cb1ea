"""Whose address counts: X-Forwarded-For is believed only from a configured proxy
(web/client_address.py)."""

from __future__ import annotations

import pytest

from agent.settings import Settings
from web.client_address import forwarded_client

PROXY = ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize(
    ("peer", "headers", "trusted", "expected"),
    [
        # No proxy configured: the header is anyone's to write, and ignored.
        ("198.51.100.1", ["203.0.113.9"], [], "198.51.100.1"),
        ("127.0.0.1", ["203.0.113.9"], [], "127.0.0.1"),
        # From a peer that is not a configured proxy: ignored.
        ("198.51.100.1", ["203.0.113.9"], PROXY, "198.51.100.1"),
        # From our proxy: the address it saw, not what the client wrote before it.
        ("10.1.2.3", ["203.0.113.9"], PROXY, "203.0.113.9"),
        ("10.1.2.3", ["1.2.3.4, 203.0.113.9"], PROXY, "203.0.113.9"),
        ("10.1.2.3", ["1.2.3.4", "203.0.113.9"], PROXY, "203.0.113.9"),  # two header lines
        # Through a chain of our proxies: the right-most hop that is not one of them.
        ("127.0.0.1", ["1.2.3.4, 203.0.113.9, 10.0.0.7"], PROXY, "203.0.113.9"),
        ("10.1.2.3", ["10.9.9.9, 10.0.0.7"], PROXY, "10.9.9.9"),  # all ours: the first
        ("10.1.2.3", [], PROXY, "10.1.2.3"),  # no header: the peer itself
        # Garbage a proxy passed on: the last hop we can read.
        ("10.1.2.3", ["not-an-ip, 10.0.0.7"], PROXY, "10.0.0.7"),
        ("10.1.2.3", ["not-an-ip"], PROXY, "10.1.2.3"),
        # Ports and IPv6 as proxies write them.
        ("10.1.2.3", ["203.0.113.9:4711"], PROXY, "203.0.113.9"),
        ("10.1.2.3", ["[2001:db8::1]:443"], PROXY, "2001:db8::1"),
        ("10.1.2.3", ["2001:db8::1"], PROXY, "2001:db8::1"),
        ("::ffff:10.1.2.3", ["203.0.113.9"], PROXY, "203.0.113.9"),
        ("2001:db8::5", ["203.0.113.9"], ["2001:db8::/64"], "203.0.113.9"),
        ("testclient", ["203.0.113.9"], PROXY, "testclient"),
    ],
)
def test_the_right_most_untrusted_hop_from_a_trusted_peer_only(
    peer: str, headers: list[str], trusted: list[str], expected: str
) -> None:
    assert forwarded_client(peer, headers, trusted) == expected


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8, not-a-network")
    assert Settings(_env_file=None, trusted_proxies="10.0.0.0/8, ::1").trusted_proxies == [
        "10.0.0.0/8",
        "::1",
    ]
