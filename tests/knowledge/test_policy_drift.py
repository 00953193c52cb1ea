"""The policy documents and the policy config must never drift apart."""

from __future__ import annotations

import dataclasses

import pytest

from agent.knowledge import consistency
from agent.knowledge.consistency import (
    check_documents,
    config_leaves,
    extract_quantities,
    is_exempt,
    policy_facts,
)
from agent.knowledge.documents import KnowledgeDocument
from agent.policy.config import PolicyConfig


def _by_id(documents: list[KnowledgeDocument]) -> dict[str, KnowledgeDocument]:
    return {d.doc_id: d for d in documents}


def _with_body(documents, doc_id: str, body: str) -> list[KnowledgeDocument]:
    return [dataclasses.replace(d, body=body) if d.doc_id == doc_id else d for d in documents]


def _policy_with(policy: PolicyConfig, section: str, **values: object) -> PolicyConfig:
    raw = policy.model_dump(mode="json")
    raw[section].update(values)
    return PolicyConfig.model_validate(raw)


def test_the_documents_agree_with_the_policy_config(real_documents, policy) -> None:
    assert check_documents(real_documents, policy) == []


def test_every_config_value_is_checked_or_exempt_with_a_reason(policy) -> None:
    leaves = [key for key, _ in config_leaves(policy.model_dump(mode="json"))]
    facts = {f.key for f in policy_facts(policy)}
    for key in leaves:
        assert key in facts or is_exempt(key), key
    assert all(reason for reason in consistency.EXEMPT_KEYS.values())


def test_the_key_numbers_are_stated_in_their_documents(real_documents) -> None:
    docs = _by_id(real_documents)
    assert "$15.00" in docs["late-fees-and-waivers"].body
    assert "10 days" in docs["late-fees-and-waivers"].body
    assert "14 calendar days" in docs["promise-to-pay"].body
    assert "1-800-555-0199" in docs["contact-preferences-and-hours"].body
    assert "call or text 988" in docs["extra-support"].body


@pytest.mark.parametrize(
    ("planted", "snippet"),
    [
        ("Missing a payment adds a $25.00 late fee.", "$25.00"),
        ("The date can be up to 21 days away.", "21 days"),
        ("The date can be up to twenty-one days away.", "twenty-one days"),
        ("A promise can be made if you are no more than 30 days past due.", "30 days"),
        ("You can make a promise twice in any 12 months.", "twice"),
        ("Each loan can have 2 open promises.", "2 open promises"),
        ("Call us at 1-800-555-0100.", "1-800-555-0100"),
    ],
)
def test_a_planted_wrong_number_in_the_promise_document_is_caught(
    real_documents, policy, planted: str, snippet: str
) -> None:
    docs = _by_id(real_documents)
    body = docs["promise-to-pay"].body + f"\n\n## Planted\n{planted}\n"
    drifts = check_documents(_with_body(real_documents, "promise-to-pay", body), policy)
    assert drifts, planted
    assert all(d.doc_id == "promise-to-pay" and d.problem == "unexpected" for d in drifts)
    assert any(snippet.split("-")[-1] in d.detail for d in drifts)


def test_a_number_removed_from_its_document_is_reported_missing(real_documents, policy) -> None:
    docs = _by_id(real_documents)
    body = docs["late-fees-and-waivers"].body.replace("$15.00", "a fee")
    drifts = check_documents(_with_body(real_documents, "late-fees-and-waivers", body), policy)
    assert [(d.doc_id, d.problem) for d in drifts] == [("late-fees-and-waivers", "missing")]
    assert "fees.late_fee" in drifts[0].detail


def test_a_changed_config_makes_the_documents_drift(real_documents, policy) -> None:
    changed = _policy_with(policy, "fees", late_fee="20.00")
    drifts = check_documents(real_documents, changed)
    problems = {(d.doc_id, d.problem) for d in drifts}
    assert problems == {
        ("late-fees-and-waivers", "missing"),
        ("late-fees-and-waivers", "unexpected"),
    }
    assert any("$15.00" in d.detail for d in drifts)

    longer = _policy_with(policy, "promise_to_pay", max_days_ahead=21)
    drifted_docs = {d.doc_id for d in check_documents(real_documents, longer)}
    assert drifted_docs == {"promise-to-pay", "hardship-help"}


def test_a_missing_document_is_reported(real_documents, policy) -> None:
    without = [d for d in real_documents if d.doc_id != "deferral"]
    drifts = check_documents(without, policy)
    assert {d.problem for d in drifts} == {"missing_document"}
    assert {d.doc_id for d in drifts} == {"deferral"}


def test_a_config_value_without_a_document_mapping_fails_loudly(policy, monkeypatch) -> None:
    mapping = dict(consistency.FACT_DOCUMENTS)
    del mapping["deferral.fee"]
    monkeypatch.setattr(consistency, "FACT_DOCUMENTS", mapping)
    with pytest.raises(KeyError, match=r"deferral\.fee"):
        policy_facts(policy)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a late fee of $15.00", [("money", "15.00")]),
        ("pay $1,250 today", [("money", "1250.00")]),
        ("within 14 calendar days", [("days", "14")]),
        ("valid for 24 hours", [("hours", "24")]),
        ("a 12-month window", [("months", "12")]),
        ("from the 1st to the 28th", [("day_of_month", "1"), ("day_of_month", "28")]),
        ("once in any 12 months", [("times", "1"), ("months", "12")]),
        ("the 5-digit postal code", [("digits", "5")]),
        ("after 3 failed attempts", [("attempts", "3")]),
        ("one open promise to pay", [("open_promises", "1")]),
        ("call or text 988", [("number", "988")]),
        ("once you have paid", []),
        ("a one-time link", []),
    ],
)
def test_quantities_are_read_from_text(text: str, expected: list[tuple[str, str]]) -> None:
    quantities, _ = extract_quantities(text)
    assert [(q.kind, q.value) for q in quantities] == expected


def test_literal_config_strings_are_matched_across_line_breaks() -> None:
    hours = "Monday to Friday, 8:00 a.m. to 8:00 p.m. Eastern time"
    quantities, found = extract_quantities(
        "Open Monday to Friday, 8:00\na.m. to 8:00 p.m. Eastern time.", [hours]
    )
    assert found == {hours}
    assert quantities == []
