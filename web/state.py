"""What the app holds for its lifetime: settings, engines, database, service, limits."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from anyio import CapacityLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agent.conversation.broker import Broker
from agent.conversation.service import ConversationService, TurnRunner
from agent.runtime import Engines, build_service
from agent.settings import Settings
from web.config import WebLimits
from web.ratelimit import Limiter, rate_limiter

TURN_THREADS = 32  # turns in the server process (an LLM's turn mostly waits on the network)


class SocketRegistry:
    """How many customer sockets each conversation has open (a cap against floods)."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, conversation_id: str, limit: int) -> bool:
        with self._lock:
            if self._open[conversation_id] >= limit:
                return False
            self._open[conversation_id] += 1
            return True

    def release(self, conversation_id: str) -> None:
        with self._lock:
            self._open[conversation_id] -= 1
            if self._open[conversation_id] <= 0:
                del self._open[conversation_id]


@dataclass
class WebContext:
    settings: Settings
    limits: WebLimits
    engines: Engines
    db_engine: Engine
    service: ConversationService
    secret: str
    # Shared by all server instances through Redis when ``settings.redis_url`` is set.
    limiter: Limiter  # chat frames per conversation
    new_conversations: Limiter  # conversations started per client address
    sockets: SocketRegistry = field(default_factory=SocketRegistry)
    # Customer turns run on threads of their own, at most this many at once: under load a
    # turn waits on the event loop (the customer sees "typing" longer) and never takes
    # the threads that deliver messages and open conversations.
    turn_threads: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(TURN_THREADS))

    def use_turn_workers(self, workers: TurnRunner, count: int) -> None:
        """Customer turns go to ``count`` worker processes: a couple waiting per worker
        keeps each busy; more would only hold threads."""
        self.service.turn_runner = workers
        self.turn_threads = CapacityLimiter(2 * count)

    @property
    def sessions(self) -> Callable[[], Session]:
        return self.service.sessions

    def now(self) -> datetime:
        return self.service.clock()


def build_context(
    settings: Settings,
    engines: Engines,
    db_engine: Engine,
    limits: WebLimits,
    clock: Callable[[], datetime] | None = None,
    broker: Broker | None = None,
) -> WebContext:
    service = build_service(engines, db_engine, clock=clock, broker=broker)
    return WebContext(
        settings=settings,
        limits=limits,
        engines=engines,
        db_engine=db_engine,
        service=service,
        secret=settings.resolved_secret_key(),
        limiter=rate_limiter(
            "messages", limits.messages_per_window, limits.window_seconds, settings.redis_url
        ),
        new_conversations=rate_limiter(
            "new_conversations", limits.new_conversations_per_minute, 60.0, settings.redis_url
        ),
    )
