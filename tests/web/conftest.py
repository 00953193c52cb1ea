"""Fixtures of the web tests.

The heavy engines (embedder, classifier, retriever) are built ONCE per test session;
every test gets its own database seeded with a small ledger and three staff users.
TestClient tests use in-memory SQLite (StaticPool); tests against a real uvicorn use
a SQLite file (the server's threads need their own connections, and a "restart"
needs the data to outlive the app).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session
from web_testkit import PASSWORDS, SECRET, LiveServer, add_staff

from agent.conversation.staff import hash_password
from agent.db.engine import create_db_engine, create_schema
from agent.engine.agent import ServicingAgent
from agent.engine.llm import openai_compatible_model
from agent.ledger.demo_book import demo_ledger
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import Engines
from agent.settings import Settings
from tests.llm.conftest import scripted_server  # noqa: F401  (a fixture, shared)
from tests.llm.scripted_openai import ScriptedOpenAI
from web.app import create_app
from web.config import WebLimits

SMALL_BOOK = ("C100", "C101", "C103")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        demo=True,  # the demo site's sign-in (/api/demo) is part of what the web tests drive
        data_dir=tmp_path_factory.mktemp("web-data"),
        database_url="sqlite://",
        secret_key=SECRET,
        redis_url=None,
        llm_provider="offline",
        embedding_provider="local",
    )


@pytest.fixture(scope="session")
def engines(engines: Engines) -> Engines:
    """The heavy engines, built once per test session: the suite's own (tests/conftest.py),
    so that running everything does not build them twice. The web layer's settings
    (secret key, token lifetime) come from ``web_settings``."""
    return engines


@pytest.fixture(scope="session")
def staff_hashes() -> dict[str, str]:
    return {name: hash_password(pw) for name, pw in PASSWORDS.items()}


def seed(db: Engine, engines: Engines, staff_hashes: dict[str, str]) -> None:
    book = demo_ledger(date.today(), engines.policy)
    book["customers"] = [c for c in book["customers"] if c["id"] in SMALL_BOOK]
    book["loans"] = [loan for loan in book["loans"] if loan["customer_id"] in SMALL_BOOK]
    with Session(db) as session:
        write_ledger(session, parse_ledger(book, "web tests"))
        add_staff(session, staff_hashes)
        session.commit()


@pytest.fixture
def db_engine(tmp_path: Path, engines: Engines, staff_hashes: dict[str, str]) -> Iterator[Engine]:
    """A database file of its own, with a connection per thread as in production: an
    in-memory database is one connection shared by every thread, where one socket's
    session ending rolled back another's unfinished write (seen: a conversation's
    ``started`` event refused by its foreign key)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'web.db'}")
    create_schema(engine)
    seed(engine, engines, staff_hashes)
    yield engine
    engine.dispose()


@pytest.fixture
def file_db(db_engine: Engine) -> Engine:
    return db_engine


@pytest.fixture
def limits() -> WebLimits:
    return WebLimits(hello_timeout_seconds=3.0, queue_refresh_seconds=1.0)


@pytest.fixture
def app(web_settings: Settings, engines: Engines, db_engine: Engine, limits: WebLimits) -> FastAPI:
    return create_app(web_settings, engines, db_engine, limits=limits)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# --- a real uvicorn on a free loopback port -------------------------------------------------


@pytest.fixture
def live_server_factory(
    web_settings: Settings, engines: Engines, file_db: Engine, limits: WebLimits
) -> Iterator[Callable[..., LiveServer]]:
    """Start servers over the test's file database; each call is a fresh app (a restart).
    ``with_engines`` replaces the session's engines (an LLM-backed agent, say)."""
    servers: list[LiveServer] = []

    def start(port: int = 0, with_engines: Engines | None = None) -> LiveServer:
        chosen = with_engines or engines
        settings = web_settings if with_engines is None else with_engines.settings
        app = create_app(settings, chosen, file_db, limits=limits)
        server = LiveServer(app, port)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


# --- an LLM that streams: the scripted OpenAI-compatible server over real HTTP -------------


@pytest.fixture
def scripted(scripted_server: ScriptedOpenAI) -> ScriptedOpenAI:  # noqa: F811 (the fixture)
    """The LLM-path tests' session server (tests/llm/conftest.py), reset for this test."""
    scripted_server.reset()
    return scripted_server


@pytest.fixture
def llm_engines(scripted: ScriptedOpenAI, web_settings: Settings, engines: Engines) -> Engines:
    """The session's engines with an agent whose model is ``ChatOpenAI`` (streaming, as
    by default) pointed at the scripted server."""
    settings = web_settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_base_url": scripted.base_url,
            "llm_model": scripted.model,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout_seconds": 5.0,
            "llm_max_retries": 0,
        }
    )
    agent = ServicingAgent(
        settings,
        engines.policy,
        engines.embedder,
        InMemorySaver(),
        llm=openai_compatible_model(settings),
    )
    return dataclasses.replace(engines, settings=settings, agent=agent)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- real browsers (Debian's chromium through Playwright) ------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per module (contexts isolate the tests). Not per session:
    Playwright's sync API keeps an event loop running on the main thread while it is
    open, and later modules' asyncio.run would refuse to start."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium "
            "(`make browser-deps` installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Pages in their own browser contexts (a customer and a person side by side)."""
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
