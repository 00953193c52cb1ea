"""The widget's own labels in English, Spanish and Chinese, in Debian's chromium: it starts
in the page's language and follows the conversation's, re-labelling in place."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_testkit import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ASSISTANT = '[data-testid="chat-message"][data-role="assistant"]'
CUSTOMER = '[data-testid="chat-message"][data-role="customer"]'
ALL_MESSAGES = '[data-testid="chat-message"]'


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    contexts = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**({"viewport": {"width": 1280, "height": 860}} | options))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_widget(page: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_have_attribute(
        "data-conversation-id", re.compile(r"^[0-9a-f]{32}$")
    )


def send_and_keep_typing(page: Any, text: str, draft: str) -> None:
    """Send ``text`` and, in the same task (before any answer can be handled), start typing
    ``draft``: the language switch that the answer brings must leave it alone."""
    page.evaluate(
        """([text, draft]) => {
            const input = document.querySelector('[data-testid="chat-input"]');
            input.value = text;
            document.querySelector('[data-testid="chat-send"]').click();
            input.value = draft;
        }""",
        [text, draft],
    )


def assert_fits(page: Any) -> None:
    """No label pushes a control out of the panel (longer Spanish words)."""
    panel = page.get_by_test_id("chat-panel").bounding_box()
    assert panel is not None
    for test_id in ("chat-human", "chat-end", "chat-send", "chat-minimize", "chat-input"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box is not None, test_id
        assert (
            box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5
        ), (
            test_id,
            box,
            panel,
        )


def test_a_spanish_message_relabels_the_widget_in_place(
    new_page: Callable[..., Any], live_server: LiveServer, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = new_page()
    open_widget(page, live_server)
    root = page.locator(".hcw-root")
    send = page.get_by_test_id("chat-send")
    field = page.get_by_test_id("chat-input")
    expect(root).to_have_attribute("lang", "en")
    expect(send).to_have_text("Send")

    send_and_keep_typing(page, "Hola, quisiera saber cuánto debo en mi préstamo", "mi borrador")
    expect(page.locator(ASSISTANT)).to_have_count(1)
    expect(root).to_have_attribute("lang", "es")
    expect(send).to_have_text("Enviar")
    expect(field).to_have_attribute("placeholder", "Escriba su mensaje\u2026")
    expect(field).to_have_value("mi borrador")  # typed text kept
    expect(page.get_by_test_id("chat-human")).to_have_text("Hablar con una persona")
    expect(page.get_by_test_id("chat-end")).to_have_text("Terminar el chat")
    expect(page.get_by_test_id("chat-status")).to_contain_text("Asistente automático")
    expect(page.get_by_test_id("chat-minimize")).to_have_attribute(
        "aria-label", "Minimizar el chat"
    )
    expect(page.get_by_test_id("chat-launcher")).to_contain_text("Chatee con nosotros")
    # The transcript stays; its labels speak Spanish too.
    expect(page.locator(ALL_MESSAGES)).to_have_count(2)
    customer = page.locator(CUSTOMER).first
    expect(customer).to_contain_text("cuánto debo")
    expect(customer.locator(".hcw-author")).to_have_text("Usted")
    expect(customer.locator(".hcw-meta")).to_have_text("Enviado")
    expect(page.locator(ASSISTANT).first.locator(".hcw-author")).to_have_text(
        "Asistente de Harbor (automático)"
    )
    assert_fits(page)
    shot = artifacts / "widget-es.png"
    page.screenshot(path=str(shot))
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "widget-es.png")

    # Another switch, to Chinese, in place as well.
    field.fill("")
    send_and_keep_typing(page, "你好，我想查一下我欠多少钱", "草稿")
    expect(page.locator(ASSISTANT)).to_have_count(2)
    expect(root).to_have_attribute("lang", "zh")
    expect(send).to_have_text("发送")
    expect(field).to_have_value("草稿")
    expect(customer.locator(".hcw-author")).to_have_text("您")
    assert_fits(page)
    page.screenshot(path=str(artifacts / "widget-zh.png"))


def test_the_widget_starts_in_the_pages_language(
    new_page: Callable[..., Any], live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    def host_page(html_lang: str, script_attrs: str = "") -> str:
        return (
            f'<!doctype html><html lang="{html_lang}"><head><title>host</title></head><body>'
            f'<script src="/widget.js" {script_attrs} defer></script></body></html>'
        )

    page = new_page()
    pages = {
        "/es-page": host_page("es-MX"),
        "/zh-page": host_page("en", 'data-language="zh-CN"'),  # the embed attribute wins
        "/fr-page": host_page("fr"),
    }

    def serve(html: str) -> Callable[[Any], None]:
        return lambda route: route.fulfill(content_type="text/html", body=html)

    for path, html in pages.items():
        page.route(f"{live_server.url}{path}", serve(html))

    page.goto(f"{live_server.url}/es-page")
    expect(page.get_by_test_id("chat-launcher")).to_contain_text("Chatee con nosotros")
    expect(page.locator(".hcw-root")).to_have_attribute("lang", "es")
    page.goto(f"{live_server.url}/zh-page")
    expect(page.get_by_test_id("chat-launcher")).to_contain_text("在线咨询")
    expect(page.locator(".hcw-root")).to_have_attribute("lang", "zh")
    page.goto(f"{live_server.url}/fr-page")  # not one of ours: English
    expect(page.get_by_test_id("chat-launcher")).to_contain_text("Chat with us")
    expect(page.locator(".hcw-root")).to_have_attribute("lang", "en")
