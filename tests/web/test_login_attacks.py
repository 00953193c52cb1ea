"""Staff logins attacked over real HTTP: two uvicorn servers (configured as ``loan-agent
serve`` runs them) over one database, SQLite file or PostgreSQL, behind a trusted proxy
on 127.0.0.1 that says who the client is in X-Forwarded-For.

Password checks are counted where argon2 runs (``password_matches``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select
from web_testkit import PASSWORDS, LiveServer, add_staff

from agent.audit.log import verify_chain
from agent.audit.models import AuditEvent
from agent.conversation import staff as staff_module
from agent.db.engine import create_db_engine, create_schema
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app

FREE_TRIES = 5  # wrong passwords one person may type from one address before a delay
SPRAY_CHECKS = 20  # about as many checks as an account attacked from everywhere allows
SUPERVISOR = {"username": "supervisor", "password": PASSWORDS["supervisor"]}
WRONG = {"username": "supervisor", "password": "not-the-password"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines over one database, as two server processes would have."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'web.db'}"
        engines = create_db_engine(url), create_db_engine(url)
        create_schema(engines[0])
        yield engines
        for engine in engines:
            engine.dispose()
        return
    base_url = request.getfixturevalue("postgres_available")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"options": f"-csearch_path={schema}"}
    engines = tuple(
        create_engine(base_url, connect_args=options, pool_size=20, max_overflow=30)
        for _ in range(2)
    )
    create_schema(engines[0])
    yield engines  # type: ignore[misc]
    for engine in engines:
        engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def servers(
    two_engines: tuple[Engine, Engine],
    web_settings: Settings,
    engines: Engines,
    staff_hashes: dict[str, str],
) -> Iterator[list[LiveServer]]:
    with Session(two_engines[0]) as session:
        add_staff(session, staff_hashes)
        session.commit()
    settings = web_settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    running = []
    for db in two_engines:  # without uvicorn's own proxy headers, as `loan-agent serve`
        server = LiveServer(create_app(settings, engines, db), 0, options={"proxy_headers": False})
        server.start()
        running.append(server)
    yield running
    for server in running:
        server.stop()


class Checks:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._real = staff_module.password_matches

    def __call__(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.count += 1
        return self._real(password_hash, password)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Checks:
    counter = Checks()
    monkeypatch.setattr(staff_module, "password_matches", counter)
    return counter


def login(server: LiveServer, body: dict[str, str], address: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/staff/login",
        json=body,
        headers={"X-Forwarded-For": address},
        timeout=60,
    )


def in_parallel(jobs: list[tuple[LiveServer, dict[str, str], str]]) -> list[httpx.Response]:
    """Every job at once (up to 41; larger batches by 41 workers)."""
    workers = min(len(jobs), 41)
    barrier = threading.Barrier(workers) if len(jobs) == workers else None

    def run(job: tuple[LiveServer, dict[str, str], str]) -> httpx.Response:
        if barrier is not None:
            barrier.wait()
        return login(*job)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, jobs))


def test_forty_parallel_wrong_passwords_and_a_right_one(
    servers: list[LiveServer], checks: Checks, two_engines: tuple[Engine, Engine]
) -> None:
    jobs = [(servers[n % 2], WRONG, "198.51.100.7") for n in range(40)]
    jobs.insert(25, (servers[1], SUPERVISOR, "198.51.100.7"))
    responses = in_parallel(jobs)
    right = responses.pop(25)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {401, 429}
    if right.status_code == 200:
        # It was one of the first attempts checked. A right password clears its
        # address's count (the person is in), so the wrong ones after it get one more
        # round of free tries: never more.
        assert checks.count <= 2 * FREE_TRIES
        assert statuses.count(401) + 1 == checks.count
    else:  # it came once the pair was throttled: refused unchecked, like the rest
        assert checks.count <= FREE_TRIES
        assert right.status_code == 429 and statuses.count(401) == checks.count
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "login_throttled"
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert "try again in" in throttled.json()["error"]["message"]

    if right.status_code == 200:
        # A right password clears its address's count: throttle the pair again first.
        more = in_parallel([(servers[n % 2], WRONG, "198.51.100.7") for n in range(FREE_TRIES + 1)])
        statuses += [r.status_code for r in more]
    before = checks.count
    again = login(servers[0], SUPERVISOR, "198.51.100.7")
    assert again.status_code == 429 and checks.count == before  # not even checked
    assert login(servers[1], SUPERVISOR, "203.0.113.20").status_code == 200  # elsewhere

    with Session(two_engines[0]) as session:
        assert verify_chain(session).ok
        events = session.exec(select(AuditEvent)).all()
    kinds = [e.kind for e in events]
    assert kinds.count("staff_login_failed") == statuses.count(401)
    assert kinds.count("staff_login_throttled") == statuses.count(429) + 1 + (
        right.status_code == 429
    )
    assert all("not-the-password" not in str(e.payload) for e in events)
    assert all(PASSWORDS["supervisor"] not in str(e.payload) for e in events)


@pytest.mark.slow
def test_four_hundred_guesses_get_a_few_checks(
    servers: list[LiveServer], checks: Checks, two_engines: tuple[Engine, Engine]
) -> None:
    office = httpx.Client(base_url=servers[0].url, headers={"X-Forwarded-For": "203.0.113.5"})
    assert office.post("/api/staff/login", json=SUPERVISOR).status_code == 200
    checks.count = 0

    from_one = in_parallel([(servers[n % 2], WRONG, "198.51.100.1") for n in range(400)])
    assert checks.count == FREE_TRIES
    assert sum(r.status_code == 429 for r in from_one) == 400 - FREE_TRIES

    # The same guesses, each from an address of its own: the account's own throttle
    # bounds them (a small number, whatever the number of addresses).
    spread = in_parallel(
        [(servers[n % 2], WRONG, f"10.1.{n // 200}.{n % 200 + 1}") for n in range(400)]
    )
    assert checks.count <= SPRAY_CHECKS
    assert sum(r.status_code == 429 for r in spread) >= 400 - SPRAY_CHECKS

    # The supervisor's open session still works, and so does a login from the office.
    assert office.get("/api/staff/me").status_code == 200
    assert login(servers[1], SUPERVISOR, "203.0.113.5").status_code == 200
    office.close()


def test_a_strangers_wrong_passwords_do_not_lock_the_supervisor_out(
    servers: list[LiveServer], checks: Checks
) -> None:
    desk = httpx.Client(base_url=servers[0].url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert desk.post("/api/staff/login", json=SUPERVISOR).status_code == 200
    for _ in range(FREE_TRIES):
        assert login(servers[1], WRONG, "198.51.100.99").status_code == 401
    assert login(servers[1], SUPERVISOR, "198.51.100.99").status_code == 429  # that address

    assert desk.get("/api/staff/me").status_code == 200  # an open session: untouched
    laptop = login(servers[1], SUPERVISOR, "192.0.2.33")  # an address never used before
    assert laptop.status_code == 200, laptop.text
    assert laptop.json()["staff"]["username"] == "supervisor"
    desk.close()
