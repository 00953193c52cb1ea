"""One writer at a time on a SQLite file, by design: a gate that a connection takes at its
first write statement and gives back at commit or rollback.

SQLite allows one write transaction per database. Without the gate, concurrent writers
race for SQLite's lock and the loser gives up when ``busy_timeout`` runs out ("database
is locked"), after sleeping in SQLite's growing back-off; with it, they queue: threads of
one process on a lock, processes on the same database (the server and its turn workers,
:mod:`agent.turn_workers`) on an exclusive ``flock`` of a file beside the database, which
the kernel gives back when a process dies, even by ``kill -9``.
Reads never take the gate: in WAL mode readers do not block the writer, nor it them.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})
WAIT_SECONDS = 120.0  # a holder that never gives back is a bug: fail loudly, never hang


class WriteGateTimeout(RuntimeError):
    pass


def is_write(statement: str) -> bool:
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in WRITE_VERBS


class WriteGate:
    """``lock_file``: the file whose ``flock`` orders the writers of several processes
    (``None``: this process is the only writer)."""

    def __init__(self, lock_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None  # id() of the DBAPI connection holding the gate
        self._owner_thread: int | None = None
        self._lock_file = lock_file
        self._fd: int | None = None
        self._fd_pid: int | None = None

    def _process_lock_fd(self) -> int | None:
        if self._lock_file is None:
            return None
        if self._fd is None or self._fd_pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    @property
    def held(self) -> bool:
        return self._owner is not None

    def enter(self, connection_id: int) -> None:
        if self._owner == connection_id:
            return
        if self._owner_thread == threading.get_ident():
            # The same thread already writes on another connection: waiting would wait
            # for itself (SQLite would say "database is locked" after busy_timeout).
            raise WriteGateTimeout("a second write transaction in the same thread")
        if not self._lock.acquire(timeout=WAIT_SECONDS):
            raise WriteGateTimeout(f"no write slot within {WAIT_SECONDS:.0f} s")
        try:
            fd = self._process_lock_fd()
            if fd is not None:
                # Blocks (without the GIL) while another process writes; a dead holder's
                # lock is released by the kernel.
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._owner, self._owner_thread = connection_id, threading.get_ident()

    def leave(self, connection_id: int) -> None:
        if self._owner == connection_id:
            self._owner = self._owner_thread = None
            try:
                if self._fd is not None and self._fd_pid == os.getpid():
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                self._lock.release()


_GATES: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now (``BEGIN IMMEDIATE``), through the engine's gate when
    it has one: a lock taken behind the gate's back would make the gate's holder wait
    on SQLite while this connection waits on the gate. No-op inside a transaction that
    already writes, and on other databases."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if driver is None or driver.in_transaction:
        return
    gate = _GATES.get(connection.engine)
    if gate is not None:
        gate.enter(id(driver))
    driver.execute("BEGIN IMMEDIATE")


def install_write_gate(engine: Engine, lock_file: Path | None = None) -> WriteGate:
    gate = WriteGate(lock_file)
    _GATES[engine] = gate

    def dbapi_id(conn) -> int:
        return id(conn.connection.dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, _params, _context, _many) -> None:
        if is_write(statement):
            gate.enter(dbapi_id(conn))

    @event.listens_for(engine, "commit")
    def _commit(conn) -> None:
        gate.leave(dbapi_id(conn))

    @event.listens_for(engine, "rollback")
    def _rollback(conn) -> None:
        gate.leave(dbapi_id(conn))

    # A connection returned to the pool (or dropped) mid-transaction gives the gate back.
    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, _record) -> None:
        if dbapi_connection is not None:
            gate.leave(id(dbapi_connection))

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection, _record, _reset_state) -> None:
        gate.leave(id(dbapi_connection))

    return gate
