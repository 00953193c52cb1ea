"""Real-browser scenarios: the widget and the agent console in Debian's chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web_testkit import PASSWORDS, LiveServer

from agent.conversation.models import Conversation, Message, StaffUser
from agent.db.types import utcnow
from agent.ledger import repository as repo
from agent.ledger.models import Payment, PromiseToPay
from agent.runtime import Engines, build_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ASSISTANT = '[data-testid="chat-message"][data-role="assistant"]'
AGENT = '[data-testid="chat-message"][data-role="agent"]'
SYSTEM = '[data-testid="chat-message"][data-role="system"]'
ALL_MESSAGES = '[data-testid="chat-message"]'


def open_widget(page: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    expect(page.get_by_test_id("chat-panel")).to_have_attribute(
        "data-conversation-id", re.compile(r"^[0-9a-f]{32}$")
    )


def say(page: Any, text: str, *, enter: bool = False, reply: str = ASSISTANT) -> str:
    """Type a message (Enter or the Send button) and return the reply that appears."""
    from playwright.sync_api import expect

    replies = page.locator(reply)
    before = replies.count()
    page.get_by_test_id("chat-input").fill(text)
    if enter:
        page.get_by_test_id("chat-input").press("Enter")
    else:
        page.get_by_test_id("chat-send").click()
    expect(replies).to_have_count(before + 1)
    return replies.last.inner_text()


def shown_seqs(page: Any) -> list[int]:
    return [
        int(s)
        for s in page.locator(ALL_MESSAGES).evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-seq'))"
        )
    ]


def stored_seqs(db: Engine, conversation_id: str) -> list[int]:
    with Session(db) as session:
        return list(
            session.exec(
                select(Message.seq)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq))
            )
        )


def keep(screenshot: Path, docs_name: str | None = None) -> None:
    if docs_name:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, DOCS / docs_name)


def test_a_customer_verifies_and_promises_to_pay(
    new_page: Callable[..., Any], live_server: LiveServer, file_db: Engine, artifacts: Path
) -> None:
    page = new_page()
    open_widget(page, live_server)
    first = say(page, "I can pay the past due amount this Friday", enter=True)
    assert "automated assistant" in first and "loan number" in first
    assert "date of birth" in say(page, "L100")
    proposal = say(page, "1988-04-12 73301")
    assert "verified" in proposal and "promise to pay $165.00" in proposal
    done = say(page, "yes", enter=True)
    assert "recorded" in done
    customer = page.locator('[data-testid="chat-message"][data-role="customer"]')
    assert customer.count() == 4 and "Sent" in customer.last.inner_text()
    assert (
        page.locator(ASSISTANT).last.locator(".hcw-author").inner_text()
        == "Harbor assistant (automated)"
    )
    shot = artifacts / "widget-promise-to-pay.png"
    page.screenshot(path=str(shot))
    keep(shot, "widget.png")

    with Session(file_db) as session:
        promises = session.exec(select(PromiseToPay).where(PromiseToPay.loan_id == "L100")).all()
    assert [(str(p.amount), p.status) for p in promises] == [("165.00", "open")]
    conversation_id = page.get_by_test_id("chat-panel").get_attribute("data-conversation-id")
    assert shown_seqs(page) == stored_seqs(file_db, conversation_id)


def test_handoff_to_a_person_and_back(
    new_page: Callable[..., Any], live_server: LiveServer, file_db: Engine, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    customer = new_page()
    customer.goto(f"{live_server.url}/")
    customer.get_by_test_id("demo-customer").select_option("C100")
    customer.get_by_test_id("demo-signin").click()  # the logged-in case: a signed token
    expect(customer.get_by_test_id("demo-status")).to_contain_text("Maria Lopez")
    expect(customer.get_by_test_id("chat-input")).to_be_visible()
    say(customer, "I'd like to talk to a person please", reply=SYSTEM)
    expect(customer.locator(SYSTEM).last).to_contain_text("isn't online")  # nobody yet
    expect(customer.get_by_test_id("chat-status")).to_contain_text("Waiting for a person")

    agent = new_page()
    agent.goto(f"{live_server.url}/console")
    agent.get_by_test_id("login-user").fill("agent")
    agent.get_by_test_id("login-password").fill(PASSWORDS["agent"])
    agent.get_by_test_id("login-submit").click()
    item = agent.get_by_test_id("queue-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Maria Lopez")
    expect(item).to_contain_text("human request")
    # The console being open makes someone online: the customer's line position shows.
    expect(customer.get_by_test_id("chat-queue")).to_contain_text("number 1 in line")

    item.get_by_test_id("claim").click()
    expect(agent.get_by_test_id("conv-meta")).to_contain_text("with Alex Rivera")
    expect(agent.get_by_test_id("handoff")).to_contain_text("human request")
    expect(agent.get_by_test_id("ledger")).to_contain_text("$165.00")
    expect(customer.locator(SYSTEM).last).to_contain_text("Alex Rivera")
    expect(customer.get_by_test_id("chat-status")).to_contain_text("a person")

    suggestion = agent.get_by_test_id("suggestion").first
    expect(suggestion).to_contain_text("Maria")
    suggestion.click()
    agent.get_by_test_id("agent-input").press("End")
    agent.get_by_test_id("agent-input").type(" I can see your account.")
    agent.get_by_test_id("agent-send").click()
    from_person = customer.locator(AGENT).last
    expect(from_person).to_contain_text("I can see your account.")
    expect(from_person).to_contain_text("Alex Rivera")
    expect(from_person).to_contain_text("(a person)")

    say(customer, "Thanks! Can the assistant take it from here?", reply=ALL_MESSAGES)
    expect(agent.get_by_test_id("agent-transcript")).to_contain_text("take it from here")
    conversation_id = customer.get_by_test_id("chat-panel").get_attribute("data-conversation-id")
    with Session(file_db) as session:  # stored with the reply it would have had: none
        roles = session.exec(
            select(Message.role)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.seq))
        ).all()
    assert roles[-2:] == ["agent", "customer"] and roles.count("assistant") == 1
    shot = artifacts / "console-with-customer.png"
    agent.screenshot(path=str(shot))
    keep(shot, "console.png")

    agent.get_by_test_id("handback").click()
    expect(customer.locator(SYSTEM).last).to_contain_text("automated assistant again")
    reply = say(customer, "what do I owe?")
    assert "$165.00" in reply
    customer.screenshot(path=str(artifacts / "widget-after-handback.png"))

    with Session(file_db) as session:
        sent = session.exec(select(Message).where(Message.role == "agent")).all()
    assert [(m.author, m.ai_drafted) for m in sent] == [("Alex Rivera", True)]
    assert sent[0].content.endswith("I can see your account.")


def test_a_reconnect_mid_conversation_loses_nothing(
    new_page: Callable[..., Any],
    live_server_factory: Callable[..., LiveServer],
    engines: Engines,
    file_db: Engine,
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    server = live_server_factory()
    page = new_page()
    open_widget(page, server)
    say(page, "hello")
    page.get_by_test_id("chat-human").click()
    expect(page.locator(SYSTEM)).to_have_count(1)
    conversation_id = page.get_by_test_id("chat-panel").get_attribute("data-conversation-id")

    server.stop()  # the network drops / the server restarts
    expect(page.get_by_test_id("chat-connection")).to_contain_text("reconnecting")
    page.get_by_test_id("chat-input").fill("Are you still there?")
    page.get_by_test_id("chat-send").click()  # typed while offline: kept, sent later
    expect(page.locator(".hcw-pending")).to_have_count(1)

    # Meanwhile an agent answers (through another instance of the service).
    service = build_service(engines, file_db)
    with Session(file_db) as session:
        jordan = session.exec(select(StaffUser).where(StaffUser.username == "agent2")).one()
    service.claim(conversation_id, jordan)
    service.staff_message(conversation_id, jordan, "Sorry for the wait, Jordan here.")

    live_server_factory(port=server.port)
    expect(page.get_by_test_id("chat-connection")).to_be_hidden(timeout=30_000)
    expect(page.locator(AGENT)).to_contain_text("Jordan here")
    expect(page.locator(".hcw-pending")).to_have_count(0)
    page.screenshot(path=str(artifacts / "widget-after-reconnect.png"))

    stored = stored_seqs(file_db, conversation_id)
    assert shown_seqs(page) == stored  # every message once, in order
    with Session(file_db) as session:
        texts = session.exec(
            select(Message.content).where(
                Message.conversation_id == conversation_id, Message.role == "customer"
            )
        ).all()
    assert texts.count("Are you still there?") == 1


def test_the_widget_on_a_phone_by_keyboard(
    new_page: Callable[..., Any], live_server: LiveServer, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/")
    launcher = page.get_by_test_id("chat-launcher")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    box = page.get_by_test_id("chat-panel").bounding_box()
    assert box is not None and box["width"] == 390 and box["height"] == 844  # full screen
    log = page.get_by_test_id("chat-log")
    # A list (its items are messages) that announces additions politely.
    assert log.evaluate("n => n.tagName") == "OL" and log.get_attribute("aria-live") == "polite"
    assert log.get_attribute("aria-relevant") == "additions"

    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    expect(page.locator(ASSISTANT)).to_have_count(1)
    page.screenshot(path=str(artifacts / "widget-phone.png"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("chat-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_end_the_chat_and_rate_it(
    new_page: Callable[..., Any], live_server: LiveServer, file_db: Engine
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    open_widget(page, live_server)
    say(page, "hello")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("chat-end").click()
    expect(page.get_by_test_id("chat-status")).to_contain_text("ended")
    expect(page.get_by_test_id("chat-input")).to_be_hidden()
    page.locator('label[for="hcw-rate-5"]').click()
    page.get_by_test_id("chat-rating-comment").fill("Clear and quick")
    page.get_by_test_id("chat-rating-submit").click()
    expect(page.get_by_text("Thanks for your feedback.")).to_be_visible()
    conversation_id = page.get_by_test_id("chat-panel").get_attribute("data-conversation-id")
    with Session(file_db) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None and (conv.state, conv.rating, conv.rating_comment) == (
            "closed",
            5,
            "Clear and quick",
        )


def test_the_demo_payment_page(
    new_page: Callable[..., Any], live_server: LiveServer, file_db: Engine
) -> None:
    from playwright.sync_api import expect

    with Session(file_db) as session:
        link = repo.create_payment_link(
            session, "L100", Decimal("50.00"), utcnow(), 24, f"{live_server.url}/pay", None
        )
        session.commit()
        url, token = link.url, link.id
    page = new_page()
    page.goto(url)
    expect(page.get_by_test_id("demo-label")).to_have_text("DEMO")
    expect(page.get_by_test_id("pay-amount")).to_have_text("$50.00")
    expect(page.get_by_test_id("pay-loan")).to_have_text("L100")
    page.get_by_test_id("pay-button").click()
    expect(page.get_by_test_id("pay-result")).to_contain_text("recorded (demo)")
    page.reload()
    expect(page.get_by_test_id("pay-result")).to_contain_text("already used")
    expect(page.get_by_test_id("pay-button")).to_be_hidden()
    with Session(file_db) as session:
        paid = session.exec(select(Payment).where(Payment.payment_link_id == token)).all()
    assert len(paid) == 1


def test_the_supervisor_view(
    new_page: Callable[..., Any], live_server: LiveServer, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    service = live_server.app.state.web.service
    conv = service.start(customer_id="C100", verified=True)
    service.customer_message(conv.id, "I was in a car accident and can't work right now")

    agent = new_page()
    agent.goto(f"{live_server.url}/supervisor")
    agent.get_by_test_id("login-user").fill("agent")
    agent.get_by_test_id("login-password").fill(PASSWORDS["agent"])
    agent.get_by_test_id("login-submit").click()
    expect(agent.get_by_text("This page is for supervisors.")).to_be_visible()

    page = new_page()
    page.goto(f"{live_server.url}/supervisor")
    page.get_by_test_id("login-user").fill("supervisor")
    page.get_by_test_id("login-password").fill(PASSWORDS["supervisor"])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("audit-status")).to_contain_text("Audit chain OK")
    expect(page.get_by_test_id("metrics")).to_contain_text("escalation rate")
    expect(page.get_by_test_id("escalations")).to_contain_text("hardship")
    page.get_by_test_id("conversations").get_by_role("button", name="View").first.click()
    expect(page.get_by_test_id("supervisor-transcript")).to_contain_text("car accident")
    page.screenshot(path=str(artifacts / "supervisor.png"), full_page=True)

    # The agent works in the console; the supervisor signs them out everywhere: the open
    # console is closed at once and asks for a login again.
    agent.goto(f"{live_server.url}/console")
    expect(agent.get_by_test_id("staff-who")).to_contain_text("Alex Rivera")
    expect(agent.get_by_test_id("queue-item")).to_have_count(1)  # its socket is live
    page.on("dialog", lambda dialog: dialog.accept())
    sign_out = page.get_by_test_id("sign-out-agent")
    expect(sign_out).to_be_visible()
    sign_out.click()
    expect(agent.get_by_test_id("login-user")).to_be_visible()
    expect(page.get_by_test_id("team")).to_contain_text("Alex Rivera (agent)")
    expect(page.get_by_test_id("sign-out-agent")).to_have_count(0)


def test_a_streamed_reply_is_shown_as_it_is_written(
    new_page: Callable[..., Any],
    live_server_factory: Callable[..., LiveServer],
    llm_engines: Engines,
    scripted: Any,
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    from tests.llm.scripted_openai import reply

    answer = (
        "Happy to help with that. Payments can be made online, by phone or by mail. "
        "Would you like a secure payment link?"
    )
    scripted.script(reply(answer, token_delay=0.25))
    server = live_server_factory(with_engines=llm_engines)
    page = new_page()
    open_widget(page, server)
    page.get_by_test_id("chat-input").fill("how can I pay?")
    page.get_by_test_id("chat-send").click()

    draft = page.get_by_test_id("chat-draft")
    expect(draft).to_contain_text("Happy to help with that.")
    assert draft.get_attribute("aria-hidden") == "true"  # the stored reply is announced
    assert page.locator(ASSISTANT).count() == 0  # still being written
    shot = artifacts / "widget-streaming.png"
    page.screenshot(path=str(shot))

    expect(page.locator(ASSISTANT)).to_have_count(1)
    expect(draft).to_have_count(0)
    assert page.locator(ASSISTANT).last.inner_text().count("Happy to help with that.") == 1
    assert "secure payment link?" in page.locator(ASSISTANT).last.inner_text()


def test_a_turn_that_could_not_be_stored_is_resent_by_the_widget(
    new_page: Callable[..., Any],
    live_server_factory: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refuses every write attempt of a turn (busy, unreachable): the server
    answers ``try_again`` with nothing stored, the widget sends the same frame again by itself,
    and the customer sees the message sent once and answered — never "Not sent"."""
    from playwright.sync_api import expect
    from sqlalchemy.exc import OperationalError

    from agent.conversation.turn import CustomerTurns

    original = CustomerTurns._write
    failures = {"left": 3}  # every write attempt of the first try (the server retries twice)

    def flaky(self: Any, session: Any, read: Any, draft: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return original(self, session, read, draft)

    monkeypatch.setattr(CustomerTurns, "_write", flaky)
    server = live_server_factory()
    page = new_page()
    open_widget(page, server)
    say(page, "how can I make a payment?")
    assert failures["left"] == 0
    expect(page.locator(".hcw-failed")).to_have_count(0)
    customer = page.locator('[data-testid="chat-message"][data-role="customer"]')
    expect(customer).to_have_count(1)
    expect(customer.first).to_contain_text("Sent")
