"""X-Forwarded-For on a server started as ``loan-agent serve`` starts it: believed from a
configured proxy only, for the new-conversation limit and the login throttle alike."""

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
from web.config import WebLimits


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
