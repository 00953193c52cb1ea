"""Engines and sessions for SQLite (embedded default, tests) and PostgreSQL (scale)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from agent.db.write_gate import install_write_gate

WRITE_GATE_ENABLED = True
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; in-memory SQLite shares one connection (``StaticPool``); a
    SQLite file has WAL, a busy timeout for other processes, and one writer at a time in
    all the processes on that file by design (:mod:`agent.db.write_gate`)."""
    if url.startswith("sqlite"):
        kwargs: dict = {"connect_args": {"check_same_thread": False}}
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            db_path = url.split("///", 1)[-1]
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            # A turn keeps a connection while its agent runs (reads only): enough of them
            # for the web server's thread pool, so that nobody waits for a connection.
            kwargs.update(pool_size=20, max_overflow=40)
        engine = create_engine(url, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if not memory and WRITE_GATE_ENABLED:
            install_write_gate(engine, Path(f"{db_path}.write-gate"))
        return engine
    # Per process, as many as the web server's thread pool uses at once (40) at most;
    # several server processes must fit under the database's max_connections (100 by
    # default on PostgreSQL): two processes take at most 2 x 30, plus one for the
    # conversations' advisory locks each.
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL with synchronous=NORMAL: a commit is durable against a crash of the process
    # (kill -9 included: tests/faults); only a crash of the machine itself may lose the
    # last commits. FULL syncs the disk at every commit, and on a virtual disk one slow
    # sync stalls every writer queued behind the gate (seen: 1-second stalls at 50 turns/s).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def import_all_models() -> None:
    """Register every table on ``SQLModel.metadata`` (ledger, conversations, audit, staff)."""
    import agent.audit.models
    import agent.conversation.models
    import agent.ledger.models  # noqa: F401


def create_schema(engine: Engine) -> None:
    """Create all tables directly (tests, evaluation). Deployed databases use Alembic."""
    import_all_models()
    SQLModel.metadata.create_all(engine)


def clear_all_tables(engine: Engine) -> None:
    """Empty every table (a fresh database without paying for a new schema)."""
    import_all_models()
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


def session_factory(engine: Engine) -> Callable[[], Session]:
    def make() -> Session:
        return Session(engine, expire_on_commit=False)

    return make
