"""The offline engine's typed dialogue state: JSON round trips, the older dict shapes
from existing checkpoints, and the pure rules that pick a loan."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from agent.engine.offline import dialogue
from agent.engine.offline.state import (
    DialogueState,
    LoanChoice,
    Slots,
    Task,
    TaskStatus,
    waiting,
)


def _promise(**slots: object) -> Task:
    return Task(kind="promise_to_pay", slots=Slots.model_validate(slots))


def test_state_round_trips_through_plain_json() -> None:
    state = DialogueState(
        awaiting="loan_choice",
        pending_tasks=[_promise(amount="110", date="2026-03-13").at(TaskStatus.AWAITING_LOAN)],
        loan_choice=LoanChoice(loans=["L400", "L401"], past_due={"L401": "$110.00"}),
    )
    dumped = state.dump()
    text = json.dumps(dumped)  # what the checkpointer stores: plain JSON values only
    loaded = DialogueState.load(json.loads(text))
    assert loaded == state
    task = loaded.pending_tasks[0]
    assert task.slots.amount == Decimal("110")
    assert task.slots.date == date(2026, 3, 13)
    assert task.status is TaskStatus.AWAITING_LOAN


def test_old_dict_state_loads() -> None:
    """State written before the models: ``intent`` keys, the loan choice at the top."""
    old = {
        "awaiting": "loan_choice",
        "pending_tasks": [
            {
                "intent": "payment_link",
                "score": 1.0,
                "cue": True,
                "similarity": 0.81,
                "slots": {"amount": "50.00"},
            }
        ],
        "loans": ["L300", "L301"],
        "balances": {"L300": "$6,124.05", "L301": "$971.54"},
        "past_due": {"L300": "$0.00", "L301": "$0.00"},
        "identity_partial": {"dob": "1965-02-14"},
        "last_read": {"intent": "balance", "loans": ["L300"]},
        "not_understood": 1,
        "some_key_from_the_future": {"x": 1},
    }
    state = DialogueState.load(old)
    assert state.awaiting == "loan_choice"
    assert state.pending_tasks[0].kind == "payment_link"
    assert state.pending_tasks[0].slots.amount == Decimal("50.00")
    assert state.loan_choice is not None and state.loan_choice.loans == ["L300", "L301"]
    assert state.loan_choice.balances["L301"] == "$971.54"
    assert state.identity_partial.dob == "1965-02-14"
    assert state.last_read is not None and state.last_read.kind == "balance"
    assert state.not_understood == 1


@pytest.mark.parametrize("raw", [None, {}, {"awaiting": None, "pending_tasks": None}])
def test_missing_state_is_the_default(raw: object) -> None:
    assert DialogueState.load(raw) == DialogueState()


def test_unreadable_state_is_no_state() -> None:
    assert DialogueState.load({"pending_tasks": "not a list"}) == DialogueState()


def test_old_task_with_then_and_escalation_slots() -> None:
    waiver = Task.model_validate(
        {
            "intent": "fee_waiver",
            "slots": {},
            "then": {"intent": "payment_link", "slots": {"amount_keyword": "past_due"}},
        }
    )
    assert waiver.then is not None and waiver.then.slots.amount_keyword == "past_due"
    escalation = Task.model_validate(
        {"intent": "escalate", "slots": {"reason": "hardship", "beyond_promise_window": True}}
    )
    assert escalation.slots.reason == "hardship" and escalation.slots.beyond_promise_window


def test_a_correction_replaces_the_slot() -> None:
    task = _promise(amount_keyword="past_due", date="2026-03-13")
    corrected = dialogue.merge(task, {"amount": "90"})
    assert corrected.slots.amount == Decimal("90") and corrected.slots.amount_keyword is None
    moved = dialogue.merge(corrected, {"date": "2026-03-16"})
    assert moved.slots.date == date(2026, 3, 16) and moved.slots.amount == Decimal("90")
    assert task.slots.amount_keyword == "past_due"  # the original is unchanged


def test_waiting_sets_the_status() -> None:
    task = _promise(amount="50", date="2026-03-13")
    assert waiting("confirmation", task).task.status is TaskStatus.PROPOSED  # type: ignore[union-attr]
    assert waiting("slot:date", task).task.status is TaskStatus.AWAITING_SLOT  # type: ignore[union-attr]
    assert waiting("slot:date", task).asked_slot == "date"
    assert waiting("confirmation", task).waits_for_task()
    assert not DialogueState(awaiting="offer_human").waits_for_task()


def test_merged_takes_only_what_the_other_set() -> None:
    first = DialogueState(last_read={"kind": "balance", "loans": ["L100"]})
    second = waiting("confirmation", _promise(amount="10", date="2026-03-13"))
    merged = first.merged(second)
    assert merged.last_read is not None and merged.task is not None
    assert merged.awaiting == "confirmation"


def test_state_is_printable() -> None:
    state = DialogueState(
        awaiting="loan_choice",
        pending_tasks=[_promise(amount="110", date="2026-03-13", loan_id=None)],
        loan_choice=LoanChoice(loans=["L400", "L401"]),
    )
    text = str(state)
    assert "awaiting: loan_choice" in text
    assert "promise_to_pay(amount=110, date=2026-03-13) [new]" in text
    assert "loan choice: L400, L401" in text


SUMMARIES = [
    {
        "loan_id": "L400",
        "past_due_amount": "$0.00",
        "payoff_amount_today": "$2,209.76",
        "unpaid_fees": "$0.00",
    },
    {
        "loan_id": "L401",
        "past_due_amount": "$110.00",
        "payoff_amount_today": "$1,922.96",
        "unpaid_fees": "$15.00",
    },
]


@pytest.mark.parametrize(
    ("task", "text", "expected"),
    [
        (_promise(amount="110", date="2026-03-13"), "I can pay $110 on Friday", "L401"),
        (_promise(amount="2209.76"), "pay off 2,209.76", "L400"),
        (_promise(amount="120", date="2026-03-13"), "I'll send $120 Friday", None),  # installment
        (_promise(amount_keyword="past_due"), "what I'm behind on, Friday", "L401"),
        (Task(kind="payment_link"), "a link for the late one", "L401"),
        (Task(kind="fee_waiver"), "waive the fee", "L401"),
        (Task(kind="payoff"), "the payoff on the one that's behind", "L401"),
        (Task(kind="payoff"), "what's my payoff", None),
    ],
)
def test_fitting_loan(task: Task, text: str, expected: str | None) -> None:
    assert dialogue.fitting_loan(task, text, SUMMARIES) == expected


def test_both_loans_behind_fit_no_loan_by_lateness() -> None:
    both = [dict(s, past_due_amount="$75.00") for s in SUMMARIES]
    assert dialogue.fitting_loan(_promise(amount_keyword="past_due"), "the late one", both) is None
    assert dialogue.fitting_loan(_promise(amount="75"), "$75", both) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the one with $110 past due", "L401"),
        ("the 110 one", "L401"),
        ("the one where I owe 110", "L401"),
        ("the $1,922.96 one", "L401"),
        ("the one with 2209.76", "L400"),
        ("the 11 one", None),
    ],
)
def test_chosen_loan_by_amount(text: str, expected: str | None) -> None:
    loans = ["L400", "L401"]
    past_due = {"L400": "$0.00", "L401": "$110.00"}
    balances = {"L400": "$2,209.76", "L401": "$1,922.96"}
    assert dialogue.chosen_loan(text, None, loans, balances, past_due) == expected


def test_digression() -> None:
    balance = Task(kind="balance", cue=True)
    assert dialogue.digression([balance], ["balance"])
    assert not dialogue.digression([balance], ["deny", "balance"])  # "no, what's my balance"
    assert not dialogue.digression([Task(kind="payment_link", cue=True)], ["payment_link"])
    assert not dialogue.digression([Task(kind="thanks")], ["thanks"])
