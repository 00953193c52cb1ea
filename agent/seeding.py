"""Seeding the demo book and staff users, and preparing a fresh install for ``serve``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from agent.conversation.staff import ensure_staff_user
from agent.db.engine import create_db_engine
from agent.db.migrate import upgrade_to_head
from agent.ledger.demo_book import demo_ledger
from agent.ledger.loader import LedgerLoadError, load_ledger_file, parse_ledger, write_ledger
from agent.ledger.models import Customer
from agent.policy.config import load_policy
from agent.settings import Settings


class SeedError(ValueError):
    pass


def seed_database(
    settings: Settings, *, ledger_file: Path | None = None, today: date | None = None
) -> str:
    """Validate everything first, then write in one transaction (nothing on error)."""
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
        staff_lines = _staff(session, settings)
        session.commit()
    lines.append(
        f"ledger: {customers} new customer(s) of {len(ledger.customers)} "
        f"({'demo book' if ledger_file is None else ledger_file})"
    )
    lines.extend(staff_lines)
    return "\n".join(lines)


def _staff(session: Session, settings: Settings) -> list[str]:
    lines = []
    for username, name, role, secret in (
        ("agent", "Alex Rivera", "agent", settings.staff_agent_password),
        ("supervisor", "Sam Taylor", "supervisor", settings.staff_supervisor_password),
    ):
        password = secret.get_secret_value() if secret else None
        _, generated = ensure_staff_user(session, username, name, role, password)
        if generated:
            credentials = settings.data_dir / "staff_credentials.txt"
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
    """Migrate; seed the demo book on first run; ingest the policy documents (unless the
    caller builds the engines next, which ingests what changed with the same embedder)."""
    notes = []
    upgrade_to_head(settings.effective_database_url)
    engine = create_db_engine(settings.effective_database_url)
    with Session(engine) as session:
        first_run = session.exec(select(Customer).limit(1)).first() is None
    if first_run:
        notes.append(seed_database(settings))
    credentials = settings.data_dir / "staff_credentials.txt"
    if not first_run and credentials.exists():
        notes.append(f"staff logins: see {credentials}")
    if not ingest:
        return notes
    try:
        from agent.knowledge.embeddings import embedder_from_settings
        from agent.knowledge.ingest import ingest_from_settings

        report = ingest_from_settings(settings, embedder=embedder_from_settings(settings))
        notes.append(f"knowledge: {report}")
    except ImportError:  # pragma: no cover
        notes.append("knowledge: ingestion not available")
    return notes
