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

from agent.conversation.models import Conversation, Message
from agent.conversation.state import ConversationState
from agent.engine.templates import Templates
from agent.policy.formatting import ordinal
from agent.tools.ledger_tools import proposals_shown
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


def proposal_card(templates: Templates, conv: Conversation) -> dict[str, str] | None:
    """The proposal the conversation's last reply asks a yes for, as the widget's Yes /
    No buttons show it: its id (what a ``confirm`` frame names) and a short summary."""
    if conv.state != ConversationState.AI:
        return None
    shown = proposals_shown(conv.dialogue or {}, conv.customer_message_count)
    if len(shown) != 1:
        return None
    key, entry = next(iter(shown.items()))
    values = {k: v for k, v in entry.items() if isinstance(v, str | int)}
    if "day_of_month" in values:
        values["day_ordinal"] = ordinal(int(values["day_of_month"]))
    try:
        summary = templates.render(f"proposal_summary.{key.split(':', 1)[0]}", **values)
    except (KeyError, ValueError):
        return None
    return {"id": str(entry["id"]), "summary": summary}


def load_with_proposal(
    ctx: WebContext, conversation_id: str, after_seq: int, limit: int = 500
) -> tuple[list[Message], dict[str, str] | None]:
    """The messages after ``after_seq``, and the proposal card of the last one when it
    is the conversation's newest message and the assistant's reply that asks a yes (a
    newer message means it was answered or overtaken)."""
    rows = load_after(ctx, conversation_id, after_seq, limit)
    if not rows or len(rows) >= limit or rows[-1].role != "assistant":
        return rows, None
    with ctx.sessions() as session:
        conv = session.get(Conversation, conversation_id)
    if conv is None or last_seq(ctx, conversation_id) != rows[-1].seq:
        return rows, None  # a turn committed meanwhile: its own flush follows
    return rows, proposal_card(ctx.engines.templates, conv)


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
                    await self._send(
                        {
                            "type": "message",
                            "conversation_id": self.conversation_id,
                            "message": payload,
                        }
                    )
                    self.sent_seq = message.seq
                if len(rows) < 500:
                    return
