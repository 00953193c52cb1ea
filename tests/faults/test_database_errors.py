"""Which failures the chat answers with ``try_again`` (the database away or busy) rather
than ``internal_error`` (a bug)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import OperationalError

from agent.db.errors import database_unavailable


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("the graph failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        sqlite3.OperationalError("database is locked"),
        psycopg.OperationalError("the connection is closed"),  # a checkpointer's own driver
        PoolTimeout("couldn't get a connection after 5.00 sec"),
        _wrapped(psycopg.OperationalError("consuming input failed")),
    ],
)
def test_database_failures_are_try_again(exc: BaseException) -> None:
    assert database_unavailable(exc)


@pytest.mark.parametrize("exc", [ValueError("bad"), KeyError("x"), _wrapped(TypeError("bug"))])
def test_bugs_are_not(exc: BaseException) -> None:
    assert not database_unavailable(exc)
