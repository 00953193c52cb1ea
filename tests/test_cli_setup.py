"""Setting up an install from the command line: ``seed`` and ``serve`` load the demo book
and demo staff logins only in demo mode (LOAN_AGENT_DEMO=1), ``serve`` refuses an unsafe
production start, and ``staff create / set-password / list`` make real accounts.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.cli import main
from agent.conversation.models import StaffUser
from agent.conversation.staff import password_matches
from agent.db.engine import create_db_engine
from agent.ledger.demo_book import demo_ledger
from agent.ledger.models import Customer
from agent.policy.config import PolicyConfig
from agent.settings import get_settings

GOOD_PASSWORD = "correct horse battery"


@dataclass
class Install:
    """The environment of ``loan-agent`` runs: a data directory and a fresh database."""

    data_dir: Path
    database_url: str
    monkeypatch: pytest.MonkeyPatch
    served: list[dict[str, Any]] = field(default_factory=list)

    def run(self, *args: str, input: str | None = None, **env: str) -> Result:
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(main, list(args), input=input)
        finally:
            get_settings.cache_clear()

    def engine(self) -> Engine:
        return create_db_engine(self.database_url)

    def staff(self) -> dict[str, StaffUser]:
        if not inspect(self.engine()).has_table("staffuser"):
            return {}  # not even migrated
        with Session(self.engine()) as session:
            return {u.username: u for u in session.exec(select(StaffUser))}

    def customers(self) -> list[str]:
        if not inspect(self.engine()).has_table("customer"):
            return []
        with Session(self.engine()) as session:
            return sorted(c.id for c in session.exec(select(Customer)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def install(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Install]:
    for name in (
        "LOAN_AGENT_DEMO",
        "LOAN_AGENT_ENVIRONMENT",
        "LOAN_AGENT_SECRET_KEY",
        "LOAN_AGENT_STAFF_AGENT_PASSWORD",
        "LOAN_AGENT_STAFF_SUPERVISOR_PASSWORD",
        "LOAN_AGENT_DATABASE_URL",
        "LOAN_AGENT_REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("LOAN_AGENT_DATA_DIR", str(tmp_path / "var"))
    admin, schema = None, None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        base = request.getfixturevalue("postgres_available")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_db_engine(base)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path={schema}"
    monkeypatch.setenv("DATABASE_URL", url)
    setup = Install(tmp_path / "var", url, monkeypatch)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: setup.served.append(kwargs))
    yield setup
    get_settings.cache_clear()
    if admin is not None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ledger_file(tmp_path: Path, policy: PolicyConfig) -> Path:
    """A one-customer ledger file (scenario format)."""
    book = demo_ledger(date(2026, 11, 25), policy)
    ledger = {
        "customers": [c for c in book["customers"] if c["id"] == "C101"],
        "loans": [loan for loan in book["loans"] if loan["customer_id"] == "C101"],
    }
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump({"ledger": ledger}))
    return path


# --- serve and seed: the demo only when asked ---------------------------------------------


def test_serve_on_an_empty_database_seeds_nothing_and_says_what_to_do(install: Install) -> None:
    """The issue's finding: `serve` seeded the demo book and well-known staff logins into
    any empty database."""
    result = install.run("serve")
    assert result.exit_code == 0, result.output
    assert install.served, "the server was started"
    assert install.customers() == [] and install.staff() == {}
    assert not (install.data_dir / "staff_credentials.txt").exists()
    assert "loan-agent seed --ledger-file" in result.output
    assert "loan-agent staff create" in result.output


def test_serve_in_demo_mode_seeds_the_demo(install: Install) -> None:
    result = install.run("serve", LOAN_AGENT_DEMO="1")
    assert result.exit_code == 0, result.output
    assert len(install.customers()) == 9
    assert set(install.staff()) == {"agent", "supervisor"}
    generated = dict(
        line.split()
        for line in (install.data_dir / "staff_credentials.txt").read_text().split("\n")
        if line
    )
    assert password_matches(install.staff()["agent"].password_hash, generated["agent"])


def test_serve_refuses_an_unsafe_production_start(install: Install) -> None:
    result = install.run("serve", LOAN_AGENT_ENVIRONMENT="production", LOAN_AGENT_DEMO="1")
    assert result.exit_code != 0
    assert "refusing to start in production" in result.output
    assert "LOAN_AGENT_SECRET_KEY is not set" in result.output
    assert "LOAN_AGENT_DEMO is on" in result.output
    assert install.served == []


def test_serve_with_several_processes_needs_postgres_and_redis(install: Install) -> None:
    result = install.run("serve", "--workers", "2", LOAN_AGENT_DEMO="1")
    assert result.exit_code != 0 and install.served == []
    if install.database_url.startswith("sqlite"):
        assert "several server processes need PostgreSQL" in result.output
        return
    assert "several server processes need Redis (LOAN_AGENT_REDIS_URL" in result.output
    # With both, the processes are started (uvicorn's workers on one port).
    result = install.run(
        "serve", "--workers", "2", LOAN_AGENT_DEMO="1", LOAN_AGENT_REDIS_URL="redis://redis:6379/0"
    )
    assert result.exit_code == 0, result.output
    assert install.served[0]["workers"] == 2


def test_serve_refuses_while_a_demo_staff_password_is_in_use(install: Install) -> None:
    assert install.run("seed", LOAN_AGENT_DEMO="1").exit_code == 0
    install.monkeypatch.delenv("LOAN_AGENT_DEMO")
    production = {"LOAN_AGENT_ENVIRONMENT": "production", "LOAN_AGENT_SECRET_KEY": "s" * 40}
    result = install.run("serve", **production)
    assert result.exit_code != 0 and install.served == []
    assert "'agent' still has the demo password" in result.output
    assert "'supervisor' still has the demo password" in result.output
    for username in ("agent", "supervisor"):
        changed = install.run(
            "staff",
            "set-password",
            "--username",
            username,
            "--password-stdin",
            input=f"{GOOD_PASSWORD} {username}\n",
        )
        assert changed.exit_code == 0, changed.output
    result = install.run("serve", **production)
    assert result.exit_code == 0, result.output
    assert install.served


def test_seed_without_a_ledger_file_needs_demo_mode(install: Install) -> None:
    result = install.run("seed")
    assert result.exit_code != 0
    assert "--ledger-file" in result.output and "LOAN_AGENT_DEMO=1" in result.output
    assert not (install.data_dir / "staff_credentials.txt").exists()


def test_seed_a_ledger_file_creates_no_demo_logins(
    install: Install, tmp_path: Path, policy: PolicyConfig
) -> None:
    result = install.run("seed", "--ledger-file", str(ledger_file(tmp_path, policy)))
    assert result.exit_code == 0, result.output
    assert install.customers() == ["C101"]
    assert install.staff() == {}
    assert not (install.data_dir / "staff_credentials.txt").exists()
    assert "loan-agent staff create" in result.output


# --- staff accounts ------------------------------------------------------------------------


def test_staff_create_with_a_prompted_password(install: Install) -> None:
    result = install.run(
        "staff",
        "create",
        "--username",
        "dana",
        "--name",
        "Dana Park",
        "--role",
        "supervisor",
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert GOOD_PASSWORD not in result.output  # hidden input
    user = install.staff()["dana"]
    assert (user.display_name, user.role) == ("Dana Park", "supervisor")
    assert password_matches(user.password_hash, GOOD_PASSWORD)
    listed = install.run("staff", "list")
    assert "dana" in listed.output and "supervisor" in listed.output
    assert "$argon2" not in listed.output


def test_staff_create_from_stdin(install: Install) -> None:
    result = install.run(
        "staff",
        "create",
        "--username",
        "lee",
        "--name",
        "Lee Wong",
        "--role",
        "agent",
        "--password-stdin",
        input=f"{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert password_matches(install.staff()["lee"].password_hash, GOOD_PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "error"),
    [
        (["--role", "admin"], GOOD_PASSWORD, "'admin' is not one of 'agent', 'supervisor'"),
        (["--role", "agent"], "short-pw", "at least 12 characters"),
        (["--role", "agent"], " " * 14, "must not be blank"),
        (["--role", "agent"], "", "at least 12 characters"),
        (["--role", "agent", "--username", "bad name!"], GOOD_PASSWORD, "bad username"),
    ],
)
def test_staff_create_refuses_clearly_and_writes_nothing(
    install: Install, args: list[str], stdin: str, error: str
) -> None:
    base = ["staff", "create", "--username", "kim", "--name", "Kim Cho", "--password-stdin"]
    result = install.run(*base, *args, input=f"{stdin}\n")
    assert result.exit_code != 0
    assert error in result.output
    assert install.staff() == {}


def test_staff_create_refuses_a_mismatched_confirmation(install: Install) -> None:
    result = install.run(
        "staff",
        "create",
        "--username",
        "kim",
        "--name",
        "Kim Cho",
        "--role",
        "agent",
        input=f"{GOOD_PASSWORD}\nsomething else entirely\n",
    )
    assert result.exit_code != 0
    assert "do not match" in result.output


def test_a_duplicate_staff_user_is_refused_and_keeps_its_password(install: Install) -> None:
    create = ["staff", "create", "--username", "kim", "--name", "Kim Cho", "--role", "agent"]
    assert install.run(*create, "--password-stdin", input=f"{GOOD_PASSWORD}\n").exit_code == 0
    again = install.run(*create, "--password-stdin", input="another password 123\n")
    assert again.exit_code != 0
    assert "staff user 'kim' already exists" in again.output
    assert password_matches(install.staff()["kim"].password_hash, GOOD_PASSWORD)


def test_set_password_of_an_unknown_user(install: Install) -> None:
    result = install.run(
        "staff",
        "set-password",
        "--username",
        "nobody",
        "--password-stdin",
        input=f"{GOOD_PASSWORD}\n",
    )
    assert result.exit_code != 0 and "no staff user 'nobody'" in result.output
