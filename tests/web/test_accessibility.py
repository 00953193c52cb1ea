"""Accessibility: axe-core's WCAG 2.x A/AA rules over the widget, the console, the
supervisor view and the payment page, in Debian's chromium (axe-core comes from the npm
registry: `make a11y-deps`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_testkit import PASSWORDS, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Pages in contexts of their own (each its own cookies)."""
    from playwright.sync_api import expect

    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make a11y-deps` installs it with npm)")
    expect.set_options(timeout=15_000)
    contexts: list[Any] = []

    def make() -> Any:
        # bypass_csp: the pages forbid inline scripts, and axe is injected as one.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


def violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))",
        WCAG,
    )
    return list(result)


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert not found, f"{where}: " + json.dumps(found, indent=1)


def login(page: Any, server: LiveServer, path: str, user: str) -> None:
    page.goto(f"{server.url}{path}")
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill(PASSWORDS[user])
    page.get_by_test_id("login-submit").click()


def test_the_widget_in_conversation(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/")
    assert_accessible(page, "demo page, widget closed")
    page.get_by_test_id("chat-launcher").click()
    page.get_by_test_id("chat-input").fill("what do I owe? my loan is L100")
    page.get_by_test_id("chat-send").click()
    expect(page.locator('[data-testid="chat-message"][data-role="assistant"]')).to_have_count(1)
    assert_accessible(page, "widget with a conversation")


def test_the_console_and_supervisor_pages(
    page: Any,
    new_page: Callable[[], Any],
    live_server: LiveServer,
    new_service_conversation: Callable[[], str],
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/console")
    assert_accessible(page, "console login")
    new_service_conversation()
    login(page, live_server, "/console", "agent")
    item = page.get_by_test_id("queue-item")
    expect(item).to_have_count(1)
    item.get_by_test_id("claim").click()
    expect(page.get_by_test_id("handoff")).to_contain_text("human request")
    assert_accessible(page, "console with a claimed conversation")

    supervisor = new_page()
    login(supervisor, live_server, "/supervisor", "supervisor")
    expect(supervisor.get_by_test_id("audit-status")).to_contain_text("Audit chain")
    assert_accessible(supervisor, "supervisor view")


def test_the_payment_page(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    service = live_server.app.state.web.service
    conv = service.start(customer_id="C100", verified=True)
    outcome = service.customer_message(conv.id, "send me a link to pay $20")
    url = next(word for word in outcome.reply_text.split() if "/pay/" in word)
    page.goto(f"{live_server.url}/pay/{url.rsplit('/', 1)[-1]}")
    expect(page.get_by_text("$20.00").first).to_be_visible()
    assert_accessible(page, "payment page")


@pytest.fixture
def new_service_conversation(live_server: LiveServer) -> Callable[[], str]:
    def make() -> str:
        service = live_server.app.state.web.service
        conv = service.start(customer_id="C100", verified=True)
        service.customer_message(conv.id, "I want to talk to a person")
        return conv.id

    return make
