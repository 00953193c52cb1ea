"""The Chinese and Spanish intent models (issue #13): the served artifacts (checked by
sha256), clear examples, the test split's figures (computed here) and deterministic
training."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.engine.offline.language_intents import (
    LanguageIntentModel,
    artifact_path,
    available_languages,
)
from agent.learning.artifacts import ArtifactError
from agent.learning.cli import intent_artifact
from agent.learning.language_training import (
    INTENT_FRACTIONS,
    intent_corpus,
    measure_intents,
    train_intents,
)
from agent.learning.ngram_classifier import threshold_for_accuracy
from agent.settings import PROJECT_ROOT

LANGUAGES = ("es", "zh")
# Measured on the test split (seed 20261213; intents.yaml and intents_more.yaml) with the
# committed models (see their cards) and asserted as measured: accuracy of the intents
# acted on es 92.9 % / zh 94.3 % (95 % on validation, where the act threshold was chosen),
# abstention es 10.5 % / zh 20.4 %, top-intent accuracy es 89.2 % / zh 86.4 %. The targets
# (>= 95 % acted on, <= 10 % abstention) are NOT met yet.
MIN_ACCURACY_ANSWERED = {"es": 0.9286, "zh": 0.9431}
MAX_ABSTENTION = {"es": 0.1047, "zh": 0.2039}
MIN_ACCURACY = {"es": 0.8924, "zh": 0.8641}

EXAMPLES = {
    "zh": [
        ("我想查一下余额", "balance"),
        ("下周五还150", "promise_to_pay"),
        ("给我发个付款链接", "payment_link"),
        ("我想把还款日改到15号", "due_date_change"),
        ("你是机器人吗", "about_assistant"),
        ("谢谢", "thanks"),
    ],
    "es": [
        ("¿Cuál es mi saldo?", "balance"),
        ("Mándame el enlace de pago", "payment_link"),
        ("El viernes pago 150", "promise_to_pay"),
        ("Quiero cambiar mi fecha de pago al 15", "due_date_change"),
        ("¿Eres un robot?", "about_assistant"),
        ("muchas gracias", "thanks"),
    ],
}


@pytest.fixture(scope="module", params=LANGUAGES)
def model(request: pytest.FixtureRequest) -> LanguageIntentModel:
    return LanguageIntentModel.load(request.param)


def test_both_languages_are_served_with_their_cards(model: LanguageIntentModel) -> None:
    assert set(LANGUAGES) <= set(available_languages())
    card = model.card
    assert card["model"] == "intent" and card["rebuild"] == "loan-agent train languages"
    assert card["seed"] and 0 < model.act_threshold < 1
    assert card["sha256"] == hashlib.sha256(artifact_path(model.language).read_bytes()).hexdigest()
    # the training command writes where the engine reads
    assert intent_artifact(model.language) == artifact_path(model.language)


def test_every_intent_of_the_file_has_a_probability(model: LanguageIntentModel) -> None:
    data = yaml.safe_load(
        (PROJECT_ROOT / "training" / "languages" / model.language / "intents.yaml").read_text(
            encoding="utf-8"
        )
    )
    probabilities = model.probabilities("hola 你好")
    assert set(probabilities) == set(data) and "out_of_scope" in probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert model.top("hola 你好") == max(probabilities.items(), key=lambda kv: kv[1])


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "intent.es.npz"
    shutil.copy(artifact_path("es"), copy)
    shutil.copy(artifact_path("es").with_suffix(".json"), copy.with_suffix(".json"))
    assert LanguageIntentModel.load("es", copy).top("¿Cuál es mi saldo?")[0] == "balance"
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        LanguageIntentModel.load("es", copy)


def test_an_escalation_artifact_is_not_an_intent_model() -> None:
    escalation = PROJECT_ROOT / "agent" / "guardrails" / "models" / "escalation.es.npz"
    with pytest.raises(ArtifactError, match="not a intent model"):
        LanguageIntentModel.load("es", escalation)


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    [(language, text, intent) for language, cases in EXAMPLES.items() for text, intent in cases],
)
def test_clear_examples(language: str, text: str, intent: str) -> None:
    model = LanguageIntentModel.load(language)
    top, probability = model.top(text)
    assert top == intent and probability >= model.act_threshold, (top, probability)


def test_test_split_accuracy_and_abstention(model: LanguageIntentModel) -> None:
    seed = int(model.card["seed"])
    test = [i for i in intent_corpus(PROJECT_ROOT, model.language, seed) if i.split == "test"]
    assert len(test) >= 150 and INTENT_FRACTIONS[2] == 0.15
    rows = np.array([list(model.probabilities(i.text).values()) for i in test])
    report = measure_intents(test, rows, model.classes, model.act_threshold)
    assert report["accuracy"] >= MIN_ACCURACY[model.language]
    assert report["accuracy_answered"] >= MIN_ACCURACY_ANSWERED[model.language]
    assert report["abstention_rate"] <= MAX_ABSTENTION[model.language]
    assert model.card["report"]["test"]["accuracy_answered"] == report["accuracy_answered"]


def test_threshold_for_accuracy_answers_as_much_as_the_target_allows() -> None:
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])
    threshold = threshold_for_accuracy(confidence, correct, 0.8)  # 4 of the top 5 right
    assert 0.5 < threshold <= 0.6
    assert threshold_for_accuracy(confidence, correct, 1.0) == pytest.approx(0.75)
    assert threshold_for_accuracy(confidence, np.zeros(6, dtype=bool), 0.5) == 1.0


def test_training_is_deterministic(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        path = tmp_path / run / "intent.zh.npz"
        card = train_intents(
            PROJECT_ROOT, "zh", path, c_grid=(10.0,), max_items=500, log=lambda _: None
        )
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
        assert card["sha256"] == digests[-1]
        assert LanguageIntentModel.load("zh", path).act_threshold == card["act_threshold"]
    assert digests[0] == digests[1]
