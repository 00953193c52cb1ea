"""Turn workers: the offline engine's customer turns run in worker processes, so that one
server uses every core (a Python process runs one thread at a time).

The server process keeps the sockets, the conversations' order (its per-conversation lock
is held while a worker takes the turn) and the announcements of stored turns. A worker
loads the engines once and takes one turn at a time on the same database; on a SQLite
file the writers of all the processes queue on one gate (:mod:`agent.db.write_gate`).

- A busy pool makes a turn wait for a free worker: the customer sees "typing" a little
  longer, never an error.
- A worker that dies or hangs mid-turn is replaced, and that turn's customer gets
  ``try_again``: the widget resends the same message id, which is stored once whether or
  not the lost worker had committed it.
- With an LLM the pool is not used: such a turn waits on the network, not on the CPU, and
  its reply drafts stream from the server process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from agent.conversation.results import ConversationError, TurnOutcome
from agent.conversation.turn import TRY_AGAIN
from agent.runtime import settle_heap
from agent.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 300.0  # loading the engines (two workers load side by side)
TURN_TIMEOUT_SECONDS = 120.0  # a worker silent this long is stuck: it is replaced
WAIT_FOR_WORKER_SECONDS = 300.0  # longer than a replacement's load


class TurnWorkersUnavailable(RuntimeError):
    """The workers could not start (the server does not start without them)."""


class TurnFailed(RuntimeError):
    """A turn failed in a worker on an unexpected error (logged there)."""


@dataclass(eq=False)  # identity: each worker is one process
class _Worker:
    process: BaseProcess
    conn: Connection


def wanted(settings: Settings, *, uses_llm: bool) -> bool:
    """Whether a server with these settings runs its turns in workers."""
    if settings.turn_workers <= 0:
        return False
    if uses_llm:
        log.info("turn workers are not used with an LLM: its turns wait on the network")
        return False
    url = settings.effective_database_url
    if url in ("sqlite://", "sqlite:///:memory:"):
        log.warning("turn workers need a database file or server, not in-memory SQLite")
        return False
    return True


class TurnWorkers:
    """A pool of ``count`` worker processes taking customer turns (see the module doc)."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        turn_timeout: float = TURN_TIMEOUT_SECONDS,
        ready_timeout: float = READY_TIMEOUT_SECONDS,
    ) -> None:
        if count < 1:
            raise ValueError("at least one turn worker")
        self._settings = settings
        self._count = count
        self._turn_timeout = turn_timeout
        self._ready_timeout = ready_timeout
        self._mp = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()  # idle, busy and loading
        self._guard = threading.Lock()
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker and wait until all have loaded the engines."""
        loading = [self._spawn() for _ in range(self._count)]  # they load side by side
        try:
            for worker in loading:
                self._await_ready(worker)
        except BaseException:
            self.close()
            raise
        for worker in loading:
            self._idle.put(worker)
        log.info("%d turn workers ready", self._count)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(("stop",))
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()

    @property
    def pids(self) -> list[int]:
        with self._guard:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    # --- a turn --------------------------------------------------------------------------

    def take(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        return self._call(("turn", conversation_id, text, client_message_id, confirms))

    def start_conversation(
        self, channel: str, customer_id: str | None, verified: bool, language: str | None = None
    ) -> str:
        """Start a conversation in a worker; its id. The server process writes nothing on
        its own: its threads wait for the GIL behind a busy event loop, and a write gate
        held there for a few statements made both workers wait hundreds of milliseconds
        (README, "Load")."""
        return self._call(("start", channel, customer_id, verified, language))

    def _call(self, request: tuple[Any, ...]) -> Any:
        worker = self._checkout()
        try:
            worker.conn.send(request)
            if not worker.conn.poll(self._turn_timeout):
                raise TimeoutError(f"no answer within {self._turn_timeout:.0f} s")
            reply = worker.conn.recv()
        except (EOFError, OSError, TimeoutError) as exc:
            log.error("turn worker %s lost mid-turn: %s", worker.process.pid, exc)
            self._replace(worker)
            raise ConversationError("try_again", TRY_AGAIN) from exc
        self._idle.put(worker)
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "refused":
            raise ConversationError(reply[1], reply[2])
        raise TurnFailed(reply[1])

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get(timeout=WAIT_FOR_WORKER_SECONDS)
        except queue.Empty as exc:  # every worker lost and none came back
            raise ConversationError("try_again", TRY_AGAIN) from exc

    # --- workers -------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        ours, theirs = self._mp.Pipe()
        process = self._mp.Process(
            target=worker_main, args=(self._settings, theirs), name="turn-worker", daemon=True
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._guard:
            self._workers.add(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        problem = None
        try:
            if worker.conn.poll(self._ready_timeout):
                message = worker.conn.recv()
                if message[0] == "ready":
                    return
                problem = message[1]
            else:
                problem = f"not ready within {self._ready_timeout:.0f} s"
        except (EOFError, OSError) as exc:
            problem = f"exited while loading ({exc or 'no reason given'})"
        self._discard(worker)
        raise TurnWorkersUnavailable(f"a turn worker could not start: {problem}")

    def _discard(self, worker: _Worker) -> None:
        with self._guard:
            self._workers.discard(worker)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()

    def _replace(self, worker: _Worker) -> None:
        self._discard(worker)

        def replace() -> None:
            for attempt in range(1, 4):
                with self._guard:
                    if self._closed:
                        return
                new = self._spawn()
                try:
                    self._await_ready(new)
                except TurnWorkersUnavailable:
                    log.exception("replacement turn worker failed (attempt %d)", attempt)
                    continue
                with self._guard:
                    closing = self._closed
                if closing:
                    self._discard(new)
                    return
                self._idle.put(new)
                log.info("turn worker replaced (pid %s)", new.process.pid)
                return

        threading.Thread(target=replace, name="turn-worker-replace", daemon=True).start()


# --- the worker process --------------------------------------------------------------------


def worker_main(settings: Settings, conn: Connection) -> None:
    """A worker: load the engines, then take turns until told to stop or the server goes."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    try:
        service = _worker_service(settings)
    except BaseException as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    settle_heap()
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if request[0] == "stop":
            return
        conn.send(_run(service, request[0], request[1:]))


def _run(service: Any, kind: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    try:
        if kind == "start":
            channel, customer_id, verified, language = args
            conv = service.start(
                channel=channel, customer_id=customer_id, verified=verified, language=language
            )
            return ("ok", conv.id)
        return ("ok", service.take_turn(*args))
    except ConversationError as exc:
        return ("refused", exc.code, str(exc))
    except Exception as exc:
        log.exception("%s failed in a worker (%s)", kind, args[0])
        return ("failed", f"{type(exc).__name__}: {exc}")


def _worker_service(settings: Settings) -> Any:
    from agent.conversation.broker import InProcessBroker
    from agent.runtime import build_engines, build_service, database_engine

    # The server process ingested the knowledge base before starting the workers.
    engines = build_engines(settings, ingest_if_needed=False)
    # Nothing is announced from here: the server publishes each stored turn.
    return build_service(engines, database_engine(settings), broker=InProcessBroker())
