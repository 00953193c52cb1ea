"""The transcript cursor: a turn's messages from memory when nothing is missing before them,
the database when something is (each seq once, in order, whatever the path)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from agent.conversation.results import OutgoingMessage
from web.ws.delivery import TranscriptCursor

AT = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def _message(seq: int, role: str = "assistant", client_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(seq, role, None, f"message {seq}", AT, client_message_id=client_id)


class _Store:
    """A stand-in for the database: the conversation's stored messages, and the reads."""

    def __init__(self, stored: list[OutgoingMessage]) -> None:
        self.stored = stored
        self.reads = 0


def _cursor(store: _Store, sent_seq: int, sent: list[dict[str, Any]]) -> TranscriptCursor:
    async def send(frame: dict[str, Any]) -> None:
        sent.append(frame["message"])

    cursor = TranscriptCursor(SimpleNamespace(), "c1", sent_seq, send, proposals=True)

    async def flush() -> None:  # the database path, counted
        store.reads += 1
        for message in store.stored:
            if message.seq > cursor.sent_seq:
                await send({"message": {"seq": message.seq, "role": message.role}})
                cursor.sent_seq = message.seq

    cursor.flush = flush  # type: ignore[method-assign]
    return cursor


def test_a_turn_that_follows_what_was_sent_goes_out_from_memory_with_its_card() -> None:
    turn = [_message(3, "customer", "m-7"), _message(4)]
    store, sent = _Store([_message(1), _message(2), *turn]), []
    cursor = _cursor(store, 2, sent)
    card = {"id": "p1", "summary": "Move your due date to the 20th"}
    asyncio.run(cursor.deliver(turn, card))
    assert store.reads == 0
    assert [m["seq"] for m in sent] == [3, 4] and cursor.sent_seq == 4
    assert sent[0]["client_id"] == "m-7" and "proposal" not in sent[0]
    assert sent[1]["proposal"] == card


def test_a_gap_before_the_turn_is_read_from_the_database() -> None:
    # A person's message (seq 3) was stored before this turn (4, 5) and not yet sent.
    turn = [_message(4, "customer"), _message(5)]
    store, sent = _Store([_message(1), _message(2), _message(3, "agent"), *turn]), []
    cursor = _cursor(store, 2, sent)
    asyncio.run(cursor.deliver(turn))
    assert store.reads == 1
    assert [m["seq"] for m in sent] == [3, 4, 5]


def test_what_was_already_sent_is_not_sent_again() -> None:
    turn = [_message(3, "customer"), _message(4)]
    store, sent = _Store([_message(1), _message(2), *turn]), []
    cursor = _cursor(store, 4, sent)  # an event's flush delivered the turn first
    asyncio.run(cursor.deliver(turn))
    assert sent == []
    assert cursor.sent_seq == 4
