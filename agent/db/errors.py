"""Which failures mean "the database cannot be used just now" (rather than a bug)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import SQLAlchemyError


def database_unavailable(exc: BaseException) -> bool:
    """True for an error of the database or its driver: the ledger's engine (SQLAlchemy),
    or a checkpointer that talks to the driver directly (sqlite3, psycopg and its pool).
    Nothing of the failed operation was committed by us, so the caller may say "try
    again"."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SQLAlchemyError | sqlite3.Error) or _is_psycopg_error(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_psycopg_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)  # PoolTimeout is a psycopg.OperationalError
