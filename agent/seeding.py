"""Seeding a ledger (the demo book only in demo mode), staff accounts, and preparing an
install for ``serve`` (including the refusal to start an unsafe production server)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.conversation.models import StaffUser
from agent.conversation.staff import (
    ensure_staff_user,
    hash_password,
    password_matches,
    revoke_all_staff_sessions,
)
from agent.db.advisory_lock import startup_lock
from agent.db.engine import create_db_engine
from agent.db.migrate import upgrade_to_head
from agent.ledger.demo_book import demo_ledger
from agent.ledger.loader import LedgerLoadError, load_ledger_file, parse_ledger, write_ledger
from agent.ledger.models import Customer
from agent.policy.config import load_policy
from agent.settings import Settings, production_problems

CREDENTIALS_FILE = "staff_credentials.txt"
STAFF_ROLES = ("agent", "supervisor")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")

LEDGER_HINT = (
    "load the lender's ledger with `loan-agent seed --ledger-file FILE` "
    "(or set LOAN_AGENT_DEMO=1 for the demo book)"
)
STAFF_HINT = (
    "create staff accounts with `loan-agent staff create --username NAME "
    '--name "Full Name" --role agent|supervisor`'
)


class SeedError(ValueError):
    pass


class StaffAccountError(ValueError):
    pass


class UnsafeStart(RuntimeError):
    """The server must not start as configured (production only)."""


def seed_database(
    settings: Settings, *, ledger_file: Path | None = None, today: date | None = None
) -> str:
    """Validate everything first, then write in one transaction (nothing on error).

    Without a ledger file the demo book is loaded, in demo mode only; the demo staff
    logins are created in demo mode only.
    """
    if ledger_file is None and not settings.demo:
        raise SeedError(f"no ledger file given: {LEDGER_HINT}")
    policy = load_policy(settings.policy_file)
    try:
        if ledger_file is not None:
            ledger = load_ledger_file(ledger_file)
        else:
            ledger = parse_ledger(demo_ledger(today or date.today(), policy), "demo book")
    except LedgerLoadError as exc:
        raise SeedError(str(exc)) from exc
    upgrade_to_head(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    lines = []
    with Session(engine) as session:
        customers = write_ledger(session, ledger, skip_existing=True)
        staff_lines = _demo_staff(session, settings) if settings.demo else []
        has_staff = session.exec(select(StaffUser).limit(1)).first() is not None
        session.commit()
    lines.append(
        f"ledger: {customers} new customer(s) of {len(ledger.customers)} "
        f"({'demo book' if ledger_file is None else ledger_file})"
    )
    lines.extend(staff_lines)
    if not has_staff:
        lines.append(f"no staff accounts yet: {STAFF_HINT}")
    return "\n".join(lines)


def _demo_staff(session: Session, settings: Settings) -> list[str]:
    lines = []
    for username, name, role, secret in (
        ("agent", "Alex Rivera", "agent", settings.staff_agent_password),
        ("supervisor", "Sam Taylor", "supervisor", settings.staff_supervisor_password),
    ):
        password = secret.get_secret_value() if secret else None
        _, generated = ensure_staff_user(session, username, name, role, password)
        if generated:
            credentials = settings.data_dir / CREDENTIALS_FILE
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            with credentials.open("a") as handle:
                handle.write(f"{username} {generated}\n")
            credentials.chmod(0o600)
            lines.append(
                f"staff user '{username}' ({role}) created with password: {generated}"
                f"  (shown once; also in {credentials})"
            )
        else:
            lines.append(f"staff user '{username}' ({role}) ready")
    return lines


def prepare_for_serving(settings: Settings, ingest: bool = True) -> list[str]:
    """Migrate; on first run seed the demo book (demo mode) or say how to load a ledger;
    ingest the policy documents (unless the caller builds the engines next, which ingests
    what changed with the same embedder). Processes starting together take turns."""
    with startup_lock(settings.effective_database_url, settings.data_dir):
        return _prepare(settings, ingest)


def _prepare(settings: Settings, ingest: bool) -> list[str]:
    notes = []
    upgrade_to_head(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    with Session(engine) as session:
        first_run = session.exec(select(Customer).limit(1)).first() is None
    if first_run and settings.demo:
        notes.append(seed_database(settings))
    elif first_run:
        notes.append(f"the database holds no ledger: {LEDGER_HINT}")
    with Session(engine) as session:
        if session.exec(select(StaffUser).limit(1)).first() is None:
            notes.append(f"no staff accounts: {STAFF_HINT}")
    credentials = settings.data_dir / CREDENTIALS_FILE
    if settings.demo and not first_run and credentials.exists():
        notes.append(f"staff logins: see {credentials}")
    if not ingest:
        return notes
    from agent.knowledge.embeddings import embedder_from_settings
    from agent.knowledge.ingest import ingest_from_settings

    report = ingest_from_settings(settings, embedder=embedder_from_settings(settings))
    notes.append(f"knowledge: {report}")
    return notes


# --- production: refuse an unsafe start ----------------------------------------------------


def staff_with_demo_passwords(settings: Settings, engine: Engine) -> list[str]:
    """Staff users whose password is still one the demo seeding generated (recorded in
    the data directory's credentials file)."""
    credentials = settings.data_dir / CREDENTIALS_FILE
    if not credentials.is_file():
        return []
    recorded = [line.split(maxsplit=1) for line in credentials.read_text().splitlines()]
    pairs = [(pair[0], pair[1].strip()) for pair in recorded if len(pair) == 2]
    if not pairs or not inspect(engine).has_table(StaffUser.__tablename__):
        return []
    found: list[str] = []
    with Session(engine) as session:
        for username, password in pairs:
            user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
            if user and username not in found and password_matches(user.password_hash, password):
                found.append(username)
    return found


def refuse_unsafe_start(settings: Settings, engine: Engine) -> None:
    """Raise :class:`UnsafeStart`, naming every setting to fix, when a production server
    would start with a generated secret key, demo mode or demo staff passwords."""
    if settings.environment != "production":
        return
    problems = production_problems(settings, staff_with_demo_passwords(settings, engine))
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise UnsafeStart(f"refusing to start in production (LOAN_AGENT_ENVIRONMENT):\n{listed}")


# --- staff accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    username: str
    display_name: str
    role: str
    created_at: datetime


def password_problem(password: str, username: str) -> str | None:
    """Why a new staff password is refused (None: it is accepted)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password must have at most {MAX_PASSWORD_CHARS} characters"
    if not password.strip():
        return "the password must not be blank"
    if password.strip().lower() == username.lower():
        return "the password must not be the username"
    return None


def _staff_engine(settings: Settings) -> Engine:
    upgrade_to_head(settings.effective_database_url)
    return create_db_engine(settings.effective_database_url)


def create_staff(
    settings: Settings, username: str, display_name: str, role: str, password: str
) -> None:
    """Create a staff account; a clear :class:`StaffAccountError` for anything refused."""
    username, display_name = username.strip(), display_name.strip()
    if not _USERNAME.fullmatch(username):
        raise StaffAccountError(
            f"bad username {username!r}: 1 to 100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if not display_name or len(display_name) > 100:
        raise StaffAccountError("the name must have 1 to 100 characters")
    if role not in STAFF_ROLES:
        raise StaffAccountError(f"bad role {role!r}: one of {', '.join(STAFF_ROLES)}")
    problem = password_problem(password, username)
    if problem:
        raise StaffAccountError(problem)
    engine = _staff_engine(settings)
    with Session(engine) as session:
        exists = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
        if exists is not None:
            raise StaffAccountError(f"staff user {username!r} already exists")
        try:
            ensure_staff_user(session, username, display_name, role, password)
            session.commit()
        except IntegrityError as exc:  # created at the same moment by someone else
            raise StaffAccountError(f"staff user {username!r} already exists") from exc


def set_staff_password(settings: Settings, username: str, password: str, now: datetime) -> int:
    """Give a staff user a new password and end their sessions; returns how many ended."""
    problem = password_problem(password, username)
    if problem:
        raise StaffAccountError(problem)
    engine = _staff_engine(settings)
    with Session(engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
        if user is None or user.id is None:
            raise StaffAccountError(f"no staff user {username!r}")
        user.password_hash = hash_password(password)
        session.add(user)
        ended = revoke_all_staff_sessions(session, user.id, now, "password changed")
        session.commit()
    return len(ended)


def list_staff(settings: Settings) -> list[StaffRow]:
    engine = _staff_engine(settings)
    with Session(engine) as session:
        users = session.exec(select(StaffUser).order_by(col(StaffUser.username))).all()
        return [StaffRow(u.username, u.display_name, u.role, u.created_at) for u in users]
