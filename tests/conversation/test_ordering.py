"""One conversation at a time: in a process (the lock table shrinks back) and across
processes on PostgreSQL (advisory locks, released when a process dies)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from agent.conversation.ordering import ConversationOrder
from agent.conversation.results import ConversationError
from agent.db.advisory_lock import AdvisoryLocks, lock_key, startup_lock
from agent.db.engine import create_db_engine
from agent.runtime import conversation_order


def test_one_conversation_at_a_time_and_the_table_shrinks_back() -> None:
    order = ConversationOrder()
    inside: list[str] = []
    overlaps: list[int] = []

    def turn(name: str) -> None:
        with order.hold("c1"):
            inside.append(name)
            overlaps.append(len(inside))
            time.sleep(0.02)
            inside.remove(name)

    threads = [threading.Thread(target=turn, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    with order.hold("c2"):  # another conversation is not held up meanwhile
        assert order.held() >= 1
    for thread in threads:
        thread.join()
    assert overlaps == [1] * 8
    assert order.held() == 0  # nobody holds or waits: nothing kept


def test_a_failed_hold_leaves_nothing_behind() -> None:
    order = ConversationOrder()
    with pytest.raises(RuntimeError), order.hold("c1"):
        raise RuntimeError("the turn failed")
    assert order.held() == 0
    with order.hold("c1"):  # and the conversation can be held again
        pass


def test_sqlite_orders_in_process_only() -> None:
    assert not conversation_order(create_db_engine("sqlite://")).across_processes


@pytest.mark.postgres
def test_postgres_orders_across_processes(postgres_available: str) -> None:
    order = conversation_order(create_db_engine(postgres_available))
    assert order.across_processes
    other = ConversationOrder(AdvisoryLocks(postgres_available), timeout=0.3)
    conversation = uuid.uuid4().hex
    try:
        with order.hold(conversation):
            with pytest.raises(ConversationError) as refused, other.hold(conversation):
                pass
            assert refused.value.code == "try_again"
            with other.hold(uuid.uuid4().hex):  # other conversations go on
                pass
        with other.hold(conversation):  # given back: the other process gets it
            pass
    finally:
        order.close()
        other.close()


@pytest.mark.postgres
def test_a_waiting_process_gets_the_conversation_when_the_holder_finishes(
    postgres_available: str,
) -> None:
    first = ConversationOrder(AdvisoryLocks(postgres_available))
    second = ConversationOrder(AdvisoryLocks(postgres_available))
    conversation = uuid.uuid4().hex
    events: list[str] = []
    held = threading.Event()

    def holder() -> None:
        with first.hold(conversation):
            events.append("first in")
            held.set()
            time.sleep(0.3)
            events.append("first out")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    with second.hold(conversation):
        events.append("second in")
    thread.join()
    first.close()
    second.close()
    assert events == ["first in", "first out", "second in"]


@pytest.mark.postgres
def test_a_killed_process_gives_its_conversations_back(postgres_available: str) -> None:
    conversation = uuid.uuid4().hex
    script = (
        "import sys, time\n"
        "from agent.db.advisory_lock import AdvisoryLocks\n"
        f"locks = AdvisoryLocks({postgres_available!r})\n"
        f"locks.acquire({lock_key(conversation)}, 5)\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        order = ConversationOrder(AdvisoryLocks(postgres_available), timeout=0.3)
        with pytest.raises(ConversationError), order.hold(conversation):
            pass
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 10
        while True:  # the server notices the dead connection at once, or nearly
            try:
                with order.hold(conversation):
                    break
            except ConversationError:
                assert time.monotonic() < deadline
        order.close()
    finally:
        process.kill()
        process.wait()


def test_the_database_away_is_try_again_not_a_crash() -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
    order = ConversationOrder(AdvisoryLocks(unreachable, connect_timeout=1), timeout=1)
    with pytest.raises(ConversationError) as refused, order.hold("c1"):
        pass
    assert refused.value.code == "try_again"
    assert order.held() == 0


def _overlaps_of_starts(database_url: str, data_dir) -> list[int]:
    """How many of four starting processes (threads here) were inside at each entry."""
    inside: list[int] = []
    overlaps: list[int] = []

    def start(n: int) -> None:
        with startup_lock(database_url, data_dir):
            inside.append(n)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.remove(n)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return overlaps


@pytest.mark.postgres
def test_starting_processes_take_turns(postgres_available: str, tmp_path) -> None:
    assert _overlaps_of_starts(postgres_available, tmp_path) == [1, 1, 1, 1]


def test_starting_processes_take_turns_on_a_sqlite_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert _overlaps_of_starts(url, tmp_path) == [1, 1, 1, 1]


@pytest.mark.postgres
def test_two_servers_on_one_database_store_a_resent_message_once(engines, postgres_engine) -> None:
    """Two services with their own orders (as two server processes have): the same message
    sent to both at the same moment is taken once; the other gets the stored answer."""
    import yaml
    from sqlmodel import Session

    from agent.ledger.loader import parse_ledger, write_ledger
    from agent.runtime import build_service
    from tests.tools.conftest import BOOK

    with Session(postgres_engine) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
    first, second = build_service(engines, postgres_engine), build_service(engines, postgres_engine)
    assert first.order.across_processes and second.order.across_processes
    conv = first.start(channel="widget", customer_id="C100", verified=True)
    outcomes = []
    threads = [
        threading.Thread(
            target=lambda s=service: outcomes.append(
                s.customer_message(conv.id, "When is my next payment due?", "m-1")
            )
        )
        for service in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(o.duplicate for o in outcomes) == [False, True]
        assert outcomes[0].customer_seq == outcomes[1].customer_seq
        assert [m.role for m in first.transcript(conv.id)].count("customer") == 1
    finally:
        first.order.close()
        second.order.close()


@pytest.mark.postgres
def test_a_second_instance_without_redis_is_warned_about(
    postgres_available: str, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    from agent.runtime import register_instance
    from agent.settings import Settings

    alone = Settings(database_url=postgres_available, data_dir=tmp_path)
    first = register_instance(alone)
    try:
        assert first is not None
        assert "without Redis" not in caplog.text  # alone on the database
        second = register_instance(alone)
        assert second is not None
        assert "1 other server instance(s) run on this database without Redis" in caplog.text
        second.close()
        caplog.clear()
        shared = Settings(database_url=postgres_available, data_dir=tmp_path, redis_url="redis://r")
        with_redis = register_instance(shared)
        assert with_redis is not None and "without Redis" not in caplog.text
        with_redis.close()
    finally:
        first.close()
