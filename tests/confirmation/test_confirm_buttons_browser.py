"""The widget's Yes / No buttons in a real browser (Debian's chromium through Playwright),
answered by keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agent.db.engine import create_db_engine, create_schema
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import Engines
from agent.settings import Settings
from tests.confirmation.reply_suite import written
from tests.llm.harness import LEDGER, NOW
from tests.web.web_testkit import LiveServer
from web.app import create_app
from web.config import WebLimits

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ASSISTANT = '[data-testid="chat-message"][data-role="assistant"]'
CUSTOMER = '[data-testid="chat-message"][data-role="customer"]'


@pytest.fixture
def server(engines: Engines, tmp_path: Path) -> Iterator[tuple[LiveServer, Engine]]:
    db = create_db_engine(f"sqlite:///{tmp_path / 'web.db'}")
    create_schema(db)
    with Session(db) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
    settings = Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path,
        database_url="sqlite://",
        secret_key="browser-confirm-secret-0123456789abcdef0123456",
        redis_url=None,
        llm_provider="offline",
        embedding_provider="local",
    )
    live = LiveServer(create_app(settings, engines, db, limits=WebLimits(), clock=lambda: NOW), 0)
    live.start()
    yield live, db
    live.stop()
    db.dispose()


@pytest.fixture
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser.new_context().new_page()
        browser.close()


def say(page: Any, text: str) -> Any:
    from playwright.sync_api import expect

    replies = page.locator(ASSISTANT)
    before = replies.count()
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")
    expect(replies).to_have_count(before + 1)
    return replies.last


def test_yes_and_no_buttons_by_keyboard(page: Any, server: tuple[LiveServer, Engine]) -> None:
    from playwright.sync_api import expect

    live, db = server
    page.goto(f"{live.url}/")
    page.get_by_test_id("chat-launcher").click()
    say(page, "L100")
    say(page, "1988-04-12 73301")
    proposal = say(page, "can I change my due date to the 20th?")

    buttons = proposal.get_by_test_id("chat-confirm")
    expect(buttons).to_have_attribute("role", "group")
    yes = buttons.get_by_role("button", name="Yes")
    expect(yes).to_have_accessible_description(
        "Change the due date of loan L100 to the 20th of each month"
    )
    # A question in between: the buttons move to the newest reply, the proposal stays.
    again = say(page, "does it cost anything?")
    expect(page.get_by_test_id("chat-confirm")).to_have_count(1)
    expect(again.get_by_test_id("chat-confirm")).to_be_visible()
    assert written(db) == {}

    yes = again.get_by_role("button", name="Yes")
    yes.focus()
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("chat-confirm")).to_have_count(0)  # answered: gone
    expect(page.locator(CUSTOMER).last).to_contain_text("Yes")
    expect(page.locator(ASSISTANT).last).to_contain_text("now due on the 20th")
    assert [r["day_of_month"] for r in written(db)["due_date_changes"]] == [20]
