"""PostgreSQL advisory locks: what orders work across server processes on one database.

:class:`AdvisoryLocks` keeps **one connection per process** and takes session-level locks
on it with ``pg_try_advisory_lock`` (never a blocking call on a shared connection): a lock
another process holds is retried with a short back-off until a deadline. PostgreSQL
releases a dead process's locks with its connection, so a ``kill -9`` never leaves one
behind. Should this process's connection drop while it holds locks, they are gone too;
the next call reconnects, the loss is logged, and the database's unique keys still refuse
a second write of the same sequence number (:mod:`agent.conversation.turn` retries it).

:func:`startup_lock` serialises what every starting process would otherwise do at once
(migrations, seeding, ingesting the policy documents): on PostgreSQL an advisory lock, on
a SQLite file an ``flock`` beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The first key of the two-key form, so this product's locks never meet another's.
NAMESPACE = 0x4C41  # "LA"
STARTUP_KEY = 1
INSTANCE_NAMESPACE = 0x4C42  # one lock per running server instance (``count_instances``)
FIRST_WAIT_SECONDS = 0.002
LONGEST_WAIT_SECONDS = 0.05


class LockUnavailable(RuntimeError):
    """The lock could not be taken: held elsewhere too long, or the database is away."""


class LockTimeout(LockUnavailable):
    pass


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it: its parts, query options included (a
    ``?options=-csearch_path=x`` is fine to SQLAlchemy, not as a libpq URI)."""
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parts: dict[str, object] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    for name, value in parsed.query.items():
        parts[name] = value if isinstance(value, str) else value[-1]
    return make_conninfo(**{k: v for k, v in parts.items() if v is not None})


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for ``name`` (a conversation id, say)."""
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLocks:
    """Session-level advisory locks ``(NAMESPACE, key)`` on one connection of this process.

    Callers must not ask for a key this process already holds (the conversation order
    takes a thread lock first, so two threads never do): PostgreSQL would grant it again.
    """

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = libpq_conninfo(url)
        self._connect_timeout = connect_timeout
        self._connection: Any = None
        self._pid: int | None = None
        self._held: set[int] = set()
        self._mutex = threading.Lock()

    def acquire(self, key: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wait = FIRST_WAIT_SECONDS
        while not self._try_or_fail(key):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"advisory lock {key} still held elsewhere after {timeout}s")
            time.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_SECONDS)

    def release(self, key: int) -> None:
        with self._mutex:
            if key not in self._held:
                return
            self._held.discard(key)
            try:
                self._execute("SELECT pg_advisory_unlock(%s, %s)", (NAMESPACE, key))
            except Exception as exc:  # the connection is gone, and the lock with it
                log.warning("advisory lock %s lost with its connection: %s", key, exc)
                self._drop()

    @contextmanager
    def hold(self, key: int, timeout: float) -> Iterator[None]:
        self.acquire(key, timeout)
        try:
            yield
        finally:
            self.release(key)

    def close(self) -> None:
        with self._mutex:
            self._drop()

    def _try_or_fail(self, key: int) -> bool:
        try:
            return self._try(key)
        except LockUnavailable:
            raise
        except Exception as exc:  # psycopg's errors: the database is unreachable
            raise LockUnavailable(f"advisory lock {key}: {exc}") from exc

    def _try(self, key: int) -> bool:
        with self._mutex:
            try:
                row = self._execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, key))
            except Exception:
                self._drop()  # reconnect once: a stale connection after a database restart
                row = self._execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, key))
            if row and row[0]:
                self._held.add(key)
                return True
            return False

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        if self._connection is None or self._pid != os.getpid() or self._connection.closed:
            if self._held:
                log.warning(
                    "reconnecting: %d advisory locks of this process were lost", len(self._held)
                )
                self._held.clear()
            import psycopg

            self._connection = psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._connect_timeout))
            )
            self._pid = os.getpid()
        return self._connection.execute(sql, params).fetchone()

    def _drop(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            with suppress(Exception):  # already broken
                self._connection.close()
        self._connection = None
        self._held.clear()


@contextmanager
def startup_lock(database_url: str, data_dir: Path, timeout: float = 300.0) -> Iterator[None]:
    """Held while a starting process migrates, seeds or ingests; others wait their turn."""
    if is_postgres(database_url):
        with postgres_startup_lock(database_url, timeout):
            yield
        return
    if database_url in ("sqlite://", "sqlite:///:memory:"):
        with nullcontext():
            yield
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "startup.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing gives the flock back


@contextmanager
def postgres_startup_lock(database_url: str, timeout: float = 300.0) -> Iterator[None]:
    locks = AdvisoryLocks(database_url)
    try:
        with locks.hold(STARTUP_KEY, timeout):
            yield
    finally:
        locks.close()


def count_instances(connection: Any) -> int:
    """Server instances registered on ``connection``'s database (:class:`InstanceRegistration`)."""
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = %s AND objsubid = 2 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        (INSTANCE_NAMESPACE,),
    ).fetchone()
    return int(row[0]) if row else 0


class InstanceRegistration:
    """This server instance, counted among those running on one PostgreSQL database.

    Each instance holds one advisory lock ``(INSTANCE_NAMESPACE, its pid's slot)`` for
    its lifetime on a connection of its own; :meth:`count` reads ``pg_locks``, so an
    instance that died (even by ``kill -9``) stops counting at once. Used to warn when
    several instances run without Redis, where they would not see each other's events.
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self._connection = psycopg.connect(libpq_conninfo(url), autocommit=True, connect_timeout=5)
        for slot in range(os.getpid() % 100_000, os.getpid() % 100_000 + 1_000):
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (INSTANCE_NAMESPACE, slot)
            ).fetchone()
            if row and row[0]:
                break

    def count(self) -> int:
        return count_instances(self._connection)

    def close(self) -> None:
        with suppress(Exception):
            self._connection.close()
