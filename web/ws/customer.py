"""The customer's chat socket: hello → welcome → acknowledged messages, live events, resume.

See web/PROTOCOL.md. Blocking service calls run in the threadpool; the broker's events
only wake the transcript cursor, which reads the database (exactly-once delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from agent.conversation.events import conversation_channel
from agent.conversation.models import Conversation
from agent.conversation.service import ConversationError, TurnOutcome
from agent.conversation.state import ConversationState
from agent.conversation.turn import TRY_AGAIN
from agent.db.errors import database_unavailable
from agent.guardrails.output_checks import ascii_host
from web.auth import TokenError, mint_resume_token, read_customer_token, read_resume_token
from web.client_address import client_address
from web.state import WebContext
from web.views.queue import queue_status
from web.ws import protocol as p
from web.ws.connection import Connection, Disconnected, subscribed
from web.ws.delivery import TranscriptCursor, last_seq

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008  # protocol misuse
CLOSE_UNAUTHORIZED = 4401  # bad or expired sign-in token
CLOSE_TRY_AGAIN = 1013  # "try again later": the widget reconnects
MAX_BAD_FRAMES = 20
WORK_QUEUE = 32  # chat frames waiting for their turn on one socket
# Seconds between attempts to deliver what a failed read (the database away) left unsent.
REDELIVERY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
CUSTOMER_ENDED = "ended_by_customer"


@dataclass
class Opened:
    conversation: Conversation
    customer_id: str | None
    resumed: bool
    resume_problem: str | None
    last_seq: int = 0  # what the client has already seen (only when resumed)


class HelloRefused(Exception):
    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code, self.close_code = code, close_code


def open_conversation(ctx: WebContext, hello: p.Hello, client_key: str) -> Opened:
    """Resume the conversation the hello names, or start one (blocking)."""
    customer_id = None
    expired: TokenError | None = None
    if hello.token:
        try:
            customer_id = read_customer_token(
                ctx.secret, hello.token, ctx.settings.token_ttl_seconds
            )
        except TokenError as exc:
            if exc.code != "token_expired" or not hello.resume:
                raise HelloRefused(
                    exc.code, f"{exc} — sign in on the lender's site again", CLOSE_UNAUTHORIZED
                ) from exc
            # An expired sign-in may still resume its own conversation (the resume token
            # is the proof); it may not start a new verified one.
            expired = exc
            customer_id = read_customer_token(ctx.secret, hello.token, None)
    problem = None
    if hello.resume:
        try:
            grant = read_resume_token(ctx.secret, hello.resume, ctx.limits.resume_ttl_seconds)
            if customer_id is not None and grant.customer_id != customer_id:
                raise TokenError("resume_rejected", "the conversation belongs to another session")
            conv = ctx.service.get(grant.conversation_id)
            return Opened(conv, grant.customer_id, True, None, hello.last_seq)
        except TokenError as exc:
            problem = str(exc)
        except ConversationError as exc:
            problem = str(exc)
    if expired is not None:
        raise HelloRefused(
            expired.code, f"{expired} — sign in on the lender's site again", CLOSE_UNAUTHORIZED
        )
    if ctx.new_conversations.hit(client_key):
        raise HelloRefused(
            "rate_limited",
            "too many new conversations from this address; try again in a minute",
            CLOSE_POLICY,
        )
    try:
        conv = ctx.service.start(
            channel="widget",
            customer_id=customer_id,
            verified=customer_id is not None,
            language=hello.language,
        )
    except ConversationError as exc:
        # A worker lost while it started the conversation: nothing is wrong with the
        # sign-in, the widget reconnects and asks again.
        close = CLOSE_TRY_AGAIN if exc.code == "try_again" else CLOSE_UNAUTHORIZED
        raise HelloRefused(exc.code, str(exc), close) from exc
    return Opened(conv, customer_id, False, problem)


async def serve_customer(websocket: WebSocket, ctx: WebContext) -> None:
    await websocket.accept()
    conn = Connection(websocket)
    try:
        opened = await _hello(conn, ctx)
        if opened is None:
            return
        conv_id = opened.conversation.id
        if not ctx.sockets.acquire(conv_id, ctx.limits.sockets_per_conversation):
            await conn.send(
                p.error("too_many_connections", "this conversation is open in too many places")
            )
            await conn.close(CLOSE_POLICY, "too many connections")
            return
        try:
            await CustomerSession(conn, ctx, opened).run()
        finally:
            ctx.sockets.release(conv_id)
    except Disconnected:
        return


async def _hello(conn: Connection, ctx: WebContext) -> Opened | None:
    try:
        raw = await asyncio.wait_for(conn.receive(), ctx.limits.hello_timeout_seconds)
    except TimeoutError:
        await conn.send(p.error("hello_timeout", "send a hello frame first"))
        await conn.close(CLOSE_POLICY, "hello timeout")
        return None
    try:
        frame = p.parse(raw, ctx.limits.max_frame_bytes)
    except p.FrameError as exc:
        await conn.send(exc.frame())
        await conn.close(CLOSE_POLICY, exc.code)
        return None
    if not isinstance(frame, p.Hello):
        await conn.send(p.error("hello_required", "the first frame must be a hello"))
        await conn.close(CLOSE_POLICY, "hello required")
        return None
    if frame.v != p.PROTOCOL_VERSION:
        await conn.send(
            p.error(
                "unsupported_version", f"this server speaks protocol version {p.PROTOCOL_VERSION}"
            )
        )
        await conn.close(CLOSE_POLICY, "unsupported version")
        return None
    try:
        address = client_address(conn.websocket, ctx.settings.trusted_proxies)
        opened = await run_in_threadpool(open_conversation, ctx, frame, address)
    except HelloRefused as exc:
        await conn.send(p.error(exc.code, str(exc)))
        await conn.close(exc.close_code, exc.code)
        return None
    if opened.resume_problem:
        await conn.send(
            p.error(
                "resume_rejected",
                f"{opened.resume_problem}; a new conversation was started",
                fatal=False,
            )
        )
    return opened


class CustomerSession:
    def __init__(self, conn: Connection, ctx: WebContext, opened: Opened) -> None:
        self.conn = conn
        self.ctx = ctx
        self.opened = opened
        self.conv_id = opened.conversation.id
        self.state = opened.conversation.state
        # The conversation's language as this socket last told the client (PROTOCOL.md).
        self.language = opened.conversation.language
        self._ready = asyncio.Event()
        self._last_queue: dict[str, Any] | None = None
        self.cursor: TranscriptCursor | None = None
        self._turns_in_flight = 0
        self._deferred_seq = 0  # the newest message event seen while a turn was in flight
        self._redelivery: asyncio.Task[None] | None = None

    async def run(self) -> None:
        current = await run_in_threadpool(last_seq, self.ctx, self.conv_id)
        self.cursor = TranscriptCursor(
            self.ctx,
            self.conv_id,
            min(self.opened.last_seq, current),
            self.conn.send,
            proposals=True,
        )
        ready = asyncio.Event()
        tasks = [asyncio.create_task(self._pump(ready)), asyncio.create_task(self._queue_ticker())]
        try:
            if not await subscribed(tasks[0], ready):
                log.error("event broker unavailable for conversation %s", self.conv_id)
                await self.conn.send(
                    p.error(
                        "unavailable", "the chat is unavailable right now; please try again shortly"
                    )
                )
                await self.conn.close(1011, "unavailable")
                return
            conv = self.opened.conversation
            await self.conn.send(
                {
                    "type": "welcome",
                    "v": p.PROTOCOL_VERSION,
                    "conversation_id": self.conv_id,
                    "resume": mint_resume_token(
                        self.ctx.secret, self.conv_id, self.opened.customer_id
                    ),
                    "resumed": self.opened.resumed,
                    "state": conv.state,
                    "language": conv.language,
                    "verified": conv.verified,
                    "rating": conv.rating,
                    "last_seq": current,
                    "max_message_chars": self.ctx.settings.max_message_chars,
                    # Links the widget makes clickable besides its own site's (PROTOCOL.md).
                    "link_domains": [
                        host for host in map(ascii_host, self.ctx.settings.lender_domains) if host
                    ],
                }
            )
            await self.cursor.flush()
            await self._send_queue_status()
            self._ready.set()
            await self._receive_loop()
        finally:
            if self._redelivery is not None:
                tasks.append(self._redelivery)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # --- events from the conversation -----------------------------------------------------

    async def _pump(self, ready: asyncio.Event) -> None:
        async with self.ctx.service.broker.subscribe(conversation_channel(self.conv_id)) as events:
            ready.set()
            async for event in events:
                await self._ready.wait()
                try:
                    await self._on_event(event)
                except Exception:  # the database away: the socket stays, delivery resumes
                    log.warning(
                        "event not delivered (conversation %s)", self.conv_id, exc_info=True
                    )
                    self._redeliver()

    async def _on_event(self, event: dict[str, Any]) -> None:
        assert self.cursor is not None
        kind = event.get("type")
        if kind == "message":
            seq = int(event.get("message", {}).get("seq", 0)) or None
            if self._turns_in_flight and seq is not None:
                # Most likely this socket's own turn, which it delivers from the outcome;
                # anything it does not cover is read once the turn is done.
                self._deferred_seq = max(self._deferred_seq, seq)
                return
            await self.cursor.notify(seq)
        elif kind == "state":
            self.state = str(event.get("state"))
            await self.cursor.flush()  # the notice that goes with the change comes first
            await self.conn.send(
                {
                    "type": "state",
                    "state": self.state,
                    "reason": event.get("reason"),
                    "language": await self._stored_language(),
                }
            )
            self._last_queue = None
            await self._send_queue_status()
        elif kind == "reply_draft":
            await self._draft(event)
        elif kind == "resync":
            await self._resync()
        elif kind == "activity" and event.get("kind") == "typing":
            await self.conn.send(
                {"type": "typing", "on": True, "who": "agent", "author": event.get("author")}
            )

    async def _resync(self) -> None:
        """Events may have been missed (the event bus reconnected): read the record."""
        assert self.cursor is not None
        await self.cursor.flush()
        conv = await run_in_threadpool(self.ctx.service.get, self.conv_id)
        if conv.state != self.state:
            self.state = conv.state
            self.language = conv.language
            await self.conn.send(
                {
                    "type": "state",
                    "state": self.state,
                    "reason": conv.escalation_reason,
                    "language": conv.language,
                }
            )
            self._last_queue = None
        elif conv.language != self.language:
            await self._tell_language(self.language, conv.language)
        await self._send_queue_status()

    async def _stored_language(self) -> str:
        """The conversation's language now, for a ``state`` frame: the event does not
        carry it, and a turn on this socket (or another tab's) may have just changed it.
        One read by primary key per state change; if the database cannot be read, what
        this socket last told the client."""
        try:
            conv = await run_in_threadpool(self.ctx.service.get, self.conv_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            return self.language
        self.language = conv.language
        return self.language

    async def _tell_language(self, before: str, after: str | None) -> None:
        """A ``language`` frame when a turn changed the conversation's language from
        ``before`` (or the client was last told another one); ``after`` is None when the
        turn was a duplicate."""
        if after is None:
            return
        changed = after != before or after != self.language
        self.language = after
        if changed:
            await self.conn.send({"type": "language", "language": after})

    async def _draft(self, event: dict[str, Any]) -> None:
        """A streamed reply, as far as it passed the output checks; the stored message that
        ends the turn replaces it. A draft that arrives after its turn's reply is stale."""
        assert self.cursor is not None
        reply_to = int(event.get("reply_to") or 0)
        if reply_to <= self.cursor.sent_seq:
            return
        await self.conn.send(
            {"type": "draft", "reply_to": reply_to, "text": str(event.get("text") or "")}
        )

    async def _send_queue_status(self) -> None:
        if self.state != ConversationState.QUEUED:
            return
        status = await run_in_threadpool(queue_status, self.ctx, self.conv_id)
        if status is not None and status != self._last_queue:
            self._last_queue = status
            await self.conn.send(status)

    async def _queue_ticker(self) -> None:
        await self._ready.wait()
        while True:
            await asyncio.sleep(self.ctx.limits.queue_refresh_seconds)
            try:
                await self._send_queue_status()
            except Exception as exc:  # the database away: the next tick tries again
                if not database_unavailable(exc):
                    raise

    async def _deliver(self, outcome: TurnOutcome | None = None) -> None:
        """Send the transcript's new messages: a turn's own from its outcome (no read of
        what was just written) when nothing is missing before them. When the database
        cannot be read just now (after the frame was acknowledged: the client must not
        get an error for it too), delivery is retried in the background; the cursor
        sends each seq once."""
        assert self.cursor is not None
        try:
            if outcome is None or outcome.duplicate:
                await self.cursor.flush()
            else:
                stored = [m for m in [outcome.customer, *outcome.replies] if m is not None]
                await self.cursor.deliver(stored, outcome.proposal)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("delivery deferred (conversation %s): %s", self.conv_id, exc)
            self._redeliver()

    def _redeliver(self) -> None:
        if self._redelivery is None or self._redelivery.done():
            self._redelivery = asyncio.create_task(self._redeliver_later())

    async def _redeliver_later(self) -> None:
        assert self.cursor is not None
        for delay in REDELIVERY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self.cursor.flush()
                return
            except Exception as exc:
                if not database_unavailable(exc):
                    raise

    # --- frames from the customer -----------------------------------------------------------

    async def _receive_loop(self) -> None:
        """Answer pings and bad frames at once; queue chat frames for one worker, in order.

        So a slow turn (a remote model) never delays a ``pong`` and the client does not
        mistake a busy server for a dead connection.
        """
        work: asyncio.Queue[BaseModel] = asyncio.Queue(maxsize=WORK_QUEUE)
        worker = asyncio.create_task(self._work(work))
        try:
            await self._read_frames(work)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    async def _read_frames(self, work: asyncio.Queue[BaseModel]) -> None:
        bad_frames = 0
        while True:
            raw = await self.conn.receive()
            try:
                frame = p.parse(raw, self.ctx.limits.max_frame_bytes)
            except p.FrameError as exc:
                bad_frames += 1
                await self.conn.send(exc.frame())
                if bad_frames >= MAX_BAD_FRAMES:
                    await self.conn.close(CLOSE_POLICY, "too many bad frames")
                    return
                continue
            if isinstance(frame, p.Ping):
                await self.conn.send({"type": "pong"})
                continue
            if isinstance(frame, p.Hello):
                await self.conn.send(p.error("already_started", "hello is only the first frame"))
                continue
            client_id = getattr(frame, "id", None)
            # In the threadpool: with Redis configured this is a network round trip.
            retry_after = await run_in_threadpool(self.ctx.limiter.hit, self.conv_id)
            if retry_after or work.full():
                await self.conn.send(
                    p.error(
                        "rate_limited",
                        "you're sending messages too quickly; wait a moment",
                        client_id,
                        retry_after=round(retry_after or 1.0, 1),
                    )
                )
                continue
            work.put_nowait(frame)

    async def _work(self, work: asyncio.Queue[BaseModel]) -> None:
        while True:
            frame = await work.get()
            client_id = getattr(frame, "id", None)
            try:
                await self._handle(frame)
            except ConversationError as exc:
                await self.conn.send(p.error(exc.code, str(exc), client_id))
            except Exception as exc:  # a core failure must not take the socket (or server) down
                if database_unavailable(exc):  # busy or away; nothing was acknowledged
                    log.warning("chat frame refused (conversation %s): %s", self.conv_id, exc)
                    await self.conn.send(p.error("try_again", TRY_AGAIN, client_id))
                    continue
                log.exception("chat frame failed (conversation %s)", self.conv_id)
                await self.conn.send(
                    p.error("internal_error", "something went wrong; please try again", client_id)
                )

    async def _handle(self, frame: BaseModel) -> None:
        if isinstance(frame, p.ChatMessage | p.Confirm):
            await self._message(frame)
        elif isinstance(frame, p.RequestHuman):
            await self._request_human(frame)
        elif isinstance(frame, p.End):
            await self._end(frame)
        elif isinstance(frame, p.Rate):
            await self._rate(frame)

    async def _current(self) -> Conversation:
        conv = await run_in_threadpool(self.ctx.service.get, self.conv_id)
        self.state = conv.state
        return conv

    async def _turn(self, call: Callable[..., TurnOutcome], *args: Any) -> TurnOutcome:
        return await to_thread.run_sync(call, *args, limiter=self.ctx.turn_threads)

    async def _ack(self, client_id: str, seq: int | None, duplicate: bool = False) -> None:
        await self.conn.send({"type": "ack", "id": client_id, "seq": seq, "duplicate": duplicate})

    async def _message(self, frame: p.ChatMessage | p.Confirm) -> None:
        """A message, or a Yes / No button: a customer turn whose text is the button's
        word and whose answer is exact (only for the proposal waiting now, else the
        service refuses it as ``stale_proposal`` and nothing is stored)."""
        assert self.cursor is not None
        # The state as this socket's events left it (the service decides on the stored one).
        ai_turn = self.state == ConversationState.AI
        if ai_turn:
            await self.conn.send({"type": "typing", "on": True, "who": "assistant"})
        if isinstance(frame, p.Confirm):
            text, confirms = (
                self.ctx.service.answer_words(frame.answer, self.language),
                frame.proposal_id,
            )
        else:
            text, confirms = frame.text, None
        before = self.language
        self._turns_in_flight += 1
        try:
            outcome = await self._turn(
                self.ctx.service.customer_message, self.conv_id, text, frame.id, confirms
            )
            await self._ack(frame.id, outcome.customer_seq, outcome.duplicate)
            if not outcome.duplicate:
                self.state = outcome.state
            await self._deliver(outcome)
            await self._tell_language(before, outcome.language)
        finally:
            self._turns_in_flight -= 1
            if self._deferred_seq > self.cursor.sent_seq:
                await self._deliver()  # a message that came while the turn ran
            if ai_turn:
                await self.conn.send({"type": "typing", "on": False, "who": "assistant"})

    async def _request_human(self, frame: p.RequestHuman) -> None:
        assert self.cursor is not None
        conv = await self._current()
        if conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
            await self._ack(frame.id, None, duplicate=True)  # already waiting or with a person
            return
        if conv.state == ConversationState.CLOSED:
            raise ConversationError("conversation_closed", "this conversation is closed")
        before = self.language
        await self.conn.send({"type": "typing", "on": True, "who": "assistant"})
        try:
            outcome = await self._turn(self.ctx.service.request_human, self.conv_id)
            await self._ack(frame.id, outcome.customer_seq)
            await self._deliver()
            await self._tell_language(before, outcome.language)
        finally:
            await self.conn.send({"type": "typing", "on": False, "who": "assistant"})

    async def _end(self, frame: p.End) -> None:
        assert self.cursor is not None
        conv = await self._current()
        if conv.state == ConversationState.CLOSED:
            await self._ack(frame.id, None, duplicate=True)
            return
        await run_in_threadpool(self.ctx.service.close, self.conv_id, None, CUSTOMER_ENDED)
        await self._ack(frame.id, None)
        await self._deliver()

    async def _rate(self, frame: p.Rate) -> None:
        conv = await self._current()
        if conv.state != ConversationState.CLOSED:
            raise ConversationError("not_closed", "you can rate the conversation once it ends")
        await run_in_threadpool(self.ctx.service.rate, self.conv_id, frame.rating, frame.comment)
        await self._ack(frame.id, None)
