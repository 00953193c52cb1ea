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

from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from agent.conversation.models import Message
from web.state import WebContext

Send = Callable[[dict[str, Any]], Awaitable[None]]


def message_payload(message: Message, include_client_id: bool) -> dict[str, Any]:
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
        return list(
            session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
                .order_by(col(Message.seq))
                .limit(limit)
            )
        )


def last_seq(ctx: WebContext, conversation_id: str) -> int:
    with ctx.sessions() as session:
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
    ) -> None:
        self.ctx = ctx
        self.conversation_id = conversation_id
        self.sent_seq = sent_seq
        self._send = send
        self._include_client_id = include_client_id
        self._lock = asyncio.Lock()

    async def notify(self, seq: int | None = None) -> None:
        """A message event arrived (or may have): deliver whatever is new."""
        if seq is not None and seq <= self.sent_seq:
            return
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            while True:
                rows = await run_in_threadpool(
                    load_after, self.ctx, self.conversation_id, self.sent_seq
                )
                for message in rows:
                    await self._send(
                        {
                            "type": "message",
                            "conversation_id": self.conversation_id,
                            "message": message_payload(message, self._include_client_id),
                        }
                    )
                    self.sent_seq = message.seq
                if len(rows) < 500:
                    return
