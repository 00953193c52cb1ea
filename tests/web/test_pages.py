"""The pages and static files are served with the security headers they need."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_the_demo_site_embeds_the_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Harbor Consumer Finance" in page.text
    assert '<script src="/widget.js" defer></script>' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_widget_assets_and_staff_pages(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.headers["content-type"].startswith("text/javascript")
    for hook in ("chat-input", "chat-send", "chat-message", "data-role", "aria-live"):
        assert hook in script.text
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    console = client.get("/console").text
    for hook in (
        "login-user",
        "login-password",
        "login-submit",
        "agent-input",
        "agent-send",
        "handback",
        'data-testid="close"',
    ):
        assert hook in console
    assert "Supervisor" in client.get("/supervisor").text
    assert client.get("/static/console.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/healthz").json() == {"ok": True}


def test_api_answers_are_not_cached(client: TestClient) -> None:
    assert client.get("/api/staff/me").headers["cache-control"] == "no-store"
