"""The trained escalation model: its artifact, its training, and what it decides on data
it never saw (the test split of the fixed seeded split, never used for fitting or for
choosing thresholds)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from agent.guardrails.escalation import EscalationClassifier
from agent.guardrails.escalation_model import DEFAULT_ARTIFACT, EscalationModel, sentences
from agent.guardrails.escalation_training import (
    CLASSES,
    NONE_LABEL,
    SEED,
    Item,
    Paths,
    corpus,
    fit,
    own_items,
)
from agent.guardrails.report import split_report
from agent.knowledge.embeddings import Embedder
from agent.learning.artifacts import ArtifactError, load_artifact, save_artifact
from agent.learning.splits import split_of
from agent.policy.config import EscalationReason, PolicyConfig
from agent.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
PATHS = Paths(PROJECT_ROOT, SHARED_DATA)


class _HashEmbedder:
    """Deterministic stand-in vectors (for training mechanics, not for quality)."""

    dimension = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
            vector = np.random.default_rng(seed).normal(size=self.dimension)
            rows.append(vector / np.linalg.norm(vector))
        return np.array(rows, dtype=np.float32)


# --- the artifact --------------------------------------------------------------------


def test_the_committed_artifact_loads_and_names_how_it_was_made() -> None:
    arrays, card = load_artifact(DEFAULT_ARTIFACT)
    assert card["classes"] == CLASSES
    assert card["seed"] == SEED and card["rebuild"] == "loan-agent train escalation"
    assert 0 < card["threshold"] < 1 and card["threshold"] <= card["sentence_threshold"] < 1
    assert arrays["coef"].shape == (
        len(CLASSES),
        384 + card["hash_features"] + card["char_features"],
    )


def test_a_changed_artifact_is_refused(tmp_path: Path, guard_embedder: Embedder) -> None:
    copy = tmp_path / "escalation.npz"
    shutil.copy(DEFAULT_ARTIFACT, copy)
    shutil.copy(DEFAULT_ARTIFACT.with_suffix(".json"), copy.with_suffix(".json"))
    EscalationModel.load(guard_embedder, copy)  # an exact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        EscalationModel.load(guard_embedder, copy)
    copy.with_suffix(".json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        EscalationModel.load(guard_embedder, copy)


def test_an_embedder_of_another_size_is_refused() -> None:
    class Wide(_HashEmbedder):
        dimension = 1536

    with pytest.raises(ArtifactError, match="1536"):
        EscalationModel.load(Wide())


# --- training ------------------------------------------------------------------------


def _toy_items() -> list[Item]:
    rows = [
        ("this loan is not mine", "fraud"),
        ("someone opened this in my name", "fraud"),
        ("i do not owe this amount", "dispute"),
        ("the balance is wrong", "dispute"),
        ("i lost my job and cannot pay", "hardship"),
        ("let me talk to a person", "human_request"),
        ("what is my balance", NONE_LABEL),
        ("when is my payment due", NONE_LABEL),
        ("send me a payment link", NONE_LABEL),
    ]
    return [Item(t, label, "toy", "train", "reason") for t, label in rows]


def test_training_is_deterministic(tmp_path: Path) -> None:
    embedder = _HashEmbedder()
    first = fit(_toy_items(), embedder.embed, c=4.0)
    second = fit(list(reversed(_toy_items())), embedder.embed, c=4.0)
    for name in first:
        np.testing.assert_allclose(first[name], second[name], atol=1e-5)
    card = {"classes": CLASSES}
    assert save_artifact(tmp_path / "a.npz", first, card) == save_artifact(
        tmp_path / "b.npz", first, card
    )


def test_splits_are_fixed_by_seed_and_text_alone() -> None:
    keys = [f"message number {n}" for n in range(6000)]
    splits = [split_of(k, SEED) for k in keys]
    assert splits == [split_of(k, SEED) for k in reversed(keys)][::-1]
    assert [split_of(k, SEED + 1) for k in keys] != splits
    shares = {s: splits.count(s) / len(keys) for s in ("train", "val", "test")}
    assert abs(shares["train"] - 0.70) < 0.03 and abs(shares["test"] - 0.15) < 0.02


def test_the_held_out_set_is_never_trained_on() -> None:
    held = [i for i in own_items(PATHS, SEED) if i.source == "holdout"]
    assert held and all(i.split == "test" for i in held)


# --- decisions on data never tuned on -----------------------------------------------


@pytest.fixture(scope="module")
def own_test_report(escalation_classifier: EscalationClassifier) -> dict:
    items = [i for i in own_items(PATHS, SEED) if i.split == "test"]
    return split_report(escalation_classifier, items)


def test_own_test_split_holds_its_floor(own_test_report: dict) -> None:
    """Our own labelled sets' test split: short chat messages, many of them hard
    look-alikes. The issue's targets (recall >= 97 %, false escalations <= 3 %) are NOT
    met here yet (measured: recall 0.915, false escalations 5.7 %; README); these floors
    keep a retrained model from silently getting worse."""
    report = own_test_report
    assert report["needs_person"]["n"] >= 400
    assert report["needs_person"]["recall"] >= 0.89, report["missed"]
    assert report["needs_person_short"]["recall"] >= 0.89, report["missed"]
    assert report["false_escalation"]["rate"] <= 0.07, report["false_escalations"]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside the repo")
def test_public_test_split_sample(
    escalation_classifier: EscalationClassifier, policy: PolicyConfig
) -> None:
    """A fixed sample of the public test split: real complaint narratives (long and
    short) must reach a person; real bank and assistant questions must not."""
    lexicon = EscalationClassifier(None, policy)
    items = corpus(PATHS, SEED, lambda t: (v := lexicon.classify(t)) and v.reason.value)
    public = [
        i for i in items if i.split == "test" and i.source in {"cfpb", "banking77", "clinc150"}
    ]
    positives = [i for i in public if i.label != NONE_LABEL]
    negatives = [i for i in public if i.label == NONE_LABEL]
    sample = positives[::2][:250] + negatives[::3][:400]
    report = split_report(escalation_classifier, sample)
    assert report["needs_person"]["recall"] >= 0.96, report["missed"][:20]
    assert report["false_escalation"]["rate"] <= 0.03, report["false_escalations"][:20]


@pytest.mark.parametrize(
    "text",
    [
        "this is not my loan",
        "i dont owe you people anything",
        "the amount you say i owe is wrong",
        "send me validation of this debt",
        "why is this on my credit report, it's not accurate",
        "i already paid this off last year",
        "my payment never posted and now you say im late",
        "you charged me twice this month",
        "i never lived in that state, this account isn't mine",
        "I am writing to dispute the balance you are reporting.",
    ],
)
def test_dispute_signals_reach_a_person(
    escalation_classifier: EscalationClassifier, text: str
) -> None:
    verdict = escalation_classifier.classify(text)
    assert verdict is not None, text
    assert verdict.reason in {EscalationReason.DISPUTE, EscalationReason.FRAUD}, (text, verdict)


def test_length_alone_is_not_a_reason(escalation_classifier: EscalationClassifier) -> None:
    routine = (
        "Hi there, I hope you are having a good week. I wanted to check a few things about "
        "my personal loan before the end of the month. Could you tell me when my next "
        "installment is due and how much it will be? I would also like to know whether I "
        "can pay online with my debit card, and if a payment link can be sent to my e-mail "
        "address. Finally, what is the interest rate on the loan? Thank you for your help, "
        "and have a nice afternoon."
    )
    assert len(routine) > 400 and len(sentences(routine)) >= 4
    assert escalation_classifier.classify(routine) is None
