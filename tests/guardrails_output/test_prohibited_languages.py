"""Prohibited content in Chinese and Spanish replies (issue #13): threats, legal threats,
false urgency and shaming are caught; negations and every reply template are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.guardrails.output_content import check_prohibited

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("如果您不还款，我们会起诉您。", "legal_threat"),
        ("再不还就让您坐牢。", "legal_threat"),
        ("我们会通知您的雇主。", "threat"),
        ("这是最后机会，马上还钱！", "false_urgency"),
        ("您就是个老赖。", "shaming"),
        ("Si no paga, vamos a demandarlo.", "legal_threat"),
        ("Usted irá a la cárcel.", "legal_threat"),
        ("Podemos avisar a su empleador.", "threat"),
        ("Es su última oportunidad.", "false_urgency"),
    ],
)
def test_prohibited_statements_are_caught(reply: str, kind: str) -> None:
    assert kind in {v.kind for v in check_prohibited(reply)}


@pytest.mark.parametrize(
    "reply",
    [
        "我们不会起诉您。",
        "我们绝不会通知您的雇主。",
        "No lo vamos a demandar.",
        "Le ayudo con su pago.",
    ],
)
def test_negations_and_ordinary_replies_pass(reply: str) -> None:
    assert check_prohibited(reply) == []


def _leaves(node: object, key: str = "") -> list[tuple[str, str]]:
    if isinstance(node, str):
        return [(key, node)]
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{key}.{k}")]
    return []


@pytest.mark.parametrize("language", ["zh", "es"])
def test_no_reply_template_trips_the_check(language: str) -> None:
    templates = yaml.safe_load((ROOT / "prompts" / f"replies.{language}.yaml").read_text("utf-8"))
    tripped = [(k, check_prohibited(t)) for k, t in _leaves(templates) if check_prohibited(t)]
    assert tripped == []
