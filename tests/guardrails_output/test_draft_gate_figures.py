"""The streaming draft gate never shows part of a phone number or an amount: a sentence
that ends in a figure waits for the next word, and is held back with it when that word
goes on with the figure (a phone number is read across ". ", an amount across a line
break)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from agent.engine.streaming import ReplyDraft
from agent.guardrails.output_checks import check_phones
from agent.language.amounts import money_mentions


@dataclass
class Sink:
    shown: list[str] = field(default_factory=list)

    def show(self, text: str) -> None:
        self.shown.append(text)

    def withdraw(self) -> None:
        self.shown.append("")


def stream(text: str, passes) -> tuple[ReplyDraft, Sink]:
    sink = Sink()
    draft = ReplyDraft(passes=passes, sink=sink)
    for token in re.findall(r"\S+\s*|\s+", text):  # word by word, as endpoints stream
        draft.feed(token)
    draft.finish()
    return draft, sink


def no_phone(text: str) -> bool:
    return not check_phones(text, ["1-800-555-0199"])


def no_amount(text: str) -> bool:
    return not money_mentions(text)


def whole_phone_stopped(text: str) -> bool:
    """A check that stops the number 1-900-555-0142 once it is whole, as checks do."""
    return "0142" not in text


def whole_amount_stopped(text: str) -> bool:
    return "dollars" not in text


@pytest.mark.parametrize(
    ("text", "passes", "part"),
    [
        ("Thanks. Call 1-900-555. 0142 today. Bye.", whole_phone_stopped, "555"),
        ("Thanks. Call 1-900-555. 0142 today. Bye.", no_phone, "555"),
        ("Thanks. Call 900. 555-0142 today. Bye.", no_phone, "900"),
        ("Thanks.\nYou owe 165\ndollars today. Bye.", whole_amount_stopped, "165"),
        ("Thanks.\nYou owe 165\ndollars today. Bye.", no_amount, "165"),
        ("Thanks.\nYou owe one hundred\nand sixty-five dollars. Bye.", no_amount, "hundred"),
    ],
)
def test_no_part_of_a_figure_is_shown_before_the_rest_arrives(text, passes, part) -> None:
    draft, sink = stream(text, passes)
    assert draft.blocked
    assert sink.shown == ["Thanks."]  # what came before the figure, and nothing of it
    assert not any(part in shown for shown in sink.shown)


def test_a_sentence_ending_in_a_figure_is_shown_once_the_next_word_starts_otherwise() -> None:
    sink = Sink()
    draft = ReplyDraft(passes=lambda text: True, sink=sink)
    for token in ["Call ", "1-800-555-0199. "]:
        draft.feed(token)
    assert sink.shown == []  # the number could still go on
    draft.feed("We")
    assert sink.shown == ["Call 1-800-555-0199."]
    for token in [" owe ", "$165.00.\n"]:
        draft.feed(token)
    assert sink.shown == ["Call 1-800-555-0199."]
    draft.feed("Thanks")
    assert sink.shown[-1] == "Call 1-800-555-0199. We owe $165.00."
