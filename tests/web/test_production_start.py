"""In production the server refuses to start, naming the setting, with a generated secret
key, demo mode, demo staff passwords set in the environment, or a staff account that
still has the password the demo seeding generated. The rule is a pure function
(``production_problems``); ``refuse_unsafe_start`` adds what only the database knows, and
the app's lifespan (like ``loan-agent serve``, tests/test_cli_serve.py) calls it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session
from web_testkit import PASSWORDS, SECRET

from agent.conversation.models import StaffUser
from agent.conversation.staff import hash_password
from agent.db.engine import create_db_engine
from agent.runtime import Engines
from agent.seeding import UnsafeStart, refuse_unsafe_start, set_staff_password
from agent.settings import Settings, production_problems
from web.app import create_app

KEY = SecretStr("k" * 48)


def production(tmp_path: Path, **update: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "secret_key": KEY,
        "data_dir": tmp_path,
        "database_url": "sqlite://",
    }
    return Settings(_env_file=None, **(values | update))


def test_a_sound_production_configuration_has_no_problems(tmp_path: Path) -> None:
    assert production_problems(production(tmp_path)) == []


@pytest.mark.parametrize(
    ("update", "named"),
    [
        ({"secret_key": None}, "LOAN_AGENT_SECRET_KEY is not set"),
        ({"secret_key": SecretStr("short-key")}, "LOAN_AGENT_SECRET_KEY is too short"),
        ({"demo": True}, "LOAN_AGENT_DEMO"),
        ({"staff_agent_password": SecretStr("x" * 20)}, "LOAN_AGENT_STAFF_AGENT_PASSWORD"),
        (
            {"staff_supervisor_password": SecretStr("x" * 20)},
            "LOAN_AGENT_STAFF_SUPERVISOR_PASSWORD",
        ),
        ({"frame_ancestors": ["http://lender.example"]}, "LOAN_AGENT_FRAME_ANCESTORS"),
    ],
)
def test_each_unsafe_setting_is_named(tmp_path: Path, update: dict, named: str) -> None:
    problems = production_problems(production(tmp_path, **update))
    assert len(problems) == 1 and named in problems[0]
    # Outside production the same settings are fine (a developer's machine, the demo).
    assert production_problems(production(tmp_path, environment="development", **update)) == []


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    settings = production(tmp_path, secret_key=None, demo=True)
    problems = production_problems(settings, ["agent", "supervisor"])
    assert len(problems) == 4
    assert "loan-agent staff set-password --username supervisor" in problems[3]


# --- the app's start -----------------------------------------------------------------------


def start(settings: Settings, engines: Engines, db: Engine) -> None:
    with TestClient(create_app(settings, engines, db)) as client:
        assert client.get("/healthz").json() == {"ok": True}


@pytest.mark.parametrize(
    ("update", "named"),
    [
        ({"secret_key": None}, "LOAN_AGENT_SECRET_KEY"),
        ({"demo": True}, "LOAN_AGENT_DEMO"),
        ({"staff_supervisor_password": SecretStr("s" * 16)}, "STAFF_SUPERVISOR_PASSWORD"),
    ],
)
def test_the_app_refuses_to_start_in_production(
    tmp_path: Path,
    engines: Engines,
    db_engine: Engine,
    update: dict,
    named: str,
) -> None:
    settings = production(tmp_path, **update)
    with pytest.raises(UnsafeStart, match=named) as refused:
        start(settings, engines, db_engine)
    assert "LOAN_AGENT_ENVIRONMENT" in str(refused.value)
    # The same settings outside production start.
    start(settings.model_copy(update={"environment": "development"}), engines, db_engine)


def test_the_servers_lifespan_refuses_before_loading_anything(
    tmp_path: Path, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's own path (``uvicorn web.app:create_app --factory``): nothing injected,
    the lifespan checks before it builds the engines."""

    def build_engines(settings: Settings) -> Engines:
        raise AssertionError("the engines were built for a server that must not start")

    monkeypatch.setattr("web.app.build_engines", build_engines)
    app = create_app(production(tmp_path, demo=True), db_engine=db_engine)
    with pytest.raises(UnsafeStart, match="LOAN_AGENT_DEMO"), TestClient(app):
        pass


def test_the_app_starts_in_production_when_sound(
    tmp_path: Path, engines: Engines, db_engine: Engine
) -> None:
    start(production(tmp_path, secret_key=SecretStr(SECRET)), engines, db_engine)


# --- staff accounts that still have the demo's generated password ------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def staff_db(request: pytest.FixtureRequest) -> Engine:
    """A database with two staff accounts, on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    engine: Engine = request.getfixturevalue(name)
    with Session(engine) as session:
        for username, role in (("agent", "agent"), ("supervisor", "supervisor")):
            user = StaffUser(
                username=username,
                display_name=username.title(),
                role=role,
                password_hash=hash_password(PASSWORDS[username]),
            )
            session.add(user)
        session.commit()
    return engine


def test_a_demo_password_still_in_use_refuses_the_start(
    tmp_path: Path, staff_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "staff_credentials.txt"
    # agent still has the generated password; supervisor's was changed since.
    credentials.write_text(f"agent {PASSWORDS['agent']}\nsupervisor an-old-generated-one\n")
    settings = production(tmp_path)
    with pytest.raises(UnsafeStart) as refused:
        refuse_unsafe_start(settings, staff_db)
    message = str(refused.value)
    assert "staff user 'agent' still has the demo password" in message
    assert "supervisor" not in message
    # Changing it (what the message says to do) lets the server start.
    monkeypatch.setattr("agent.seeding.create_db_engine", lambda url: staff_db)
    monkeypatch.setattr("agent.seeding.upgrade_to_head", lambda url: None)
    set_staff_password(settings, "agent", "a-brand-new-passphrase", now=datetime.now(UTC))
    refuse_unsafe_start(settings, staff_db)
    # Outside production a demo password is the demo working as meant.
    credentials.write_text(f"agent {PASSWORDS['agent']}\n")
    refuse_unsafe_start(settings.model_copy(update={"environment": "development"}), staff_db)


def test_the_lifespan_checks_the_database_too(
    tmp_path: Path, engines: Engines, db_engine: Engine
) -> None:
    (tmp_path / "staff_credentials.txt").write_text(f"supervisor {PASSWORDS['supervisor']}\n")
    with pytest.raises(UnsafeStart, match="'supervisor' still has the demo password"):
        start(production(tmp_path), engines, db_engine)


def test_an_empty_database_is_no_problem(tmp_path: Path, sqlite_engine: Engine) -> None:
    """A fresh production install (no tables yet, or no staff) with a credentials file
    left over from a demo starts: nothing matches."""
    (tmp_path / "staff_credentials.txt").write_text("agent whatever-it-was\n")
    refuse_unsafe_start(production(tmp_path), sqlite_engine)
    refuse_unsafe_start(production(tmp_path), create_db_engine("sqlite://"))
