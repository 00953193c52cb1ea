"""Staff logins under attack (agent/conversation/login_throttle.py): parallel guesses are
admitted one by one and at most as many as the rules allow, over several database
engines (as several server processes would be), on SQLite and PostgreSQL; a stranger's
guesses never lock the account's owner out."""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from agent.audit.log import verify_chain
from agent.audit.models import AuditEvent
from agent.conversation import login_throttle, staff
from agent.conversation.login_throttle import ACCOUNT, ADDRESS, PAIR, Rule, address_key
from agent.conversation.models import LoginThrottle, StaffUser
from agent.db.engine import create_db_engine, create_schema

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
PASSWORD = "the-right-password-1"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engines_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines (own pools and connections, as two server processes have) over one
    database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'logins.db'}"
        first, second = create_db_engine(url), create_db_engine(url)
        create_schema(first)
        yield first, second
        first.dispose()
        second.dispose()
        return
    base_url = request.getfixturevalue("postgres_available")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"options": f"-csearch_path={schema}"}
    first = create_engine(base_url, connect_args=options, pool_size=20, max_overflow=20)
    second = create_engine(base_url, connect_args=options, pool_size=20, max_overflow=20)
    create_schema(first)
    yield first, second
    first.dispose()
    second.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(engines_pair: tuple[Engine, Engine]) -> Engine:
    first, _ = engines_pair
    with Session(first) as session:
        session.add(
            StaffUser(
                username="supervisor",
                display_name="Sam Taylor",
                role="supervisor",
                password_hash=staff.hash_password(PASSWORD),
            )
        )
        session.commit()
    return first


class Checks:
    """Counts the password verifications that really happen (argon2 runs)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._real = staff.password_matches

    def __call__(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.count += 1
        return self._real(password_hash, password)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Checks:
    counter = Checks()
    monkeypatch.setattr(staff, "password_matches", counter)
    return counter


def login(
    engine: Engine, password: str, address: str, now: datetime = NOW, username: str = "supervisor"
) -> staff.LoginResult:
    with Session(engine, expire_on_commit=False) as session:
        return staff.authenticate(session, username, password, address, now)


def in_parallel(calls: list[Callable[[], staff.LoginResult]]) -> list[staff.LoginResult]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], staff.LoginResult]) -> staff.LoginResult:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def audit_kinds(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [e.kind for e in session.exec(select(AuditEvent))]


def test_delays_start_after_the_free_failures_double_and_are_capped() -> None:
    rule = Rule(free=3, first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=70))
    delays = [rule.delay_after(n) for n in range(1, 8)]
    assert delays == [None, None] + [timedelta(seconds=s) for s in (10, 20, 40, 70, 70)]
    # The documented design: a person gets five tries; strangers need many more.
    assert PAIR.free == 5 and ADDRESS.free > PAIR.free and ACCOUNT.free > PAIR.free


def test_forty_parallel_guesses_over_two_engines_get_at_most_five_checks(
    engines_pair: tuple[Engine, Engine], db: Engine, checks: Checks
) -> None:
    engines = [engines_pair[n % 2] for n in range(41)]
    calls = [
        (lambda e=e: login(e, "wrong-guess", "198.51.100.7"))  # type: ignore[misc]
        for e in engines[:40]
    ]
    results = in_parallel(calls)
    refused = [r for r in results if r.retry_after is not None]
    failed = [r for r in results if r.retry_after is None]
    assert checks.count == len(failed) == PAIR.free
    assert len(refused) == 40 - PAIR.free
    assert all(r.user is None for r in results)
    assert all(0 < (r.retry_after or 0) <= PAIR.first_delay.total_seconds() for r in refused)

    # The right password from that address waits too, and is not even checked.
    right = login(engines[40], PASSWORD, "198.51.100.7")
    assert right.user is None and right.retry_after is not None
    assert "try again in" in (right.error or "")
    assert checks.count == PAIR.free

    # Once the delay is over, the person who knows the password gets in, and the
    # pair starts afresh.
    later = NOW + timedelta(seconds=right.retry_after + 1)
    assert login(db, PASSWORD, "198.51.100.7", later).user is not None
    assert login(db, "typo", "198.51.100.7", later).retry_after is None

    kinds = audit_kinds(db)
    assert kinds.count("staff_login_failed") == PAIR.free + 1
    assert kinds.count("staff_login_throttled") == 40 - PAIR.free + 1
    with Session(db) as session:
        assert verify_chain(session).ok
        payloads = [e.payload for e in session.exec(select(AuditEvent))]
    assert all("wrong-guess" not in str(p) and PASSWORD not in str(p) for p in payloads)
    assert {p["address"] for p in payloads} == {"198.51.100.7"}


def test_a_right_password_among_parallel_guesses_gets_in_only_within_the_free_tries(
    engines_pair: tuple[Engine, Engine], db: Engine, checks: Checks
) -> None:
    calls = [
        (lambda n=n: login(engines_pair[n % 2], "wrong-guess", "198.51.100.8"))  # type: ignore[misc]
        for n in range(40)
    ]
    calls.insert(20, lambda: login(engines_pair[1], PASSWORD, "198.51.100.8"))
    results = in_parallel(calls)
    right = results[20]
    wrong_checked = sum(1 for r in results[:20] + results[21:] if r.retry_after is None)
    assert checks.count <= PAIR.free
    if right.user is not None:  # it was one of the checked attempts
        assert wrong_checked + 1 == checks.count
    else:  # it came after the pair was throttled: refused, unchecked
        assert right.retry_after is not None and wrong_checked == checks.count


def test_guesses_from_one_address_never_lock_the_owner_out_elsewhere(
    db: Engine, checks: Checks
) -> None:
    # The owner logged in from the office once; a stranger guesses for over an hour.
    assert login(db, PASSWORD, "203.0.113.10").user is not None
    now, attacker_checks = NOW, 0
    for _ in range(200):
        result = login(db, "guess", "198.51.100.66", now)
        if result.retry_after is None:
            attacker_checks += 1
        now += timedelta(seconds=20)
    # Over an hour of guessing: the free tries, one per delay while the delays double up
    # to their cap, then one per capped delay.
    doublings = math.ceil(math.log2(PAIR.max_delay / PAIR.first_delay))
    capped = math.ceil((now - NOW) / PAIR.max_delay)
    assert PAIR.free < attacker_checks <= PAIR.free + doublings + capped
    assert login(db, PASSWORD, "203.0.113.10", now).user is not None  # a known address
    assert login(db, PASSWORD, "192.0.2.44", now).user is not None  # and a new one


def test_a_spray_from_many_addresses_is_bounded_and_known_addresses_keep_working(
    db: Engine, checks: Checks
) -> None:
    assert login(db, PASSWORD, "203.0.113.10").user is not None  # the owner's usual address
    checks.count = 0
    results = [login(db, "guess", f"10.{n // 250}.{n % 250}.1") for n in range(120)]
    assert checks.count == ACCOUNT.free
    assert {r.retry_after is not None for r in results[ACCOUNT.free :]} == {True}
    assert login(db, PASSWORD, "203.0.113.10").user is not None
    # The price of a distributed attack: a never-seen address waits while it lasts.
    assert login(db, PASSWORD, "192.0.2.44").retry_after is not None


def test_one_address_guessing_many_accounts_is_slowed_down(db: Engine, checks: Checks) -> None:
    results = [
        login(db, "guess", "198.51.100.9", username=f"user{n}") for n in range(ADDRESS.free + 5)
    ]
    assert checks.count == 0  # unknown users are never verified...
    assert [r.retry_after is None for r in results] == [True] * ADDRESS.free + [False] * 5
    # ...but counted the same way (no enumeration); another address is not affected.
    assert login(db, PASSWORD, "198.51.100.10").user is not None


def test_counts_are_forgotten_after_a_quiet_hour_and_stale_keys_pruned(
    db: Engine, checks: Checks
) -> None:
    for _ in range(PAIR.free):
        login(db, "typo", "198.51.100.11")
    blocked = login(db, PASSWORD, "198.51.100.11", NOW + timedelta(seconds=1))
    assert blocked.retry_after is not None
    quiet = NOW + login_throttle.FORGET_AFTER + timedelta(minutes=1)
    assert login(db, "typo", "198.51.100.11", quiet).retry_after is None  # counts from 1 again
    with Session(db) as session:
        pair = session.get(
            LoginThrottle, login_throttle.keys_for("supervisor", "198.51.100.11").pair
        )
        assert pair is not None and pair.failures == 1
    much_later = quiet + login_throttle.KNOWN_FOR + timedelta(days=1)
    login(db, "guess", "192.0.2.1", quiet)  # a key that will be stale
    assert login(db, PASSWORD, "203.0.113.12", much_later).user is not None  # prunes
    with Session(db) as session:
        keys = {row.key for row in session.exec(select(LoginThrottle))}
    assert keys == {
        login_throttle.keys_for("supervisor", "203.0.113.12").pair,
        login_throttle.keys_for("supervisor", "203.0.113.12").address,
        login_throttle.keys_for("supervisor", "203.0.113.12").account,
    }


def test_ipv6_addresses_are_throttled_by_their_64_network() -> None:
    one = address_key("2001:db8:1:2:aaaa::1")
    assert one == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert one != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:198.51.100.1") == "198.51.100.1"
    assert address_key("testclient") == "testclient"
