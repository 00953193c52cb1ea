"""How the embedded default stores what turns write: WAL with synchronous=NORMAL for the
ledger and the checkpoints (a turn worker reading never blocks another writing; a commit
survives a crash of the process), and a heap the garbage collector leaves alone."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import text

from agent.db.engine import create_db_engine
from agent.engine.checkpoint import SaverPool, make_checkpointer
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


class _Meeting(InMemorySaver):
    """A saver whose reads wait until ``expected`` readers are inside at once."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    def get_tuple(self, config):  # type: ignore[no-untyped-def]
        self.barrier.wait(timeout=10)
        return super().get_tuple(config)


def test_the_saver_pool_serves_turns_side_by_side() -> None:
    """Two turns read their checkpoints at the same time, each on its own saver (one
    PostgresSaver serialises all its calls); a third, with none free, is told to try
    again rather than waiting for ever."""
    from psycopg_pool import PoolTimeout

    barrier = threading.Barrier(2)
    pool = SaverPool([_Meeting(barrier), _Meeting(barrier)], timeout=0.5)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    inside, errors = [], []

    def read() -> None:
        try:
            inside.append(pool.get_tuple(config))
        except Exception as exc:  # a BrokenBarrierError if they ran one after the other
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and inside == [None, None]

    held = threading.Barrier(3)
    busy = SaverPool([_Meeting(held), _Meeting(held)], timeout=0.3)
    waiting = [threading.Thread(target=busy.get_tuple, args=(config,)) for _ in range(2)]
    for thread in waiting:
        thread.start()
    with pytest.raises(PoolTimeout):
        busy.get_tuple(config)
    held.wait(timeout=10)  # let the two inside finish
    for thread in waiting:
        thread.join()


@pytest.mark.postgres
def test_server_processes_starting_together_set_the_checkpoints_up_once(
    postgres_available: str, postgres_database: str
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_available).set(database=postgres_database)
    code = (
        "import sys; from agent.engine.checkpoint import SaverPool, make_checkpointer; "
        "make_checkpointer(sys.argv[1]); print('ok')"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code, url.render_as_string(hide_password=False)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=120) for process in starts]
    assert [out.strip() for out, _ in results] == ["ok"] * 3, [err for _, err in results]
