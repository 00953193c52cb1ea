"""In-order, exactly-once delivery of a conversation's transcript over one socket.

The broker's events only wake a cursor up; the messages themselves are read from the
database after the last sequence number this socket delivered. So a resume (the
client's ``last_seq``), a burst of events, an event lost by the broker, or events that
arrive while the replay runs all end the same way: each message once, in seq order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from agent.conversation.models import Conversation, Message
from agent.conversation.proposals import proposal_card
from agent.conversation.results import OutgoingMessage
from web.state import WebContext

Send = Callable[[dict[str, Any]], Awaitable[None]]


def message_payload(message: Message | OutgoingMessage, include_client_id: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "seq": message.seq,
        "role": message.role,
        "author": message.author,
        "content": message.content,
        "created_at": message.created_at.isoformat(),
        "ai_drafted": message.ai_drafted,
    }
    if include_client_id and message.role == "customer" and message.client_message_id:
        payload["client_id"] = message.client_message_id
    return payload


def load_after(
    ctx: WebContext, conversation_id: str, after_seq: int, limit: int = 500
) -> list[Message]:
    with ctx.sessions() as session:
        return _after(session, conversation_id, after_seq, limit)


def _after(session: Session, conversation_id: str, after_seq: int, limit: int) -> list[Message]:
    return list(
        session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
            .order_by(col(Message.seq))
            .limit(limit)
        )
    )


def load_with_proposal(
    ctx: WebContext, conversation_id: str, after_seq: int, limit: int = 500
) -> tuple[list[Message], dict[str, str] | None]:
    """The messages after ``after_seq``, and the proposal card of the last one when it
    is the conversation's newest message and the assistant's reply that asks a yes (a
    newer message means it was answered or overtaken). One session, one connection."""
    with ctx.sessions() as session:
        rows = _after(session, conversation_id, after_seq, limit)
        if not rows or len(rows) >= limit or rows[-1].role != "assistant":
            return rows, None
        conv = session.get(Conversation, conversation_id)
        if conv is None or _last_seq(session, conversation_id) != rows[-1].seq:
            return rows, None  # a turn committed meanwhile: its own flush follows
        return rows, proposal_card(ctx.engines.templates, conv)


def last_seq(ctx: WebContext, conversation_id: str) -> int:
    with ctx.sessions() as session:
        return _last_seq(session, conversation_id)


def _last_seq(session: Session, conversation_id: str) -> int:
    seq = session.exec(
        select(Message.seq)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.seq).desc())
        .limit(1)
    ).first()
    return int(seq or 0)


class TranscriptCursor:
    """Sends ``message`` frames for one conversation, each seq exactly once."""

    def __init__(
        self,
        ctx: WebContext,
        conversation_id: str,
        sent_seq: int,
        send: Send,
        include_client_id: bool = True,
        proposals: bool = False,
    ) -> None:
        self.ctx = ctx
        self.conversation_id = conversation_id
        self.sent_seq = sent_seq
        self._send = send
        self._include_client_id = include_client_id
        self._proposals = proposals  # the customer's socket: replies carry their proposal
        self._lock = asyncio.Lock()

    async def notify(self, seq: int | None = None) -> None:
        """A message event arrived (or may have): deliver whatever is new."""
        if seq is not None and seq <= self.sent_seq:
            return
        await self.flush()

    async def deliver(
        self, messages: list[OutgoingMessage], proposal: dict[str, str] | None = None
    ) -> None:
        """Send a turn's stored messages from memory when they follow what this socket
        sent without a gap (``proposal``: the card of the last reply); otherwise read
        from the database like :meth:`flush`."""
        async with self._lock:
            fresh = [m for m in messages if m.seq > self.sent_seq]
            if not all(m.seq == self.sent_seq + 1 + i for i, m in enumerate(fresh)):
                fresh = []
            for message in fresh:
                payload = message_payload(message, self._include_client_id)
                last_reply = message is fresh[-1] and message.role == "assistant"
                if self._proposals and proposal and last_reply:
                    payload["proposal"] = proposal
                await self._send_message(payload)
                self.sent_seq = message.seq
            if fresh or not messages:
                return
        await self.flush()

    async def _send_message(self, payload: dict[str, Any]) -> None:
        await self._send(
            {"type": "message", "conversation_id": self.conversation_id, "message": payload}
        )

    async def flush(self) -> None:
        async with self._lock:
            while True:
                card = None
                if self._proposals:
                    rows, card = await run_in_threadpool(
                        load_with_proposal, self.ctx, self.conversation_id, self.sent_seq
                    )
                else:
                    rows = await run_in_threadpool(
                        load_after, self.ctx, self.conversation_id, self.sent_seq
                    )
                for message in rows:
                    payload = message_payload(message, self._include_client_id)
                    if card is not None and message is rows[-1]:
                        payload["proposal"] = card
                    await self._send_message(payload)
                    self.sent_seq = message.seq
                if len(rows) < 500:
                    return
