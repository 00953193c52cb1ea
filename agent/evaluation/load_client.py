"""The load run's clients: one websocket per planned conversation, speaking web/PROTOCOL.md.

Each conversation connects from its source address at its start time, says ``hello``
with its customer's token, then sends its messages one at a time, waiting for the
assistant's reply to each (then thinking) before the next. A turn's latency runs from
the send to the first reply frame for it: the first non-customer ``message`` whose
``seq`` follows the customer message the turn stored.

Outcomes: ``ok``; ``error:<code>`` (an error frame for the message); ``no_reply`` (the
turn ended, or the conversation is not with the AI, without a reply); ``timeout``;
``dropped`` (the socket closed); ``refused:<what>`` (the conversation could not open, so
the turn was never sent); ``abandoned`` (never sent: an earlier turn of the same
conversation timed out or was dropped).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from agent.evaluation.load_plan import PlannedConversation

OK = "ok"
ENDS_CONVERSATION = ("timeout", "dropped")


@dataclass
class TurnResult:
    turn: int
    outcome: str
    sent_at: float | None = None  # seconds after the run started
    latency: float | None = None  # seconds, to the reply (or the error frame)


@dataclass
class ConversationResult:
    index: int
    escalating: bool
    opened_at: float | None = None
    closed_at: float | None = None
    turns: list[TurnResult] = field(default_factory=list)


class _Turn:
    """What one message's frames have said so far."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.customer_seq: int | None = None
        self.acked = False

    def outcome(self, frame: dict[str, Any], state: str) -> str | None:
        """The turn's outcome once ``frame`` decides it, else None."""
        kind = frame.get("type")
        if kind == "error" and frame.get("id") == self.client_id:
            return f"error:{frame.get('code')}"
        if kind == "ack" and frame.get("id") == self.client_id:
            self.acked = True
            self.customer_seq = self.customer_seq or frame.get("seq")
            return "no_reply" if state != "ai" else None
        if kind == "message":
            message = frame.get("message") or {}
            if message.get("role") == "customer":
                if message.get("client_id") == self.client_id:
                    self.customer_seq = message.get("seq")
                return None
            seq = message.get("seq") or 0
            if self.customer_seq is not None and seq > self.customer_seq:
                return OK
        if kind == "typing" and frame.get("who") == "assistant" and not frame.get("on"):
            # The server sends typing-off after the turn's messages: none was a reply.
            return "no_reply" if self.acked else None
        return None


class _Socket:
    """A conversation's socket and the conversation state its frames announce."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.state = "ai"

    async def frame(self) -> dict[str, Any]:
        frame = json.loads(await self.ws.recv())
        if frame.get("type") == "state":
            self.state = str(frame.get("state"))
        return frame


Clock = Callable[[], float]


async def run_conversation(
    planned: PlannedConversation,
    ws_url: str,
    token: str,
    turn_timeout: float,
    clock: Clock,
) -> ConversationResult:
    """Play one planned conversation; ``clock`` gives seconds since the run started."""
    result = ConversationResult(planned.index, planned.escalating)
    await asyncio.sleep(max(0.0, planned.start_at - clock()))
    local = {"local_addr": (planned.source_address, 0)} if planned.source_address else {}
    try:
        # No protocol-level pings: browsers never send them, and a late pong from a
        # busy server would make the client drop connections the widget would keep.
        ws = await connect(
            ws_url, ping_interval=None, open_timeout=turn_timeout, proxy=None, **local
        )
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        return _refused(result, planned, f"connect:{type(exc).__name__}")
    try:
        async with ws:
            sock = _Socket(ws)
            opening = await _open(sock, token, turn_timeout)
            if opening is not None:
                return _refused(result, planned, opening)
            result.opened_at = clock()
            await _talk(sock, planned, turn_timeout, clock, result)
            # Before the closing handshake, which a busy server answers late.
            result.closed_at = clock()
    except (OSError, ConnectionClosed):
        if not result.turns:
            return _refused(result, planned, "hello:dropped")
    result.closed_at = result.closed_at or clock()
    return result


async def _open(sock: _Socket, token: str, timeout: float) -> str | None:
    """``hello`` → ``welcome``; None when welcomed, else why not (``refused:<why>``)."""
    hello = {"type": "hello", "v": 1, "token": token, "resume": None, "last_seq": 0}
    try:
        await sock.ws.send(json.dumps(hello))
        async with asyncio.timeout(timeout):
            while True:
                frame = await sock.frame()
                if frame.get("type") == "welcome":
                    sock.state = str(frame.get("state"))
                    return None
                if frame.get("type") == "error":
                    return f"hello:{frame.get('code')}"
    except TimeoutError:
        return "hello:timeout"
    except ConnectionClosed:
        return "hello:dropped"


async def _talk(
    sock: _Socket,
    planned: PlannedConversation,
    timeout: float,
    clock: Clock,
    result: ConversationResult,
) -> None:
    for number, text in enumerate(planned.messages):
        client_id = f"b{planned.index}-{number}"
        sent_at = clock()
        try:
            await sock.ws.send(json.dumps({"type": "message", "id": client_id, "text": text}))
            outcome = await _reply(sock, _Turn(client_id), timeout)
        except (OSError, ConnectionClosed):
            outcome = "dropped"
        result.turns.append(TurnResult(number, outcome, sent_at, clock() - sent_at))
        if outcome in ENDS_CONVERSATION:
            result.turns += [
                TurnResult(later, "abandoned") for later in range(number + 1, len(planned.messages))
            ]
            return
        if number < len(planned.thinks):
            await asyncio.sleep(planned.thinks[number])


async def _reply(sock: _Socket, turn: _Turn, timeout: float) -> str:
    try:
        async with asyncio.timeout(timeout):
            while True:
                outcome = turn.outcome(await sock.frame(), sock.state)
                if outcome is not None:
                    return outcome
    except TimeoutError:
        return "timeout"


def _refused(
    result: ConversationResult, planned: PlannedConversation, why: str
) -> ConversationResult:
    result.turns = [TurnResult(i, f"refused:{why}") for i in range(len(planned.messages))]
    return result


async def run_conversations(
    plan: list[PlannedConversation],
    ws_url: str,
    tokens: dict[str, str],
    turn_timeout: float,
    on_start: Callable[[Clock], Awaitable[None]] | None = None,
) -> tuple[list[ConversationResult], float]:
    """Run every planned conversation at its time; returns the results and the run's length.

    ``on_start`` (given the run's clock) is awaited as a task beside the conversations
    (samplers) and cancelled when they are done.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    def clock() -> float:
        return loop.time() - t0

    side = asyncio.create_task(on_start(clock)) if on_start is not None else None
    try:
        results = await asyncio.gather(
            *(run_conversation(p, ws_url, tokens[p.customer_id], turn_timeout, clock) for p in plan)
        )
    finally:
        if side is not None:
            side.cancel()
            await asyncio.gather(side, return_exceptions=True)
    return list(results), clock()
