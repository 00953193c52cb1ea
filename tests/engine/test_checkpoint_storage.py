"""How the embedded default stores what turns write: WAL with synchronous=NORMAL for the
ledger and the checkpoints (a turn worker reading never blocks another writing; a commit
survives a crash of the process), and a heap the garbage collector leaves alone."""

from __future__ import annotations

import gc
from pathlib import Path

from sqlalchemy import text

from agent.db.engine import create_db_engine
from agent.engine.checkpoint import make_checkpointer
from agent.runtime import settle_heap


def test_the_checkpoint_file_is_in_wal_mode(tmp_path: Path) -> None:
    saver = make_checkpointer(f"sqlite:///{tmp_path / 'loan.db'}")
    assert saver.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert saver.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert (tmp_path / "loan.db.checkpoints").exists()


def test_the_ledger_file_is_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'loan.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
    engine.dispose()


def test_settle_heap_puts_what_was_loaded_out_of_the_collectors_reach() -> None:
    loaded = [[i] for i in range(10_000)]  # containers, as loading the engines leaves
    before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() >= before + len(loaded)
    finally:
        gc.unfreeze()
