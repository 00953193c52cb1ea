"""The demo's doors (customer tokens for anyone, the list of customers) exist only in demo
mode (LOAN_AGENT_DEMO=1), whatever the environment; the demo page works without them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from web_testkit import LiveServer

from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.routes.pages import STATIC


@pytest.mark.parametrize("environment", ["development", "test"])
def test_no_demo_doors_without_demo_mode(
    environment: str, web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    """The issue's finding: on any instance not set to production, anyone got a verified
    token for any customer and the list of customers."""
    settings = web_settings.model_copy(update={"environment": environment, "demo": False})
    with TestClient(create_app(settings, engines, db_engine)) as client:
        assert client.get("/api/demo/customers").status_code == 404
        minted = client.post("/api/demo/customer-token", json={"customer_id": "C103"})
        assert minted.status_code == 404
        assert "token" not in minted.text
        # The rest of the site is there: the page, and an anonymous chat.
        assert client.get("/").status_code == 200
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "hello"})
            hello = ws.receive_json()
            assert hello["type"] == "welcome" and hello["verified"] is False


def test_demo_mode_opens_them(client: TestClient, web_settings: Settings) -> None:
    assert web_settings.demo is True
    assert client.get("/api/demo/customers").status_code == 200
    minted = client.post("/api/demo/customer-token", json={"customer_id": "C103"})
    assert minted.status_code == 200 and minted.json()["customer_id"] == "C103"


def test_the_demo_panel_is_hidden_until_the_demo_answers() -> None:
    """Without demo mode the page shows no demo controls: the panel starts hidden and the
    site script shows it only when /api/demo/customers answers."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    panel = re.search(r"<div id=\"demo-panel\"[^>]*>", page)
    assert panel is not None and " hidden" in panel.group()
    start = panel.start()
    for control in ('id="demo-customer"', 'id="demo-signin"', 'id="demo-status"'):
        assert page.index(control) > start  # inside the hidden panel
    script = (STATIC / "site.js").read_text(encoding="utf-8")
    shown = script.index('$("demo-panel").hidden = false')
    assert script.index("r.ok ? r.json() : null") < shown
    assert script.index("if (!data)") < shown


# --- in a real browser ---------------------------------------------------------------------


@pytest.fixture
def page_of(browser: Any) -> Iterator[Callable[[], Any]]:
    contexts = []

    def make() -> Any:
        context = browser.new_context()
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_demo_page_without_demo_mode(
    page_of: Callable[[], Any],
    live_server_factory: Callable[..., LiveServer],
    engines: Engines,
    web_settings: Settings,
) -> None:
    """No demo controls, no stale demo sign-in, and the chat works (anonymous)."""
    from playwright.sync_api import expect

    settings = web_settings.model_copy(update={"demo": False})
    server = live_server_factory(with_engines=dataclasses.replace(engines, settings=settings))
    page = page_of()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    page.goto(f"{server.url}/")
    # A sign-in left from a demo session is dropped, not replayed.
    stale = "JSON.stringify({token: 'stale', name: 'X'})"
    page.evaluate(f"sessionStorage.setItem('harbor-demo-customer', {stale})")
    page.reload()
    expect(page.get_by_test_id("demo-panel")).to_be_hidden()
    expect(page.get_by_test_id("demo-signin")).to_be_hidden()
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    expect(page.get_by_test_id("chat-panel")).to_have_attribute(
        "data-conversation-id", re.compile(r"^[0-9a-f]{32}$")
    )
    assert page.evaluate("sessionStorage.getItem('harbor-demo-customer')") is None
    assert blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_the_pages_run_under_their_policy(
    page_of: Callable[[], Any], live_server: LiveServer
) -> None:
    """Every page loads its scripts and styles under the CSP: nothing is blocked."""
    from playwright.sync_api import expect

    page = page_of()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("demo-panel")).to_be_visible()  # demo mode: the panel shows
    expect(page.get_by_test_id("demo-customer").locator("option")).to_have_count(3)
    for path in ("/console", "/supervisor", "/pay/some-token"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert blocked == []
