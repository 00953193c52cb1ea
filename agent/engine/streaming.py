"""Streaming a model's reply to the customer while it is written, without ever showing
text the output guardrails would stop.

Tokens arrive through a LangChain callback (``TokenRelay``). A ``ReplyDraft`` gate holds
them back and releases the reply sentence by sentence, each time checking all the text
released so far with the same checks as the final reply (grounding of every figure and
date, links and phone numbers, nothing before verification, no other customer's loans,
prohibited content). The first sentence that fails stops the stream; the final reply
(regenerated or replaced by the output guard) then takes the draft's place. A sentence
that ends in a figure waits for the next word, so that a phone number or an amount is
never shown in part (a link cannot span a sentence end: it holds no white space). A
model answer that turns out to be a tool call withdraws its draft: only the last answer
of a turn is the reply.

What is released is a *draft*: the stored transcript message that ends the turn is the
record; the web layer shows drafts in a provisional bubble that the final message
replaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from agent.language.number_words import TEEN_WORDS, TENS_WORDS

# A sentence ends at . ! ? or a line break, followed by white space (so "$165.00" and
# "5/22" never split a sentence).
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")
# A figure can still grow across a sentence end: a phone number is read across ". "
# ("1-900-555. 0142"), an amount across a line break ("165\ndollars", "one hundred\nand
# sixty-five dollars"). Such a sentence waits for the next word, and is held back with it
# when that word goes on with the figure.
_CURRENCY_WORDS = ("usd", "us", "dollar", "dollars", "bucks", "cent", "cents", "percent")
_FIGURE_WORD_LIST = sorted(
    [*TEEN_WORDS, *TENS_WORDS, "hundred", "thousand", "grand", "and", *_CURRENCY_WORDS],
    key=len,
    reverse=True,
)
_FIGURE_WORDS = "|".join(_FIGURE_WORD_LIST)
_ENDS_IN_DIGIT = re.compile(r"\d[.!?…]$")
_ENDS_IN_FIGURE = re.compile(rf"(?:[\d$+#(-]|\b(?:{_FIGURE_WORDS}))[.!?…]?$", re.IGNORECASE)
_NEXT_WORD = re.compile(r"\s*(\S+)(\s?)")
_DIGITS_GO_ON = re.compile(r"[\d+(#-]")
_FIGURE_GOES_ON = re.compile(rf"(?:[\d$+#(%-]|(?:{_FIGURE_WORDS})\b)", re.IGNORECASE)


class DraftSink(Protocol):
    """Where released draft text goes (the conversation service publishes it)."""

    def show(self, text: str) -> None: ...

    def withdraw(self) -> None: ...


@dataclass
class ReplyDraft:
    """One model answer being streamed: buffers tokens, releases checked sentences."""

    passes: Callable[[str], bool]  # True when the text may be shown to the customer
    sink: DraftSink
    buffer: str = ""
    released: str = ""
    blocked: bool = False
    is_tool_call: bool = False
    shown: bool = field(default=False, repr=False)

    def feed(self, token: str) -> None:
        if self.blocked or self.is_tool_call or not token:
            return
        self.buffer += token
        boundary = _last_sentence_end(self.buffer)
        if boundary > len(self.released):
            self._release(self.buffer[:boundary])

    def tool_call(self) -> None:
        """The answer carries tool calls: it is not the reply; withdraw what was shown."""
        if not self.is_tool_call:
            self.is_tool_call = True
            self.withdraw()

    def finish(self) -> None:
        """The model finished: release the last sentence (it needs no full stop)."""
        if self.blocked or self.is_tool_call or not self.buffer.strip():
            return
        if len(self.buffer.rstrip()) > len(self.released):
            self._release(self.buffer)

    def restart(self) -> None:
        """The model call failed (another model answers instead): start over."""
        self.withdraw()
        self.buffer, self.released, self.blocked, self.is_tool_call = "", "", False, False

    def withdraw(self) -> None:
        if self.shown:
            self.sink.withdraw()
            self.shown = False

    def _release(self, text: str) -> None:
        candidate = text.strip()
        if not candidate or candidate == self.released:
            return
        if not self.passes(candidate):
            self.blocked = True  # the final reply decides what the customer sees
            return
        self.released = candidate
        self.shown = True
        self.sink.show(candidate)


def _last_sentence_end(text: str) -> int:
    """Where the last sentence that may be shown ends (0 for none yet)."""
    end = 0
    for match in _SENTENCE_END.finditer(text):
        if _settled(text, match.end()):
            end = match.end()
    return end


def _settled(text: str, boundary: int) -> bool:
    """Nothing that ends at ``boundary`` can still grow with what follows."""
    before = text[:boundary].rstrip()
    if text[boundary - 1] == "\n":
        if not _ENDS_IN_FIGURE.search(before):
            return True
        following = _NEXT_WORD.match(text, boundary)
        if following is None or _FIGURE_GOES_ON.match(following[1]):
            return False
        word, whole = following[1].lower(), bool(following[2])
        # A word still arriving settles it once it can no longer be a figure word.
        return whole or not any(figure.startswith(word) for figure in _FIGURE_WORD_LIST)
    if not _ENDS_IN_DIGIT.search(before):
        return True
    following = _NEXT_WORD.match(text, boundary)
    return following is not None and not _DIGITS_GO_ON.match(following[1])


class DraftHolder(Protocol):
    reply_draft: ReplyDraft | None


class TokenRelay(BaseCallbackHandler):
    """Feeds streamed tokens of the turn's model calls into the current draft gate."""

    # Called inline in the model's thread, so tokens arrive in order.
    run_inline = True

    def __init__(self, holder: DraftHolder) -> None:
        self.holder = holder

    def on_llm_new_token(
        self,
        token: str,
        *,
        chunk: Any = None,
        run_id: UUID | None = None,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        draft = self.holder.reply_draft
        if draft is None:
            return
        message = getattr(chunk, "message", None)
        if getattr(message, "tool_call_chunks", None):
            draft.tool_call()
            return
        draft.feed(token)
