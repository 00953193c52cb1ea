"""Reply templates from ``prompts/replies.yaml`` (text for people lives in prompts/), in
each language the assistant speaks: ``replies.<language>.yaml`` beside it holds the same
keys and placeholders (tests/test_reply_translations.py checks that).

Which language a reply is written in is the conversation's, set for the duration of a
turn with :func:`replying_in` (the turn pipeline does it once; every template rendered
inside the turn, by the pipeline, the offline engine or the tools, follows it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from agent.language.localized import local_dates

DEFAULT_LANGUAGE = "en"
_REPLY_LANGUAGE: ContextVar[str] = ContextVar("reply_language", default=DEFAULT_LANGUAGE)


@contextmanager
def replying_in(language: str | None) -> Iterator[None]:
    token = _REPLY_LANGUAGE.set(language or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _REPLY_LANGUAGE.reset(token)


def reply_language() -> str:
    return _REPLY_LANGUAGE.get()


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _lookup(data: dict[str, Any], key: str) -> str | None:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


def _folded(text: str, language: str) -> str:
    if language == "zh":  # Chinese has no spaces between words: only trim the lines
        return "".join(line.strip() for line in text.splitlines())
    return " ".join(text.split())


class Templates:
    def __init__(self, path: Path) -> None:
        self._by_language: dict[str, dict[str, Any]] = {DEFAULT_LANGUAGE: _load(path)}
        for other in sorted(path.parent.glob(f"{path.stem}.*{path.suffix}")):
            language = other.name[len(path.stem) + 1 : -len(path.suffix)]
            self._by_language[language] = _load(other)

    @property
    def languages(self) -> list[str]:
        return sorted(self._by_language)

    def get(self, key: str, language: str | None = None) -> str:
        language = language or reply_language()
        text = _lookup(self._by_language.get(language, {}), key)
        if text is None:
            language = DEFAULT_LANGUAGE
            text = _lookup(self._by_language[DEFAULT_LANGUAGE], key)
        if text is None:
            raise KeyError(f"template {key!r} is not text")
        return _folded(text, language)

    def has(self, key: str) -> bool:
        return _lookup(self._by_language[DEFAULT_LANGUAGE], key) is not None

    def render(self, key: str, **values: Any) -> str:
        language = reply_language()
        return self.get(key, language).format(**localized_values(values, language))


_FULL_WIDTH = {",": "，", ";": "；"}


def listed(items: list[str], separator: str) -> str:
    """Items joined the reply language's way ("a, b" / "a，b")."""
    if reply_language() == "zh":
        return _FULL_WIDTH.get(separator, separator).join(items)
    return f"{separator} ".join(items)


def joined(parts: Iterable[str]) -> str:
    """Sentences one after another: after a space, except in Chinese ("。" ends them)."""
    return ("" if reply_language() == "zh" else " ").join(p.strip() for p in parts if p)


def spaced(text: str) -> str:
    """A sentence appended to another: after a space, except in Chinese."""
    return text if reply_language() == "zh" else f" {text}"


_ORDINAL_SUFFIX = re.compile(r"^(\d+)(st|nd|rd|th)$")


def localized_values(values: dict[str, Any], language: str) -> dict[str, Any]:
    """Values composed in English grammar, for another language's template: no plural
    "s" in Chinese, a day of the month without "th", dates written the local way (also
    inside a tool's message)."""
    if language == DEFAULT_LANGUAGE:
        return values
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "plural" and language == "zh":
            value = ""
        elif name == "day_ordinal" and isinstance(value, str):
            value = _ORDINAL_SUFFIX.sub(r"\1", value)
        elif isinstance(value, str):
            value = local_dates(value, language)
        out[name] = value
    return out


@lru_cache(maxsize=4)
def load_templates(prompts_dir: str) -> Templates:
    return Templates(Path(prompts_dir) / "replies.yaml")
