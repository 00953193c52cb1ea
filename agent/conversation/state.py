"""The handoff state machine: ai → queued → human → ai | closed.

Every change is an explicit transition (checked here) plus an event (recorded by the
service). While a conversation is queued or with a human, the AI never replies.
"""

from __future__ import annotations

from enum import StrEnum


class ConversationState(StrEnum):
    AI = "ai"
    QUEUED = "queued"
    HUMAN = "human"
    CLOSED = "closed"


ALLOWED_TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.AI: frozenset({ConversationState.QUEUED, ConversationState.CLOSED}),
    ConversationState.QUEUED: frozenset(
        {ConversationState.HUMAN, ConversationState.AI, ConversationState.CLOSED}
    ),
    ConversationState.HUMAN: frozenset({ConversationState.AI, ConversationState.CLOSED}),
    ConversationState.CLOSED: frozenset(),
}


class InvalidTransition(ValueError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a conversation that is '{current}' cannot become '{target}'")
        self.current, self.target = current, target


def check_transition(current: str, target: str) -> ConversationState:
    """Return the target state, or raise :class:`InvalidTransition`."""
    source, goal = ConversationState(current), ConversationState(target)
    if goal not in ALLOWED_TRANSITIONS[source]:
        raise InvalidTransition(source, goal)
    return goal


def ai_may_reply(state: str) -> bool:
    return ConversationState(state) is ConversationState.AI
