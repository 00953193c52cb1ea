"""The translated reply templates (prompts/replies.zh.yaml, prompts/replies.es.yaml) match
prompts/replies.yaml: the same keys, the same {placeholders}, and text in their language."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
LANGUAGES = ("zh", "es")
LENDER = "Harbor Consumer Finance"

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
# Three or more English words in a row (only spaces and light punctuation between them).
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,.'’-]+[A-Za-z]+){2,}")
ENGLISH_STOP_WORDS = frozenset(
    {"the", "you", "your", "we", "our", "us", "please", "with", "and", "is", "are", "this"}
    | {"that", "for", "to", "of", "it", "will", "can", "would", "be", "have", "has", "here"}
    | {"what", "when", "how"}
)
SPANISH_WORDS = frozenset(
    {"de", "la", "el", "los", "las", "que", "su", "sus", "usted", "le", "lo", "en", "para"}
    | {"por", "con", "un", "una", "y", "no", "es", "del", "al", "se", "puedo", "puede", "hoy"}
    | {"sí", "más", "ha"}
)
DISCLOSURE_WORDS = {
    "zh": ("自动助手", "不是真人"),
    "es": ("asistente automático", "no una persona"),
}
LANGUAGE_NAME = {"zh": "中文", "es": "español"}


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((PROMPTS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), name
    return data


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf by its dotted key path (a mapping's own path is not a leaf)."""
    if not isinstance(node, dict):
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _prose(template: str) -> str:
    """The text a translator wrote: no placeholders, no lender's name."""
    text = " ".join(template.split())
    text = re.sub(r"\{[^{}]*\}", " ", text)
    return text.replace(LENDER, " ").replace("Harbor", " ")


ENGLISH = _leaves(_load("replies.yaml"))


@pytest.fixture(params=LANGUAGES)
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def translated(lang: str) -> dict[str, Any]:
    return _leaves(_load(f"replies.{lang}.yaml"))


def test_same_key_paths(translated: dict[str, Any]) -> None:
    assert not set(ENGLISH) - set(translated), "missing keys"
    assert not set(translated) - set(ENGLISH), "extra keys"


def test_every_leaf_is_non_empty_text(translated: dict[str, Any]) -> None:
    bad = [k for k, v in translated.items() if not isinstance(v, str) or not v.strip()]
    assert not bad


def test_same_placeholders(translated: dict[str, Any]) -> None:
    differ = {
        key: (sorted(_placeholders(ENGLISH[key])), sorted(_placeholders(text)))
        for key, text in translated.items()
        if key in ENGLISH and _placeholders(ENGLISH[key]) != _placeholders(text)
    }
    assert not differ, differ


def test_templates_format(translated: dict[str, Any]) -> None:
    for key, text in translated.items():
        folded = " ".join(text.split())  # as agent/engine/templates.py reads it
        rendered = folded.format(**{name: "X" for name in _placeholders(folded)})
        assert rendered.strip(), key


def test_chinese_text() -> None:
    zh = _leaves(_load("replies.zh.yaml"))
    for key, text in zh.items():
        prose = _prose(text)
        latin = sum(len(w) for w in LATIN_WORD.findall(prose))
        cjk = len(CJK.findall(prose))
        if not prose.strip(" ()（）。"):
            continue  # a template that is only a placeholder ("{message}")
        assert cjk, key
        assert cjk / (cjk + latin) >= 0.8, key
        assert not ENGLISH_RUN.search(prose), (key, ENGLISH_RUN.search(prose))
        # Folded lines would put spaces between Chinese characters.
        assert not re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]", " ".join(text.split())), key


def test_spanish_text() -> None:
    es = _leaves(_load("replies.es.yaml"))
    for key, text in es.items():
        words = [w.lower() for w in LATIN_WORD.findall(_prose(text))]
        english = sorted(set(words) & ENGLISH_STOP_WORDS)
        assert not english, (key, english)
        if len(words) >= 3:
            assert set(words) & SPANISH_WORDS or re.search("[áéíóúñ¿¡]", text), key


def test_disclosure_says_automated_not_a_person(lang: str, translated: dict[str, Any]) -> None:
    for words in DISCLOSURE_WORDS[lang]:
        assert words in translated["disclosure"]
    assert LENDER in translated["disclosure"]


def test_crisis_line(lang: str, translated: dict[str, Any]) -> None:
    crisis = translated["crisis_line"]
    assert "988" in crisis and "911" in crisis
    if lang == "es":
        assert "marque 2 para español" in crisis
    else:
        assert "中文" in crisis


def test_escalations_offer_a_speaker_of_the_language(lang: str, translated: dict[str, Any]) -> None:
    for key, text in translated.items():
        if key.startswith("escalated."):
            assert LANGUAGE_NAME[lang] in text, key
