"""The staff console's socket: the live queue, one watched conversation, typing notices.

Authenticated by the console's session cookie (and, as browsers send it, an Origin of
this same host). Actions (claim, reply, hand back, close) are CSRF-protected HTTP
requests; this socket only pushes what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from agent.conversation.events import QUEUE_CHANNEL, conversation_channel
from agent.conversation.models import Conversation, StaffLogin, StaffUser
from agent.conversation.state import ConversationState
from web.auth import STAFF_COOKIE, signed_out_channel
from web.deps import read_staff_cookie
from web.state import WebContext
from web.views.queue import console_queue
from web.ws import protocol as p
from web.ws.connection import Connection, Disconnected, subscribed
from web.ws.delivery import TranscriptCursor

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
MAX_BAD_FRAMES = 20
TYPING_EVERY_SECONDS = 2.0


def same_origin(websocket: WebSocket) -> bool:
    """Browsers always send Origin on a websocket: it must be this host (no CSWSH)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (tests, tools): the cookie still authenticates
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


def _load_staff(ctx: WebContext, staff_id: int) -> StaffUser | None:
    with ctx.sessions() as session:
        return session.get(StaffUser, staff_id)


def _assigned_to(ctx: WebContext, conversation_id: str, staff_id: int) -> bool:
    with ctx.sessions() as session:
        conv = session.get(Conversation, conversation_id)
        return (
            conv is not None
            and conv.state == ConversationState.HUMAN
            and conv.assigned_staff_id == staff_id
        )


async def serve_console(websocket: WebSocket, ctx: WebContext) -> None:
    await websocket.accept()
    conn = Connection(websocket)
    if not same_origin(websocket):
        await conn.send(
            p.error("forbidden_origin", "this socket only serves the console's own pages")
        )
        await conn.close(CLOSE_FORBIDDEN, "forbidden origin")
        return
    staff_session = read_staff_cookie(ctx, websocket.cookies.get(STAFF_COOKIE))
    staff = (
        await run_in_threadpool(_load_staff, ctx, staff_session.staff_id) if staff_session else None
    )
    if staff is None:
        await conn.send(p.error("not_authenticated", "log in to the console first"))
        await conn.close(CLOSE_UNAUTHORIZED, "not authenticated")
        return
    assert staff_session is not None
    with contextlib.suppress(Disconnected):
        await ConsoleSession(conn, ctx, staff, staff_session.session_id).run()


class ConsoleSession:
    def __init__(
        self, conn: Connection, ctx: WebContext, staff: StaffUser, session_id: str
    ) -> None:
        self.conn = conn
        self.ctx = ctx
        self.staff = staff
        self.session_id = session_id
        self._queue_dirty = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._last_typing = 0.0

    async def run(self) -> None:
        await run_in_threadpool(self.ctx.service.mark_staff_online, self.staff.id)
        await self.conn.send(
            {
                "type": "hello",
                "staff": {
                    "id": self.staff.id,
                    "username": self.staff.username,
                    "display_name": self.staff.display_name,
                    "role": self.staff.role,
                },
            }
        )
        ready = asyncio.Event()
        tasks = [
            asyncio.create_task(self._queue_events(ready)),
            asyncio.create_task(self._queue_sender()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._sign_outs()),
        ]
        try:
            if not await subscribed(tasks[0], ready):
                await self.conn.send(p.error("unavailable", "live updates are unavailable"))
                await self.conn.close(1011, "unavailable")
                return
            self._queue_dirty.set()
            await self._receive_loop()
        finally:
            if self._watch is not None:
                tasks.append(self._watch)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _queue_events(self, ready: asyncio.Event) -> None:
        async with self.ctx.service.broker.subscribe(QUEUE_CHANNEL) as events:
            ready.set()
            async for event in events:
                if event.get("type") in ("state", "resync"):
                    self._queue_dirty.set()

    async def _queue_sender(self) -> None:
        while True:
            await self._queue_dirty.wait()
            await asyncio.sleep(0.2)  # coalesce bursts of changes
            self._queue_dirty.clear()
            await self.conn.send(await run_in_threadpool(console_queue, self.ctx, self.staff))

    async def _heartbeat(self) -> None:
        """An open console keeps its person 'online' (the queue notice depends on it), as
        long as its session lives (also checked here, should an announcement be missed)."""
        while True:
            await asyncio.sleep(self.ctx.limits.staff_heartbeat_seconds)
            if not await run_in_threadpool(self._session_live):
                await self._signed_out()
                return
            await run_in_threadpool(self.ctx.service.mark_staff_online, self.staff.id)
            self._queue_dirty.set()  # waiting times move on

    def _session_live(self) -> bool:
        with self.ctx.sessions() as session:
            record = session.get(StaffLogin, self.session_id)
            return (
                record is not None
                and record.revoked_at is None
                and record.expires_at > self.ctx.now()
            )

    async def _sign_outs(self) -> None:
        async with self.ctx.service.broker.subscribe(signed_out_channel(self.staff.id)) as events:
            async for event in events:
                if event.get("type") == "signed_out" and self.session_id in event.get(
                    "sessions", []
                ):
                    await self._signed_out()
                    return

    async def _signed_out(self) -> None:
        await self.conn.send(p.error("signed_out", "this session has ended; log in again"))
        await self.conn.close(CLOSE_UNAUTHORIZED, "signed out")

    async def _receive_loop(self) -> None:
        bad_frames = 0
        while True:
            raw = await self.conn.receive()
            try:
                frame = p.parse(raw, self.ctx.limits.max_frame_bytes, console=True)
            except p.FrameError as exc:
                bad_frames += 1
                await self.conn.send(exc.frame())
                if bad_frames >= MAX_BAD_FRAMES:
                    await self.conn.close(1008, "too many bad frames")
                    return
                continue
            if isinstance(frame, p.Ping):
                await self.conn.send({"type": "pong"})
            elif isinstance(frame, p.Watch):
                self._start_watch(frame.conversation_id, frame.last_seq)
            elif isinstance(frame, p.Typing):
                await self._typing(frame.conversation_id)

    def _start_watch(self, conversation_id: str, after_seq: int) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self._watch = asyncio.create_task(self._follow(conversation_id, after_seq))

    async def _follow(self, conversation_id: str, after_seq: int) -> None:
        cursor = TranscriptCursor(
            self.ctx, conversation_id, after_seq, self.conn.send, include_client_id=False
        )
        async with self.ctx.service.broker.subscribe(
            conversation_channel(conversation_id)
        ) as events:
            await cursor.flush()
            async for event in events:
                if event.get("type") == "message":
                    await cursor.notify(int(event.get("message", {}).get("seq", 0)) or None)
                elif event.get("type") == "state":
                    await cursor.flush()
                    await self.conn.send(_state_frame(event))
                elif event.get("type") == "resync":  # events may have been missed
                    await cursor.flush()
                    await self.conn.send(await run_in_threadpool(self._state_now, conversation_id))

    def _state_now(self, conversation_id: str) -> dict[str, Any]:
        conv = self.ctx.service.get(conversation_id)
        return _state_frame(
            {
                "conversation_id": conv.id,
                "state": conv.state,
                "reason": conv.escalation_reason,
                "priority": conv.priority,
            }
        )

    async def _typing(self, conversation_id: str) -> None:
        now = time.monotonic()
        if now - self._last_typing < TYPING_EVERY_SECONDS:
            return
        self._last_typing = now
        if await run_in_threadpool(_assigned_to, self.ctx, conversation_id, self.staff.id):
            self.ctx.service.broker.publish(
                conversation_channel(conversation_id),
                {
                    "type": "activity",
                    "conversation_id": conversation_id,
                    "kind": "typing",
                    "author": self.staff.display_name,
                },
            )


def _state_frame(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "state",
        "conversation_id": event.get("conversation_id"),
        "state": event.get("state"),
        "reason": event.get("reason"),
        "priority": event.get("priority"),
    }
