"""``clean_text``: what may be stored and shown of anything typed (agent/language/normalize.py)."""

from __future__ import annotations

import pytest

from agent.language.normalize import clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text, émojis 😀 and 中文", "plain text, émojis 😀 and 中文"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("windows\r\nand old mac\rbreaks", "windows\nand old mac\nbreaks"),
        ("nul\x00 bell\x07 escape\x1b[31m del\x7f c1\x85", "nul bell escape[31m del c1"),
        ("lone \ud800 and \udfff surrogates", "lone \ufffd and \ufffd surrogates"),
        ("\u202eright-to-left override\u2066isolate\u2069", "right-to-left overrideisolate"),
        (
            "zero\u200bwidth and a\u00a0non-breaking space",
            "zero\u200bwidth and a\u00a0non-breaking space",
        ),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("\x00\x01\x02", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert clean_text(clean) == clean  # cleaning twice changes nothing
    clean.encode("utf-8")
