"""The trained intent model: its artifact (checked by sha256), abstention with a
clarifying question, the common bill questions, and deterministic training."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent.engine import session_facts
from agent.engine.offline.brain import OfflineBrain
from agent.engine.offline.intent_model import DEFAULT_ARTIFACT, IntentModel, Thresholds
from agent.engine.offline.intent_training import (
    Item,
    Paths,
    choose_thresholds,
    fit,
    probabilities,
    public_items,
)
from agent.engine.offline.intents import IntentMatcher, IntentScore
from agent.engine.offline.understanding import understand
from agent.engine.templates import Templates
from agent.learning.artifacts import ArtifactError, load_artifact
from agent.policy.config import load_policy
from agent.settings import PROJECT_ROOT, get_settings

TODAY = date(2026, 3, 10)
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


class _FakeEmbedder:
    dimension = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dimension), dtype=np.float32)


# --- the artifact ----------------------------------------------------------------------


def test_artifact_loads_with_its_card_and_thresholds() -> None:
    arrays, card = load_artifact(DEFAULT_ARTIFACT)
    assert card["model"] == "intent" and card["rebuild"] == "loan-agent train intents"
    assert arrays["coef"].shape == (len(card["classes"]), 384)
    model = IntentModel.load(_FakeEmbedder())
    th = model.thresholds
    assert 0 < th.act <= th.write <= 1 and th.act <= th.confident <= 1
    assert "test" in card["report"] and card["seed"]


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "intent.npz"
    shutil.copy(DEFAULT_ARTIFACT, copy)
    shutil.copy(DEFAULT_ARTIFACT.with_suffix(".json"), copy.with_suffix(".json"))
    IntentModel.load(_FakeEmbedder(), copy)  # the intact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        IntentModel.load(_FakeEmbedder(), copy)


# --- abstention -------------------------------------------------------------------------


class _UnsureMatcher:
    """A matcher whose model hesitates between two intents (and a write)."""

    thresholds = Thresholds(act=0.6, write=0.8, confident=0.95)

    def rank(self, text: str) -> list[IntentScore]:
        return [
            IntentScore("deferral", 0.41, False),
            IntentScore("due_date_change", 0.33, False),
            IntentScore("out_of_scope", 0.2, False),
        ]


def test_low_confidence_plans_no_task_but_a_clarifying_question() -> None:
    plan = understand(_UnsureMatcher(), "could the thing with my payment be moved", TODAY)
    assert plan["tasks"] == []
    assert plan["clarify"] == ["deferral", "due_date_change"]


def _reply(brain: OfflineBrain, text: str, state_message=None):
    facts = {"today": TODAY.isoformat(), "verified": True, "customer_known": True}
    messages = [SystemMessage(session_facts.render(facts))]
    if state_message is not None:
        messages += state_message
    return brain.respond([*messages, HumanMessage(text)])


def test_the_engine_asks_then_offers_a_person_and_never_acts_on_a_guess() -> None:
    settings = get_settings()
    brain = OfflineBrain(
        _UnsureMatcher(),  # type: ignore[arg-type]
        Templates(settings.prompts_dir / "replies.yaml"),
        load_policy(settings.policy_file),
    )
    first = _reply(brain, "could the thing with my payment be moved")
    assert not first.tool_calls  # no write, no read: a question
    assert "deferring a payment" in first.content and "changing your due date" in first.content
    second = _reply(brain, "you know, the thing", [HumanMessage("could the thing"), first])
    assert not second.tool_calls
    assert "person" in second.content


# --- the bill questions, on the real model ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what's my minimum payment", "next_payment"),
        ("what is the minimum amount due this month", "next_payment"),
        ("whats the least i can pay this month", "next_payment"),
        ("how much is the minimum payment on my loan", "next_payment"),
        ("minimum due?", "next_payment"),
        ("when is my bill due", "next_payment"),
        ("when's the bill due this month", "next_payment"),
        ("what day do i need to pay my bill by", "next_payment"),
        ("tell me when my next bill is due", "next_payment"),
        ("by when do I have to pay this month", "next_payment"),
        ("what's my APR", "policy_question"),
        ("what apr am i paying on this loan", "policy_question"),
        ("what's the annual percentage rate on my account", "policy_question"),
        ("what interest rate do I pay", "policy_question"),
    ],
)
def test_common_bill_questions_are_understood(
    intent_matcher: IntentMatcher, text: str, intent: str
) -> None:
    plan = understand(intent_matcher, text, TODAY)
    assert [t["intent"] for t in plan["tasks"]] == [intent], plan


# --- training ---------------------------------------------------------------------------


def _synthetic(seed: int) -> tuple[list[Item], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    classes = ["balance", "deferral", "out_of_scope"]
    centres = rng.normal(size=(3, 16))
    items, rows = [], []
    for k, label in enumerate(classes):
        for n in range(40):
            items.append(Item(f"{label} {n}", label, "own:synthetic", "train"))
            rows.append(centres[k] + rng.normal(scale=0.8, size=16))
    return items, np.asarray(rows, dtype=np.float32), classes


def test_training_is_deterministic() -> None:
    items, vectors, classes = _synthetic(7)
    first = fit(items, vectors, classes, c=4.0)
    second = fit(items, vectors, classes, c=4.0)
    for name in first:
        assert np.array_equal(first[name], second[name])
    probs = probabilities(first, vectors)
    assert (probs.argmax(axis=1) == [classes.index(i.label) for i in items]).mean() > 0.9
    th = choose_thresholds(items, probs, classes, 0.95, 0.99, 0.99)
    assert th == choose_thresholds(items, probs, classes, 0.95, 0.99, 0.99)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data (public sets) is absent")
def test_public_data_mapping() -> None:
    items = public_items(Paths(PROJECT_ROOT, SHARED_DATA), seed=1)
    labels = {i.label for i in items}
    assert {"next_payment", "policy_question", "how_to_pay", "out_of_scope"} <= labels
    texts = {i.text.lower(): i.label for i in items}
    assert not any("fraud" in t and label != "out_of_scope" for t, label in texts.items())
    assert items == public_items(Paths(PROJECT_ROOT, SHARED_DATA), seed=1)  # fixed sample


# --- noise, identity answers, and the threshold rules -------------------------------------


@pytest.mark.parametrize("text", ["blorp zzzt qwerty", "flibber jabber wocky", "asdfgh jkl"])
def test_keyboard_noise_is_not_understood(intent_matcher: IntentMatcher, text: str) -> None:
    plan = understand(intent_matcher, text, TODAY)
    assert plan["tasks"] == [] and "clarify" not in plan


def test_noise_words_are_measured_on_the_vocabulary() -> None:
    from agent.engine.offline.intents import looks_like_noise, unknown_share

    assert unknown_share("what is my balance") == 0.0
    assert not looks_like_noise("hi it's Priya, my number is 609-555-0142")
    assert looks_like_noise("blorp zzzt qwerty")


@pytest.mark.parametrize(
    "text", ["sorry, april 12 1988", "hi it's Priya, my number is 609-555-0142"]
)
def test_an_identity_answer_is_not_an_off_topic_question(
    intent_matcher: IntentMatcher, text: str
) -> None:
    plan = understand(intent_matcher, text, TODAY, ("L100",))
    assert plan["tasks"] == [], plan


def test_a_write_needs_the_write_precision_over_all_validation_items() -> None:
    """The few writes are right at every probability, the reads often wrong below 0.8:
    the write threshold follows all the items, not the few writes alone."""
    classes = ["balance", "deferral", "payoff"]
    items, rows = [], []
    for n in range(40):
        p = 0.55 + n * 0.01  # 0.55 .. 0.94
        label = "deferral" if n % 4 == 0 else "balance"
        predicted = label if label == "deferral" or p >= 0.8 else "payoff"
        items.append(Item(f"t{n}", label, "own:synthetic", "val"))
        row = [(1 - p) / 2] * 3
        row[classes.index(predicted)] = p
        rows.append(row)
    probs = np.array(rows)
    writes = probs.argmax(axis=1) == 1
    assert (probs.argmax(axis=1)[writes] == 1).all()  # every predicted write is right
    th = choose_thresholds(items, probs, classes, 0.5, 0.97, 0.99)
    assert th.write_threshold >= 0.79 > th.threshold
