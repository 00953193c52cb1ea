"""Shared fixtures: policy, fresh databases (SQLite in memory, or a fresh PostgreSQL
schema), and the heavy engines built once per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.db.engine import create_db_engine, create_schema
from agent.policy.config import PolicyConfig, load_policy
from agent.settings import DEFAULT_POLICY_FILE, Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PUBLIC_SCENARIOS = SHARED / "scenarios"
POSTGRES_URL = os.environ.get(
    "LOAN_AGENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOAN_AGENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("LOAN_AGENT_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, why: str) -> None:
    message = f"{what} not reachable ({why})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; CI requires it (LOAN_AGENT_REQUIRE_SERVICES=1)")
    pytest.skip(f"{message}; set {what.upper()}_URL or run .ci/run to start it")


@pytest.fixture(scope="session")
def policy() -> PolicyConfig:
    return load_policy(DEFAULT_POLICY_FILE)


@pytest.fixture
def sqlite_engine() -> Iterator[Engine]:
    engine = create_db_engine("sqlite://")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_available() -> str:
    try:
        engine = create_db_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        _unavailable("PostgreSQL", f"{POSTGRES_URL}: {type(exc).__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_engine(postgres_available: str) -> Iterator[Engine]:
    """A fresh schema per test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(postgres_available)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    from sqlmodel import create_engine

    engine = create_engine(postgres_available, connect_args={"options": f"-csearch_path={schema}"})
    create_schema(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def create_postgres_database(base_url: str) -> str:
    """A new, empty database on the test PostgreSQL; its name."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_postgres_database(base_url: str, name: str) -> None:
    admin = create_db_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_database(postgres_available: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL (for servers that migrate it), dropped
    afterwards; its name."""
    name = create_postgres_database(postgres_available)
    yield name
    drop_postgres_database(postgres_available, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest) -> Engine:
    """Runs the test on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def redis_available() -> str:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        _unavailable("Redis", f"{REDIS_URL}: {type(exc).__name__}")
    return REDIS_URL


@pytest.fixture(scope="session")
def test_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("loan-agent-data")
    return Settings(database_url="sqlite://", data_dir=data_dir, environment="test")


@pytest.fixture(scope="session")
def engines(test_settings: Settings):
    """The embedder, offline engine, guardrails and retriever: built once (about 15 s)."""
    from agent.runtime import build_engines

    return build_engines(test_settings)
