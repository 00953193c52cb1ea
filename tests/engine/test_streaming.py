"""The reply-draft gate: streamed tokens reach the customer sentence by sentence, and
only while all the text so far passes the output checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from agent.engine.streaming import ReplyDraft, TokenRelay


@dataclass
class RecordingSink:
    events: list[str | None] = field(default_factory=list)  # text shown, None = withdrawn

    def show(self, text: str) -> None:
        self.events.append(text)

    def withdraw(self) -> None:
        self.events.append(None)


def words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def stream(draft: ReplyDraft, text: str) -> None:
    for token in words(text):
        draft.feed(token)


def no_999(text: str) -> bool:
    return "$999" not in text


def test_sentences_are_released_whole_and_figures_are_never_split() -> None:
    sink = RecordingSink()
    draft = ReplyDraft(passes=lambda text: True, sink=sink)
    stream(draft, "Your past-due amount is $165.00. The next payment is due 5/22. Thanks")
    assert sink.events == [
        "Your past-due amount is $165.00.",
        "Your past-due amount is $165.00. The next payment is due 5/22.",
    ]
    draft.finish()  # the last sentence needs no full stop
    assert sink.events[-1].endswith("due 5/22. Thanks")


def test_a_failing_sentence_stops_the_stream_for_good() -> None:
    sink = RecordingSink()
    draft = ReplyDraft(passes=no_999, sink=sink)
    stream(draft, "Thanks for waiting. You owe $999.00 today. Anything else? ")
    draft.finish()
    assert sink.events == ["Thanks for waiting."]
    assert draft.blocked
    assert not any("$999" in (event or "") for event in sink.events)


def test_the_check_sees_all_the_text_released_so_far() -> None:
    seen: list[str] = []

    def passes(text: str) -> bool:
        seen.append(text)
        return True

    draft = ReplyDraft(passes=passes, sink=RecordingSink())
    stream(draft, "One. Two. ")
    assert seen == ["One.", "One. Two."]


def test_a_tool_call_withdraws_what_was_shown_and_ignores_the_rest() -> None:
    sink = RecordingSink()
    draft = ReplyDraft(passes=lambda text: True, sink=sink)
    stream(draft, "Let me check that for you. ")
    draft.tool_call()
    stream(draft, "More words. ")
    draft.finish()
    assert sink.events == ["Let me check that for you.", None]


def test_nothing_is_withdrawn_when_nothing_was_shown() -> None:
    sink = RecordingSink()
    draft = ReplyDraft(passes=lambda text: True, sink=sink)
    draft.feed("Let me")
    draft.tool_call()
    assert sink.events == []


def test_restart_withdraws_and_starts_over() -> None:
    sink = RecordingSink()
    draft = ReplyDraft(passes=no_999, sink=sink)
    stream(draft, "It is $999. Hello. ")  # a sentence ending in a figure waits for a word
    assert draft.blocked and sink.events == []
    draft.restart()
    stream(draft, "Your amount is $165.00. Thanks")
    assert sink.events == ["Your amount is $165.00."]


def chunk(text: str = "", tool_call: bool = False) -> ChatGenerationChunk:
    message = AIMessageChunk(
        content=text,
        tool_call_chunks=(
            [{"name": "get_account_summary", "args": "{}", "id": "c1", "index": 0}]
            if tool_call
            else []
        ),
    )
    return ChatGenerationChunk(message=message)


def test_the_relay_feeds_the_current_draft_and_spots_tool_calls() -> None:
    sink = RecordingSink()
    holder = SimpleNamespace(reply_draft=ReplyDraft(passes=lambda text: True, sink=sink))
    relay = TokenRelay(holder)
    for token in words("Checking now. "):
        relay.on_llm_new_token(token, chunk=chunk(token))
    relay.on_llm_new_token("", chunk=chunk(tool_call=True))
    assert sink.events == ["Checking now.", None]
    holder.reply_draft = None  # between model calls: tokens go nowhere
    relay.on_llm_new_token("Stray. ", chunk=chunk("Stray. "))
    assert sink.events == ["Checking now.", None]
