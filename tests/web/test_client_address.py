"""Whose address counts: X-Forwarded-For is believed only from a configured proxy, on a
server started as ``loan-agent serve`` starts it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from web_testkit import PASSWORDS, LiveServer
from websockets.sync.client import connect

from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.client_address import forwarded_client
from web.config import WebLimits

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


def serve_options(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> dict[str, Any]:
    """The uvicorn options ``loan-agent serve`` starts the server with (its preparation
    steps stubbed out)."""
    import uvicorn

    import agent.seeding
    import agent.settings
    from agent.cli import main

    captured: dict[str, Any] = {}
    monkeypatch.setattr(agent.settings, "get_settings", lambda: settings)
    monkeypatch.setattr(agent.seeding, "prepare_for_serving", lambda *a, **k: [])
    monkeypatch.setattr(agent.seeding, "refuse_unsafe_start", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: captured.update(k))
    result = CliRunner().invoke(main, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    return {k: v for k, v in captured.items() if k not in ("factory", "host", "port", "log_level")}


@pytest.fixture
def serve_like(
    monkeypatch: pytest.MonkeyPatch, web_settings: Settings, engines: Engines, file_db: Engine
) -> Iterator[Callable[[list[str]], LiveServer]]:
    """A real server over the test's database, with the options of ``loan-agent serve``
    and the given trusted proxies; two new conversations per address per minute."""
    options = serve_options(monkeypatch, web_settings)
    started: list[LiveServer] = []

    def start(trusted: list[str]) -> LiveServer:
        settings = web_settings.model_copy(update={"trusted_proxies": trusted})
        app = create_app(
            settings, engines, file_db, limits=WebLimits(new_conversations_per_minute=2)
        )
        server = LiveServer(app, 0, options=options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def hello(server: LiveServer, forwarded_for: str) -> dict[str, Any]:
    """Open the chat as a new conversation; the first frame back (welcome or error)."""
    with connect(
        f"{server.ws_url}/ws/chat", additional_headers={"X-Forwarded-For": forwarded_for}
    ) as ws:
        ws.send(json.dumps({"type": "hello"}))
        return json.loads(ws.recv(timeout=20))


def test_a_spoofed_header_does_not_buy_new_conversations(
    serve_like: Callable[[list[str]], LiveServer],
) -> None:
    server = serve_like([])  # no proxy in front: every header is the client's own words
    frames = [hello(server, f"203.0.113.{n}") for n in range(1, 5)]
    assert [f["type"] for f in frames] == ["welcome", "welcome", "error", "error"]
    assert frames[2]["code"] == "rate_limited"


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    serve_like: Callable[[list[str]], LiveServer],
) -> None:
    server = serve_like(["127.0.0.1"])  # the proxy is on this host
    firsts = [hello(server, f"203.0.113.{n}") for n in range(1, 5)]
    assert {f["type"] for f in firsts} == {"welcome"}
    same = [hello(server, "198.51.100.1, 203.0.113.1") for _ in range(2)]  # 203.0.113.1 again
    assert [f["type"] for f in same] == ["welcome", "error"]


def test_a_spoofed_header_does_not_escape_the_login_throttle(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(web_settings, engines, db_engine)
    with TestClient(app, client=("198.51.100.50", 40000)) as client:
        statuses = [
            client.post(
                "/api/staff/login",
                json={"username": "agent", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(6)
        ]
        right = client.post(
            "/api/staff/login",
            json={"username": "agent", "password": PASSWORDS["agent"]},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )
    assert statuses == [401] * 5 + [429]
    assert right.status_code == 429
