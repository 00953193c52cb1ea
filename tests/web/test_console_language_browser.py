"""The person's side of issue #13, in Debian's chromium: the queue card names the
customer's language, the queue can be shown in one language, and the handoff says it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web_testkit import PASSWORDS, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_queue_names_and_filters_by_language(
    new_page: Callable[..., Any], live_server: LiveServer, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    service = live_server.app.state.web.service
    spanish = service.start(customer_id="C100", verified=True)
    assert service.customer_message(spanish.id, "Perdí mi trabajo y no puedo pagar").escalated
    english = service.start()
    assert service.customer_message(english.id, "I want to talk to a real person").escalated

    agent = new_page()
    agent.goto(f"{live_server.url}/console")
    agent.get_by_test_id("login-user").fill("agent")
    agent.get_by_test_id("login-password").fill(PASSWORDS["agent"])
    agent.get_by_test_id("login-submit").click()
    items = agent.get_by_test_id("queue-item")
    expect(items).to_have_count(2)
    spanish_card = items.filter(has=agent.get_by_test_id("language-badge"))
    expect(spanish_card).to_have_count(1)
    expect(spanish_card).to_contain_text("Spanish")
    expect(spanish_card).to_contain_text("hardship")

    agent.get_by_test_id("queue-language").select_option("es")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("hardship")
    agent.get_by_test_id("queue-language").select_option("zh")
    expect(items).to_have_count(0)
    expect(agent.get_by_test_id("queue")).to_contain_text("Nobody is waiting in this language")
    agent.get_by_test_id("queue-language").select_option("")
    expect(items).to_have_count(2)

    spanish_card.get_by_test_id("claim").click()
    expect(agent.get_by_test_id("handoff")).to_contain_text("Spanish")
    expect(agent.get_by_test_id("handoff")).to_contain_text("The customer writes in Spanish")
    agent.screenshot(path=str(artifacts / "console-spanish-customer.png"))
