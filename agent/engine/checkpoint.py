"""LangGraph checkpointers, so that a conversation's agent state survives a restart: on the
same PostgreSQL database as the ledger; beside the SQLite file (``<name>.checkpoints``)
on the embedded default, so that the checkpoint never competes for the ledger's single
writer; in memory for evaluation runs.

:class:`TurnCheckpoints` holds a turn's checkpoint writes until the transcript has
committed the turn (README, "Memory of record": the transcript is the record, the
checkpoint derives from it). A turn whose write phase fails is forgotten by both; a crash
between the two commits leaves the checkpoint one turn behind, never ahead.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.memory import InMemorySaver

from agent.db.advisory_lock import libpq_conninfo, postgres_startup_lock

# How long a turn waits for a checkpoint connection before it fails ("try again").
CHECKPOINT_POOL_TIMEOUT_SECONDS = 5.0


def make_checkpointer(database_url: str | None) -> Any:
    if database_url is None or database_url in ("sqlite://", "sqlite:///:memory:"):
        return InMemorySaver()
    if database_url.startswith("sqlite"):
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = database_url.split("///", 1)[-1] + ".checkpoints"
        connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
        # WAL: a turn worker reading its conversation's checkpoint never blocks another
        # writing one (in the default rollback journal they wait on each other, in
        # SQLite's growing back-off). A crash loses no committed write in WAL either.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # as the ledger's (agent/db/engine.py)
        saver = SqliteSaver(connection)
        saver.setup()
        return saver
    if database_url.startswith(("postgresql", "postgres")):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        # A pool that checks a connection before lending it: after the database was away,
        # the next turn reconnects instead of failing on a dead connection for good.
        pool = ConnectionPool(
            libpq_conninfo(database_url),
            min_size=1,
            max_size=POSTGRES_SAVERS,
            timeout=CHECKPOINT_POOL_TIMEOUT_SECONDS,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=ConnectionPool.check_connection,
            open=True,
        )
        savers = [PostgresSaver(pool) for _ in range(POSTGRES_SAVERS)]
        with postgres_startup_lock(database_url):  # server processes starting together
            savers[0].setup()
        return SaverPool(savers, CHECKPOINT_POOL_TIMEOUT_SECONDS)
    raise ValueError(f"no checkpointer for database URL {database_url!r}")


# Checkpoint reads and writes of one process at the same time (one connection each).
POSTGRES_SAVERS = 6


class SaverPool(BaseCheckpointSaver):
    """Several savers, one lent per call. ``PostgresSaver`` runs every call of an instance
    under that instance's lock, even on a connection pool: with one instance, one
    checkpoint read or write at a time for the whole process, each waiting on the network
    (measured: two server processes on PostgreSQL stuck at 26 turns/s, half the cores
    idle, their threads queued on that lock)."""

    def __init__(self, savers: Sequence[BaseCheckpointSaver], timeout: float) -> None:
        super().__init__(serde=savers[0].serde)
        self._first = savers[0]
        self._free: queue.Queue[BaseCheckpointSaver] = queue.Queue()
        for saver in savers:
            self._free.put(saver)
        self._timeout = timeout

    @contextmanager
    def _lent(self) -> Iterator[BaseCheckpointSaver]:
        try:
            saver = self._free.get(timeout=self._timeout)
        except queue.Empty:
            from psycopg_pool import PoolTimeout  # as the connection pool's: "try again"

            raise PoolTimeout(f"no checkpoint saver free within {self._timeout}s") from None
        try:
            yield saver
        finally:
            self._free.put(saver)

    @property
    def config_specs(self) -> list:
        return self._first.config_specs

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        with self._lent() as saver:
            return saver.get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        with self._lent() as saver:
            found = list(saver.list(config, filter=filter, before=before, limit=limit))
        return iter(found)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._lent() as saver:
            return saver.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        with self._lent() as saver:
            saver.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        with self._lent() as saver:
            saver.delete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self._first.get_next_version(current, channel)


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


class TurnCheckpoints(BaseCheckpointSaver):
    """A checkpointer whose writes wait, per thread (conversation), for :meth:`keep`
    (after the transcript commit) or :meth:`forget` (the turn was not stored).

    Reads go to the saver underneath: a turn starts from what was kept. One turn per
    conversation runs at a time (the conversation service's lock), so a thread has at most
    one turn's writes waiting. LangGraph may write from a background thread, hence the lock.
    """

    def __init__(self, inner: BaseCheckpointSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._waiting: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
        self._lock = threading.Lock()

    # --- the turn's outcome ---------------------------------------------------------------

    def keep(self, thread_id: str) -> None:
        with self._lock:
            waiting = self._waiting.pop(thread_id, [])
        for kind, args in waiting:
            if kind == "put":
                self.inner.put(*args)
            else:
                self.inner.put_writes(*args)

    def forget(self, thread_id: str) -> None:
        with self._lock:
            self._waiting.pop(thread_id, None)

    def waiting(self, thread_id: str) -> int:
        with self._lock:
            return len(self._waiting.get(thread_id, []))

    # --- BaseCheckpointSaver ------------------------------------------------------------

    @property
    def config_specs(self) -> list:
        return self.inner.config_specs

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self.inner.list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._lock:
            self._waiting.setdefault(_thread(config), []).append(
                ("put", (config, checkpoint, metadata, new_versions))
            )
        return {
            "configurable": {
                "thread_id": config["configurable"]["thread_id"],
                "checkpoint_ns": config["configurable"].get("checkpoint_ns", ""),
                "checkpoint_id": checkpoint["id"],
            }
        }

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        with self._lock:
            self._waiting.setdefault(_thread(config), []).append(
                ("writes", (config, writes, task_id, task_path))
            )

    def delete_thread(self, thread_id: str) -> None:
        self.forget(thread_id)
        self.inner.delete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)
