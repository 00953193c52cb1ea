import pytest

from agent.language.yesno import is_affirmative, is_negative, starts_affirmative


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


@pytest.mark.parametrize(
    "text", ["yes", "Yes please", "ok", "sure, go ahead", "y", "please do", "yes but change it"]
)
def test_opens_with_yes(text: str) -> None:
    assert starts_affirmative(text)


@pytest.mark.parametrize("text", ["no", "yesterday I paid", "okra", "what's my balance", "great"])
def test_does_not_open_with_yes(text: str) -> None:
    assert not starts_affirmative(text)


def test_a_write_needs_more_than_an_opening_yes() -> None:
    # The engine reads "yes but change it" as an answer that opens with yes; a write
    # confirmed by it would be wrong, so the tools' reading is the stricter one.
    assert starts_affirmative("yes but change it to the 20th")
    assert not is_affirmative("yes but change it to the 20th")
