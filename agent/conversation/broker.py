"""Event fan-out: conversation events to whoever listens (widget sockets, consoles).

In-process by default; Redis pub/sub when several server instances run.
Channels: ``conversation:<id>`` for one conversation, ``queue`` for staff consoles.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, Protocol


class Broker(Protocol):
    def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any:
        """An async context manager yielding an async iterator of events."""
        ...


class InProcessBroker:
    """Fan-out inside one process. ``publish`` may be called from any thread."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = (
            defaultdict(set)
        )
        self._lock = threading.Lock()

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            with suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers[channel].add(entry)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            with self._lock:
                self._subscribers[channel].discard(entry)


class RedisBroker:
    """Redis pub/sub, so that every server instance sees every event."""

    def __init__(self, url: str, prefix: str = "loan-agent:") -> None:
        import redis

        self._url = url
        self._prefix = prefix
        self._client = redis.Redis.from_url(url)

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        self._client.publish(self._prefix + channel, json.dumps(event, default=str))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self._url)
        pubsub = client.pubsub()
        await pubsub.subscribe(self._prefix + channel)

        async def events() -> AsyncIterator[dict[str, Any]]:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield json.loads(message["data"])

        try:
            yield events()
        finally:
            await pubsub.unsubscribe(self._prefix + channel)
            await pubsub.aclose()
            await client.aclose()


def broker_from_url(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()
