import pytest

from agent.conversation.state import (
    ConversationState,
    InvalidTransition,
    ai_may_reply,
    check_transition,
)

S = ConversationState


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.AI, S.QUEUED),
        (S.QUEUED, S.HUMAN),
        (S.HUMAN, S.AI),
        (S.HUMAN, S.CLOSED),
        (S.AI, S.CLOSED),
        (S.QUEUED, S.CLOSED),
        (S.QUEUED, S.AI),
    ],
)
def test_allowed(source: S, target: S) -> None:
    assert check_transition(source, target) is target


@pytest.mark.parametrize(
    ("source", "target"),
    [(S.AI, S.HUMAN), (S.CLOSED, S.AI), (S.CLOSED, S.QUEUED), (S.HUMAN, S.QUEUED), (S.AI, S.AI)],
)
def test_refused(source: S, target: S) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(source, target)


def test_only_the_ai_state_lets_the_ai_reply() -> None:
    assert [s for s in S if ai_may_reply(s)] == [S.AI]
