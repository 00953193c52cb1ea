"""Event fan-out: conversation events to whoever listens (widget sockets, consoles).

In-process by default; Redis pub/sub when several server instances run.
Channels: ``conversation:<id>`` for one conversation, ``queue`` for staff consoles.
Events are notifications, not the record: a listener that gets ``{"type": "resync"}`` may
have missed some and reads the transcript or queue again from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Broker(Protocol):
    def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any:
        """An async context manager yielding an async iterator of events."""
        ...

    def close(self) -> None:
        """Send what is still queued (briefly) and stop."""
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
                if not self._subscribers[channel]:
                    del self._subscribers[channel]

    def close(self) -> None:
        pass


class BrokerUnavailable(RuntimeError):
    """Subscribing failed: the shared event bus (Redis) cannot be reached."""


RESYNC = {"type": "resync"}


class RedisBroker:
    """Redis pub/sub, so that every server instance sees every event.

    Connections do not grow with sockets: each event loop of the process keeps **one**
    subscriber connection (:class:`_Listener`) that subscribes to a channel while at least
    one local socket listens on it and fans each event out to them, and the process
    publishes through **one** connection from a thread of its own (:class:`_Publisher`), so
    ``publish`` never blocks its caller, an event loop included. Should the subscriber
    connection drop, it reconnects with back-off, subscribes again and then tells each
    local listener ``{"type": "resync"}``: events may have been missed, read the record.
    """

    def __init__(self, url: str, prefix: str = "loan-agent:") -> None:
        self._url = url
        self._prefix = prefix
        self._publisher = _Publisher(url)
        self._listeners: dict[asyncio.AbstractEventLoop, _Listener] = {}

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        self._publisher.put(self._prefix + channel, json.dumps(event, default=str))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything published so far has reached Redis (or failed)."""
        return self._publisher.flush(timeout)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        listener = self._listeners.get(loop)
        if listener is None or listener.closed:
            listener = self._listeners[loop] = _Listener(self._url)
        name = self._prefix + channel
        try:
            queue = await listener.add(name)
        except BrokerUnavailable:
            await self._drop_if_idle(loop, listener)
            raise

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            await listener.remove(name, queue)
            await self._drop_if_idle(loop, listener)

    async def _drop_if_idle(self, loop: asyncio.AbstractEventLoop, listener: _Listener) -> None:
        if listener.idle and self._listeners.get(loop) is listener:
            del self._listeners[loop]
            await listener.close()

    def close(self) -> None:
        self._publisher.flush(timeout=2.0)
        self._publisher.close()


SUBSCRIBE_TIMEOUT_SECONDS = 5.0
IDLE_PING_SECONDS = 15.0  # a silent connection is pinged; no answer by the next time: dead
FIRST_RECONNECT_SECONDS = 0.1
LONGEST_RECONNECT_SECONDS = 5.0


class _Listener:
    """One subscriber connection for one event loop, shared by all its local listeners."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Connection, ConnectionPool

        options = dict(ConnectionPool.from_url(url).connection_kwargs)
        options.update(
            client_name=f"loan-agent-events-{os.getpid()}",
            socket_keepalive=True,
            health_check_interval=0,  # it would read on the reader's connection
        )
        self._connect = lambda: Connection(**options)
        self._queues: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._subscribed: set[str] = set()  # confirmed on the current connection
        self._pending: Counter[str] = Counter()  # SUBSCRIBE replies still to come
        self._resync: set[str] = set()  # to be told, once subscribed again
        self._changed = asyncio.Condition()
        self._connection: Any = None
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def idle(self) -> bool:
        return not self._queues

    async def add(self, channel: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            await asyncio.wait_for(self._until_subscribed(channel), SUBSCRIBE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            await self.remove(channel, queue)
            raise BrokerUnavailable(f"could not subscribe to {channel}: Redis unreachable") from exc
        return queue

    async def remove(self, channel: str, queue: asyncio.Queue) -> None:
        queues = self._queues.get(channel)
        if queues is None:
            return
        queues.discard(queue)
        if queues:
            return
        del self._queues[channel]
        self._resync.discard(channel)
        if self._connection is not None and channel in self._subscribed:
            self._subscribed.discard(channel)  # a new listener waits for a new SUBSCRIBE
            with suppress(Exception):  # a broken connection is the reader's to notice
                await self._connection.send_command("UNSUBSCRIBE", channel)

    async def close(self) -> None:
        self.closed = True
        self._task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _until_subscribed(self, channel: str) -> None:
        async with self._changed:
            while channel not in self._subscribed:
                connection = self._connection
                if connection is not None and not self._pending[channel]:
                    self._pending[channel] += 1
                    try:
                        await connection.send_command("SUBSCRIBE", channel)
                    except Exception:
                        self._pending[channel] -= 1  # the reader reconnects and asks again
                await self._changed.wait()

    async def _run(self) -> None:
        delay = FIRST_RECONNECT_SECONDS
        connected_before = False
        while True:
            connection = self._connect()
            try:
                await connection.connect()
                async with self._changed:
                    self._connection = connection
                    self._subscribed.clear()
                    self._pending.clear()
                    wanted = list(self._queues)
                    if connected_before:
                        self._resync.update(wanted)
                    if wanted:
                        self._pending.update(wanted)
                        await connection.send_command("SUBSCRIBE", *wanted)
                    self._changed.notify_all()
                if connected_before:
                    log.info("event bus: reconnected to Redis")
                connected_before = True
                delay = FIRST_RECONNECT_SECONDS
                await self._read(connection)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event bus: Redis connection lost (%s); reconnecting", exc)
            finally:
                self._connection = None
                with suppress(Exception):
                    await connection.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_RECONNECT_SECONDS)

    async def _read(self, connection: Any) -> None:
        pinged = False
        while True:
            reply = await connection.read_response(timeout=IDLE_PING_SECONDS, push_request=True)
            if reply is None:  # nothing for a while: is the connection still there?
                if pinged:
                    raise ConnectionError("no answer to PING")
                await connection.send_command("PING")
                pinged = True
                continue
            kind = _text(reply[0])
            if kind == "message":
                self._deliver(_text(reply[1]), json.loads(reply[2]))
            elif kind == "pong":
                pinged = False
            elif kind == "subscribe":
                await self._confirmed(_text(reply[1]))

    async def _confirmed(self, channel: str) -> None:
        async with self._changed:
            self._pending[channel] -= 1
            if self._pending[channel] <= 0:
                del self._pending[channel]
                if channel in self._queues:
                    self._subscribed.add(channel)
                elif self._connection is not None:  # its listeners left while it was asked
                    with suppress(Exception):
                        await self._connection.send_command("UNSUBSCRIBE", channel)
                if channel in self._resync:
                    self._resync.discard(channel)
                    self._deliver(channel, dict(RESYNC))
            self._changed.notify_all()

    def _deliver(self, channel: str, event: dict[str, Any]) -> None:
        for queue in self._queues.get(channel, ()):
            queue.put_nowait(event)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


PUBLISH_BATCH = 500
UNSENT_LIMIT = 100_000  # events kept while Redis is away; the oldest go first


class _Publisher:
    """Publishes from one thread over one connection, in the order events were put."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._unsent: deque[tuple[str, str]] = deque()
        self._in_flight = 0
        self._dropped = 0
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._closed = False

    def put(self, channel: str, payload: str) -> None:
        with self._ready:
            if self._thread is None or self._pid != os.getpid():
                self._start()
            if len(self._unsent) >= UNSENT_LIMIT:
                self._unsent.popleft()
                self._dropped += 1
            self._unsent.append((channel, payload))
            self._ready.notify_all()

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._unsent or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(left)
        return True

    def close(self) -> None:
        """Stop the thread; a later ``put`` starts another (a test app opened again)."""
        with self._ready:
            thread, self._closed = self._thread, True
            self._ready.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        with self._ready:
            self._thread, self._closed = None, False

    def _start(self) -> None:
        self._pid = os.getpid()
        self._unsent.clear()  # a forked child does not publish its parent's events
        self._thread = threading.Thread(target=self._run, name="event-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import redis

        client = redis.Redis.from_url(
            self._url,
            client_name=f"loan-agent-publisher-{os.getpid()}",
            socket_connect_timeout=2.0,
            socket_timeout=5.0,
        )
        while True:
            with self._ready:
                while not self._unsent and not self._closed:
                    self._ready.wait()
                if self._closed or self._thread is not threading.current_thread():
                    client.close()
                    return
                size = min(PUBLISH_BATCH, len(self._unsent))
                batch = [self._unsent.popleft() for _ in range(size)]
                self._in_flight = len(batch)
                dropped, self._dropped = self._dropped, 0
            if dropped:
                log.warning("event bus: %d events dropped while Redis was away", dropped)
            self._send(client, batch)
            with self._ready:
                self._in_flight = 0
                self._ready.notify_all()

    def _send(self, client: Any, batch: list[tuple[str, str]]) -> None:
        for attempt in (1, 2):  # the second on a new connection (a stale one, say)
            try:
                pipeline = client.pipeline(transaction=False)
                for channel, payload in batch:
                    pipeline.publish(channel, payload)
                pipeline.execute()
                return
            except Exception as exc:
                if attempt == 2:
                    # Listeners resync from the record once their own connection is back.
                    log.warning("event bus: %d events not published: %s", len(batch), exc)


def broker_from_url(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()
