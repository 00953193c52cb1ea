"""Security headers on every page, asset and API answer: a CSP that runs our own scripts
only, frame-ancestors from settings (the customer pages only), HSTS in production,
Permissions-Policy and Cross-Origin-Opener-Policy; and no inline script in our pages."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.routes import pages
from web.routes.pages import STATIC

LENDER = "https://lender.example"
CUSTOMER_PAGES = ("/", "/pay/some-token")
STAFF_PAGES = ("/console", "/supervisor")


def page_paths() -> list[str]:
    """Every page route, with a sample value for a path parameter."""
    return [
        route.path.replace("{token}", "some-token")
        for route in pages.router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    ]


def directives(csp: str) -> dict[str, str]:
    pairs = (part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def assert_common(headers: dict[str, str] | object, production: bool = False) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    permissions = headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions
    if production:
        assert headers["strict-transport-security"].startswith("max-age=31536000")
    else:
        assert "strict-transport-security" not in headers


def test_every_page_runs_only_our_own_scripts_and_cannot_be_framed(client: TestClient) -> None:
    paths = page_paths()
    assert {"/", "/console", "/supervisor", "/pay/some-token", "/widget.js"} <= set(paths)
    html_pages = 0
    for path in [*paths, "/static/site.js", "/static/widget.css"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_common(response.headers)
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        policy = directives(csp)
        assert policy["frame-ancestors"] == "'none'", path
        assert response.headers["x-frame-options"] == "DENY", path
        if response.headers["content-type"].startswith("text/html"):
            html_pages += 1
            assert policy["script-src"] == "'self'", path
            assert policy["style-src"] == "'self'", path
            assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
        else:
            assert policy["default-src"] == "'none'", path
    assert html_pages == 4


def test_api_answers_and_errors_carry_the_headers(client: TestClient) -> None:
    for response in (client.get("/api/staff/me"), client.get("/api/no-such-thing")):
        assert response.status_code in (401, 404)
        assert_common(response.headers)
        assert response.headers["cache-control"] == "no-store"
        assert directives(response.headers["content-security-policy"])["default-src"] == "'none'"


def test_a_crafted_host_header_cannot_widen_the_policy(client: TestClient) -> None:
    response = client.get("/", headers={"host": "evil.example; script-src *"})
    csp = response.headers["content-security-policy"]
    assert "script-src *" not in csp and "evil.example" not in csp
    assert directives(csp)["script-src"] == "'self'"
    plain = client.get("/", headers={"host": "chat.lender.example:8443"})
    connect = directives(plain.headers["content-security-policy"])["connect-src"]
    assert connect == "'self' ws://chat.lender.example:8443 wss://chat.lender.example:8443"


def _client(settings: Settings, engines: Engines, db_engine: Engine) -> TestClient:
    return TestClient(create_app(settings, engines, db_engine))


def test_named_sites_may_frame_the_customer_pages_only(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    settings = web_settings.model_copy(
        update={"frame_ancestors": [LENDER, "https://*.shop.example"]}
    )
    with _client(settings, engines, db_engine) as client:
        for path in CUSTOMER_PAGES:
            response = client.get(path)
            framers = directives(response.headers["content-security-policy"])["frame-ancestors"]
            assert framers == f"{LENDER} https://*.shop.example", path
            # X-Frame-Options cannot name sites: DENY would override the CSP in old browsers.
            assert "x-frame-options" not in response.headers, path
        for path in STAFF_PAGES:
            response = client.get(path)
            framers = directives(response.headers["content-security-policy"])["frame-ancestors"]
            assert framers == "'none'" and response.headers["x-frame-options"] == "DENY", path


def test_production_adds_strict_transport_security(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    production = web_settings.model_copy(update={"environment": "production", "demo": False})
    with _client(production, engines, db_engine) as client:
        for path in ("/", "/console", "/widget.js", "/api/staff/me", "/healthz"):
            assert_common(client.get(path).headers, production=True)


@pytest.mark.parametrize(
    "raw",
    [
        "lender.example",  # no scheme
        "https://lender.example/embed",  # a path
        "*",
        "https://lender.example; script-src *",  # would inject a directive
        "javascript:alert(1)",
        "'unsafe-inline'",
        "https://lender.example 'self'",
    ],
)
def test_junk_in_frame_ancestors_is_a_clear_settings_error(raw: str) -> None:
    with pytest.raises(ValidationError, match="LOAN_AGENT_FRAME_ANCESTORS") as error:
        Settings(_env_file=None, frame_ancestors=raw)
    assert "https://lender.example" in str(error.value)  # says what an origin looks like


def test_frame_ancestors_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LOAN_AGENT_FRAME_ANCESTORS", " https://Lender.example/ ,'self', http://localhost:3000"
    )
    settings = Settings(_env_file=None)
    assert settings.frame_ancestors == [LENDER, "'self'", "http://localhost:3000"]
    monkeypatch.setenv("LOAN_AGENT_FRAME_ANCESTORS", "'none'")
    assert Settings(_env_file=None).frame_ancestors == []


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"handler {name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name}= on <{tag}>")


def test_our_pages_have_no_inline_script_or_style() -> None:
    """What the CSP would block (and a reason to loosen it): nothing inline in our HTML."""
    pages = sorted(STATIC.glob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        finder = _InlineFinder()
        finder.feed(page.read_text(encoding="utf-8"))
        assert finder.found == [], f"{page.name}: {finder.found}"
