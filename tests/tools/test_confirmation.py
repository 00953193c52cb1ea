import pytest

from agent.tools.confirmation import is_affirmative, is_negative


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Y",
        "yess",
        "yeah go ahead",
        "bet",
        "ok",
        "okay!",
        "sure thing",
        "please do",
        "yes please set that up",
        "👍",
        "sounds good",
        "that works",
        "yup",
        "ye",
        "correct, please make the change",
        "go for it",
    ],
)
def test_yes(text: str) -> None:
    assert is_affirmative(text)


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "nope",
        "not now",
        "yes but change the date",
        "wait",
        "cancel that",
        "actually make it Monday",
        "what's my balance?",
        "yes but change it to the 20th",
    ],
)
def test_not_yes(text: str) -> None:
    assert not is_affirmative(text)


def test_no() -> None:
    assert is_negative("no thanks") and not is_negative("yes")
