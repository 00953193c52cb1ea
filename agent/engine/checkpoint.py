"""LangGraph checkpointers, so that a conversation's agent state survives a restart: on the
same PostgreSQL database as the ledger; beside the SQLite file (``<name>.checkpoints``)
on the embedded default, because a turn holds SQLite's single write lock for the ledger
while the agent runs; in memory for evaluation runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver


def make_checkpointer(database_url: str | None) -> Any:
    if database_url is None or database_url in ("sqlite://", "sqlite:///:memory:"):
        return InMemorySaver()
    if database_url.startswith("sqlite"):
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = database_url.split("///", 1)[-1] + ".checkpoints"
        connection = sqlite3.connect(path, check_same_thread=False, timeout=30)
        saver = SqliteSaver(connection)
        saver.setup()
        return saver
    if database_url.startswith(("postgresql", "postgres")):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row

        url = database_url.replace("postgresql+psycopg://", "postgresql://").replace(
            "postgresql+psycopg2://", "postgresql://"
        )
        connection = Connection.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row
        )
        saver = PostgresSaver(connection)
        saver.setup()
        return saver
    raise ValueError(f"no checkpointer for database URL {database_url!r}")
