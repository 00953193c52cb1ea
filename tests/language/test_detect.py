"""Language of a message (issue #13): measured on our labelled sets, so that no English
message of ours switches a conversation to Spanish, and Spanish and Chinese messages do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.language.detect import detect_language

ROOT = Path(__file__).resolve().parents[2]


def _texts(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if isinstance(node, dict):
        if "text" in node and isinstance(node["text"], str):
            return [node["text"]]
        return [t for value in node.values() for t in _texts(value)]
    return []


def _english_messages() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "training" / "intents").glob("*.yaml")):
        texts += _texts(yaml.safe_load(path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "training" / "escalation").glob("*.yaml")):
        texts += _texts(yaml.safe_load(path.read_text(encoding="utf-8"))["items"])
    return texts


def _items(language: str, name: str) -> list[str]:
    path = ROOT / "training" / "languages" / language / name
    return _texts(yaml.safe_load(path.read_text(encoding="utf-8"))["items"])


def test_english_messages_keep_an_english_conversation_english() -> None:
    english = _english_messages()
    assert len(english) > 3000
    switched = [t for t in english if detect_language(t, "en") != "en"]
    # "hablas español?" is the one English-set message that is Spanish.
    assert len(switched) <= 2, switched


@pytest.mark.parametrize("language", ["es", "zh"])
def test_held_out_messages_switch_an_english_conversation(language: str) -> None:
    held_out = _items(language, "escalation_holdout.yaml")
    missed = [t for t in held_out if detect_language(t, "en") != language]
    assert len(missed) / len(held_out) <= 0.03, missed


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("我的loan还欠多少", "en", "zh"),  # mixed, the way such customers write
        ("¿Cuánto debo?", "en", "es"),
        ("Quiero hablar con una persona", "en", "es"),
        ("what is my balance", "es", "en"),
        # Words that name no language keep the conversation's.
        ("ok", "es", "es"),
        ("no", "zh", "zh"),
        ("1988-04-12 73301", "zh", "zh"),
        ("L100", "es", "es"),
        ("ok", "fr", "en"),  # an unsupported language on file falls back to English
    ],
)
def test_a_message_switches_or_keeps_the_language(text: str, current: str, expected: str) -> None:
    assert detect_language(text, current) == expected
