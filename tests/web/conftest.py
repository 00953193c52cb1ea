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

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from web_testkit import PASSWORDS, SECRET, STAFF

from agent.conversation.models import StaffUser
from agent.conversation.staff import hash_password
from agent.db.engine import create_db_engine, create_schema
from agent.ledger.demo_book import demo_ledger
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import Engines, build_engines
from agent.settings import Settings
from web.app import create_app
from web.config import WebLimits

SMALL_BOOK = ("C100", "C101", "C103")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(_env_file=None, environment="test",
                    data_dir=tmp_path_factory.mktemp("web-data"),
                    database_url="sqlite://", secret_key=SECRET, redis_url=None,
                    llm_provider="offline", embedding_provider="local")


@pytest.fixture(scope="session")
def engines(web_settings: Settings) -> Engines:
    return build_engines(web_settings)


@pytest.fixture(scope="session")
def staff_hashes() -> dict[str, str]:
    return {name: hash_password(pw) for name, pw in PASSWORDS.items()}


def seed(db: Engine, engines: Engines, staff_hashes: dict[str, str]) -> None:
    book = demo_ledger(date.today(), engines.policy)
    book["customers"] = [c for c in book["customers"] if c["id"] in SMALL_BOOK]
    book["loans"] = [loan for loan in book["loans"] if loan["customer_id"] in SMALL_BOOK]
    with Session(db) as session:
        write_ledger(session, parse_ledger(book, "web tests"))
        for username, name, role in STAFF:
            session.add(StaffUser(username=username, display_name=name, role=role,
                                  password_hash=staff_hashes[username]))
        session.commit()


@pytest.fixture
def db_engine(engines: Engines, staff_hashes: dict[str, str]) -> Iterator[Engine]:
    engine = create_db_engine("sqlite://")
    create_schema(engine)
    seed(engine, engines, staff_hashes)
    yield engine
    engine.dispose()


@pytest.fixture
def file_db(tmp_path: Path, engines: Engines, staff_hashes: dict[str, str]) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'web.db'}")
    create_schema(engine)
    seed(engine, engines, staff_hashes)
    yield engine
    engine.dispose()


@pytest.fixture
def limits() -> WebLimits:
    return WebLimits(hello_timeout_seconds=3.0, queue_refresh_seconds=1.0)


@pytest.fixture
def app(web_settings: Settings, engines: Engines, db_engine: Engine,
        limits: WebLimits) -> FastAPI:
    return create_app(web_settings, engines, db_engine, limits=limits)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# --- a real uvicorn on a free loopback port -------------------------------------------------


@dataclass
class LiveServer:
    app: FastAPI
    port: int
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=2, ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = self.thread = None


@pytest.fixture
def live_server_factory(web_settings: Settings, engines: Engines, file_db: Engine,
                        limits: WebLimits) -> Iterator[Callable[..., LiveServer]]:
    """Start servers over the test's file database; each call is a fresh app (a restart)."""
    servers: list[LiveServer] = []

    def start(port: int = 0) -> LiveServer:
        app = create_app(web_settings, engines, file_db, limits=limits)
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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
