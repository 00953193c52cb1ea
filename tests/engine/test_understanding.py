"""Intent understanding of the offline engine: message → plan (tasks with slots, identity
details), on the real local embedder; plus the pure helpers for contact changes and for
answers to a question the engine asked."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agent.engine.offline import dialogue
from agent.engine.offline.intents import IntentMatcher
from agent.engine.offline.state import Task
from agent.engine.offline.understanding import (
    cannot_pay_until,
    contact_changes,
    identity_slots,
    understand,
)

TODAY = date(2026, 3, 10)  # a Tuesday


def plan_of(matcher: IntentMatcher, text: str) -> dict[str, Any]:
    return understand(matcher, text, TODAY)


def intents_of(matcher: IntentMatcher, text: str) -> list[str]:
    return [t["intent"] for t in plan_of(matcher, text)["tasks"]]


def task(matcher: IntentMatcher, text: str, intent: str) -> dict[str, Any]:
    tasks = {t["intent"]: t for t in plan_of(matcher, text)["tasks"]}
    assert intent in tasks, f"{text!r} → {list(tasks)}"
    return tasks[intent]


# --- one intent per message, in many wordings ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what's my balance?", "balance"),
        ("how much money do I still owe you guys", "balance"),
        ("hey what do i owe u guys rn", "balance"),
        ("can you pull up my account balance", "balance"),
        ("wat is my balanse", "balance"),
        ("how much is overdue?", "past_due"),
        ("how far behind am I?", "past_due"),
        ("am I all caught up?", "past_due"),
        ("how much is ovedue on my acount", "past_due"),
        ("when is my next payment due", "next_payment"),
        ("whens my payment due", "next_payment"),
        ("what day is my bill due this month", "next_payment"),
        ("how much is my monthly payment?", "next_payment"),
        ("what's my payoff amount", "payoff"),
        ("wats my payof amount", "payoff"),
        ("I want to close out my loan, whats the total", "payoff"),
        ("show me my payment history", "payment_history"),
        ("did my last payment go through", "payment_history"),
        ("why was I charged a late fee", "fees_info"),
        ("send me a payment link", "payment_link"),
        ("I'd like to pay $50 right now", "payment_link"),
        ("can I pay $200 online today", "payment_link"),
        ("I want to pay the overdue amount now", "payment_link"),
        ("snd me a pymnt link for $165", "payment_link"),
        ("I can pay $165 this Friday", "promise_to_pay"),
        ("I'll have the money on the 25th", "promise_to_pay"),
        ("I can make a payment next Tuesday", "promise_to_pay"),
        ("can I pay the past due amount on the 20th?", "promise_to_pay"),
        ("could I pay what's past due in two weeks?", "promise_to_pay"),
        ("i cn pay 165 on fridy", "promise_to_pay"),
        ("ima pay u 165 on friday fr", "promise_to_pay"),
        ("I want to make a promise to pay", "promise_to_pay"),
        ("can I change my due date to the 20th?", "due_date_change"),
        ("I want my due date on the 12th", "due_date_change"),
        ("I need to change when my payment is due", "due_date_change"),
        ("chnage my due date to the 10th pls", "due_date_change"),
        ("can I skip this month's payment?", "deferral"),
        ("is there a way to push this payment to the end of my loan?", "deferral"),
        ("can i get a defferal on my paymnet", "deferral"),
        ("can you waive the late fee?", "fee_waiver"),
        ("I'd like the late fee reversed", "fee_waiver"),
        ("plz waive teh late fe", "fee_waiver"),
        ("please stop texting me", "contact_preferences"),
        ("pls stop txting me", "contact_preferences"),
        ("quit blowing up my phone with calls", "contact_preferences"),
        ("I'd rather you didn't call me at work, email is fine", "contact_preferences"),
        ("how does a deferral work", "policy_question"),
        ("what is the grace period", "policy_question"),
        ("which loans do I have with you?", "loan_list"),
        ("hello", "greeting"),
        ("what can you help me with?", "greeting"),
        ("thanks!", "thanks"),
        ("ok bye", "goodbye"),
        ("never mind", "deny"),
        ("yes please", "affirm"),
        ("yeah go ahead", "affirm"),
        ("is this a real person?", "about_assistant"),
        ("do you offer credit cards?", "out_of_scope"),
        ("write me a poem about cats", "out_of_scope"),
        ("tell me a joke", "out_of_scope"),
    ],
)
def test_intent(intent_matcher: IntentMatcher, text: str, intent: str) -> None:
    assert intents_of(intent_matcher, text)[:1] == [intent]


@pytest.mark.parametrize(
    "text",
    [
        "1988-04-12, zip 73301",
        "my loan number is L100",
        "04/12/1988 73301",
        "blorp zzzt qwerty",
    ],
)
def test_no_task(intent_matcher: IntentMatcher, text: str) -> None:
    assert intents_of(intent_matcher, text) == []


# --- structure: promises, links and what goes with them -------------------------------------


def test_promise_slots(intent_matcher: IntentMatcher) -> None:
    slots = task(intent_matcher, "I can pay the $165 this Friday", "promise_to_pay")["slots"]
    assert slots["amount"] == "165.00"
    assert slots["date"] == "2026-03-13"


def test_promise_named_amount(intent_matcher: IntentMatcher) -> None:
    slots = task(intent_matcher, "can I pay the past due on the 20th?", "promise_to_pay")["slots"]
    assert slots["amount_keyword"] == "past_due"
    assert slots["date"] == "2026-03-20"


def test_promise_that_names_past_due_is_one_task(intent_matcher: IntentMatcher) -> None:
    assert intents_of(intent_matcher, "I can pay the past due amount on the 20th") == [
        "promise_to_pay"
    ]


def test_part_now_and_the_rest_later_is_a_link_and_a_promise(
    intent_matcher: IntentMatcher,
) -> None:
    tasks = plan_of(intent_matcher, "can I pay $50 now and the rest on Friday?")["tasks"]
    assert [t["intent"] for t in tasks] == ["payment_link", "promise_to_pay"]
    assert tasks[0]["slots"] == {"amount": "50.00"}
    assert tasks[1]["slots"] == {
        "amount_keyword": "remainder",
        "paid_now": "50.00",
        "date": "2026-03-13",
    }


@pytest.mark.parametrize(
    "text",
    [
        "if I pay $50 now what would the rest be?",  # a question, not an arrangement
        "I can pay $50 now and the rest today too",  # all of it today
        "can you send me the rest of the info",  # no payment at all
    ],
)
def test_not_a_split_payment(intent_matcher: IntentMatcher, text: str) -> None:
    tasks = plan_of(intent_matcher, text)["tasks"]
    assert not any(t.get("slots", {}).get("amount_keyword") == "remainder" for t in tasks)


def test_question_and_promise_are_two_tasks(intent_matcher: IntentMatcher) -> None:
    intents = intents_of(intent_matcher, "how much is overdue? I can pay it friday")
    assert intents == ["past_due", "promise_to_pay"]  # reads first


def test_question_and_link_are_two_tasks(intent_matcher: IntentMatcher) -> None:
    intents = intents_of(intent_matcher, "what's my past due and can you send me a link to pay it")
    assert set(intents) == {"past_due", "payment_link"}


def test_paying_now_with_card_is_a_link(intent_matcher: IntentMatcher) -> None:
    assert intents_of(intent_matcher, "here is my visa [card number], pay $165 with it") == [
        "payment_link"
    ]


def test_new_job_is_not_a_promise(intent_matcher: IntentMatcher) -> None:
    assert intents_of(
        intent_matcher, "I got a new job so I can pay a bit more now. what's my payoff?"
    ) == ["payoff"]


def test_hypothetical_payoff_is_a_question(intent_matcher: IntentMatcher) -> None:
    assert intents_of(intent_matcher, "ok and what if I wanted to pay off everything today?") == [
        "payoff"
    ]


def test_due_date_change_is_not_a_promise(intent_matcher: IntentMatcher) -> None:
    text = "my payday moved to the 15th, can you move my due date to match?"
    assert intents_of(intent_matcher, text) == ["due_date_change"]
    assert task(intent_matcher, text, "due_date_change")["slots"]["day"] == 15


def test_policy_question_does_not_request_the_action(intent_matcher: IntentMatcher) -> None:
    assert "deferral" not in intents_of(intent_matcher, "how does a deferral work?")


def test_two_intents_with_a_write_last(intent_matcher: IntentMatcher) -> None:
    intents = intents_of(
        intent_matcher, "when's my next payment? also I want to change my due date to the 20th"
    )
    assert intents == ["next_payment", "due_date_change"]


@pytest.mark.parametrize(
    ("text", "intents"),
    [
        ("I want to pay my past due", ["payment_link"]),
        ("can you take $50 from my account", ["payment_link"]),
        ("I already scheduled a payment for friday", ["payment_history"]),
        ("will you charge me a fee if I pay on the 20th?", ["policy_question"]),
        ("I'll be a few days late", ["promise_to_pay"]),
        ("I can't pay until the 30th", ["promise_to_pay"]),
        ("I moved, can I update my address", ["account_admin"]),
        ("what's your phone number", ["contact_info"]),
        ("I'll call you back later", ["goodbye"]),
        ("can I split my payment in two", []),  # no write from a weak guess
    ],
)
def test_structure_of_payment_talk(
    intent_matcher: IntentMatcher, text: str, intents: list[str]
) -> None:
    assert intents_of(intent_matcher, text) == intents


def test_loan_number_in_a_task(intent_matcher: IntentMatcher) -> None:
    slots = task(intent_matcher, "what's the payoff on loan L531?", "payoff")["slots"]
    assert slots["loan_id"] == "L531"


def test_link_amount_words(intent_matcher: IntentMatcher) -> None:
    slots = task(intent_matcher, "text me a link for the full amount", "payment_link")["slots"]
    assert slots["amount_keyword"] == "payoff"


# --- escalations the engine acts on itself --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("the amount you say I owe is wrong, my balance should be much lower", "dispute"),
        ("that's not right, I never missed a payment", "dispute"),
        ("my payment was never credited", "dispute"),
        ("let me talk to a real person", "human_request"),
        ("can you connect me with a supervisor", "human_request"),
        ("I want a representative", "human_request"),
    ],
)
def test_escalation_cues(intent_matcher: IntentMatcher, text: str, reason: str) -> None:
    tasks = plan_of(intent_matcher, text)["tasks"]
    assert tasks == [{"intent": "escalate", "score": 1.0, "cue": True, "slots": {"reason": reason}}]


@pytest.mark.parametrize(
    "text",
    [
        "is this a real person?",
        "the agent was helpful, thanks",
        "what's the right amount to pay?",
        "I want to pay what I owe",
    ],
)
def test_no_escalation_cue(intent_matcher: IntentMatcher, text: str) -> None:
    assert "escalate" not in intents_of(intent_matcher, text)


# --- identity details ---------------------------------------------------------------------


def test_identity_details_from_the_original_text(intent_matcher: IntentMatcher) -> None:
    plan = plan_of(
        intent_matcher, "This is Maria Lopez, DOB 04/12/1988, ZIP 73301. what's my payoff?"
    )
    assert plan["identity"] == {
        "dob": "1988-04-12",
        "zip": "73301",
        "loan_number": None,
        "phone": None,
    }
    assert [t["intent"] for t in plan["tasks"]] == ["payoff"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my loan number is L100", {"loan_number": "L100"}),
        ("my phone is (512) 555-0100", {"phone": "5125550100"}),
        ("dob 4-12-88, zip 73301", {"dob": "1988-04-12", "zip": "73301"}),
        ("jan 5 1990. zip is 08540", {"dob": "1990-01-05", "zip": "08540"}),
        ("I will pay $165 on 3/18/2026", {"dob": None}),  # a payment date is no birthday
    ],
)
def test_identity_slots(text: str, expected: dict[str, Any]) -> None:
    found = identity_slots(text, TODAY)
    for key, value in expected.items():
        assert found[key] == value


# --- contact changes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("please stop texting me", {"sms": False}),
        ("no more emails or texts please", {"sms": False, "email": False}),
        ("only contact me by email", {"sms": False, "email": True, "calls": False}),
        ("texts are fine but please no phone calls", {"sms": True, "calls": False}),
        ("I'd rather you didn't call me at work, email is fine", {"calls": False, "email": True}),
        ("only call me between 9am and 5pm", {"calls": True, "contact_hours": "09:00-17:00"}),
        ("stop contacting me", {"do_not_contact": True}),
        ("don't contact me at all anymore, by any method", {"do_not_contact": True}),
        ("just leave me alone, no calls no texts no emails, nothing", {"do_not_contact": True}),
        ("you can text me again", {"sms": True}),
        ("stop all the texts please", {"sms": False}),
        ("stop all contact", {"do_not_contact": True}),
        ("I want to update my contact preferences", {}),
    ],
)
def test_contact_changes(text: str, expected: dict[str, Any]) -> None:
    assert contact_changes(text) == expected


# --- answers to a question the engine asked ------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("promise_to_pay", "the 20th", {"date": "2026-03-20"}),
        ("promise_to_pay", "$90", {"amount": "90.00"}),
        ("promise_to_pay", "wait, make it Friday", {"date": "2026-03-13"}),
        ("payment_link", "my next installment", {"amount_keyword": "next_due"}),
        ("payment_link", "$75", {"amount": "75.00"}),
        ("due_date_change", "12", {"day": 12}),
        ("due_date_change", "fine, the 28th then", {"day": 28}),
        ("contact_preferences", "no more calls", {"changes": {"calls": False}}),
    ],
)
def test_fresh_values(intent: str, text: str, expected: dict[str, Any]) -> None:
    assert dialogue.fresh_values(intent, text, TODAY, None) == expected


def test_answer_to_a_slot_question(intent_matcher: IntentMatcher) -> None:
    tasks = plan_of(intent_matcher, "the 15th")["tasks"]
    values = dialogue.fresh_values("due_date_change", "the 15th", TODAY, None)
    assert dialogue.answers_pending("due_date_change", "day", tasks, values, "the 15th")


def test_question_while_a_proposal_waits_is_new(intent_matcher: IntentMatcher) -> None:
    text = "when is my next payment due?"
    tasks = plan_of(intent_matcher, text)["tasks"]
    values = dialogue.fresh_values("promise_to_pay", text, TODAY, None)
    assert not dialogue.answers_pending("promise_to_pay", "confirmation", tasks, values, text)


def test_named_amount_answers_an_amount_question(intent_matcher: IntentMatcher) -> None:
    text = "the payoff amount"
    tasks = plan_of(intent_matcher, text)["tasks"]
    values = dialogue.fresh_values("payment_link", text, TODAY, None)
    assert dialogue.answers_pending("payment_link", "amount", tasks, values, text)


def test_merge_replaces_the_named_amount() -> None:
    pending = Task.model_validate(
        {"intent": "promise_to_pay", "slots": {"amount_keyword": "past_due", "date": "2026-03-13"}}
    )
    merged = dialogue.merge(pending, {"amount": "90.00"})
    assert merged.slots.filled() == {"amount": "90.00", "date": "2026-03-13"}


@pytest.mark.parametrize(
    ("text", "loan_number", "expected"),
    [
        ("L301 please", "L301", "L301"),
        ("the second one", None, "L301"),
        ("the first loan", None, "L300"),
        ("the last one", None, "L301"),
        ("300", None, "L300"),
        ("whatever", None, None),
    ],
)
def test_chosen_loan(text: str, loan_number: str | None, expected: str | None) -> None:
    assert dialogue.chosen_loan(text, loan_number, ["L300", "L301"]) == expected


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("the L300 loan", True),
        ("L301 please", True),
        ("$90", True),
        ("the 20th", True),
        ("what's my payoff on L300 and when is it due", False),
    ],
)
def test_is_bare(text: str, bare: bool) -> None:
    assert dialogue.is_bare(text) is bare


@pytest.mark.parametrize(
    ("text", "until"),
    [
        ("honestly i won't have anything until june, living paycheck to paycheck", "2026-06-01"),
        ("I won't have the money until january", "2027-01-01"),
        ("i can't pay until next month", "2026-04-10"),
        ("no money till the 20th", "2026-03-20"),
    ],
)
def test_cannot_pay_until(text: str, until: str) -> None:
    found = cannot_pay_until(text, TODAY)
    assert found is not None and found.isoformat() == until


@pytest.mark.parametrize(
    "text",
    ["no problem, I'll pay before June 30", "I can pay on Friday", "don't worry about it"],
)
def test_not_cannot_pay_until(text: str) -> None:
    assert cannot_pay_until(text, TODAY) is None


def test_cannot_pay_beyond_the_promise_window_is_hardship(intent_matcher: IntentMatcher) -> None:
    far = understand(intent_matcher, "i won't have anything until june", TODAY, promise_days=14)
    assert [t["intent"] for t in far["tasks"]] == ["escalate"]
    assert far["tasks"][0]["slots"] == {"reason": "hardship", "beyond_promise_window": True}
    near = understand(intent_matcher, "i can't pay until friday", TODAY, promise_days=14)
    assert "escalate" not in [t["intent"] for t in near["tasks"]]


def test_a_loan_is_chosen_by_balance_or_by_being_behind() -> None:
    loans = ["HB-7001", "HB-7002"]
    balances = {"HB-7001": "$4,041.42", "HB-7002": "$804.60"}
    past_due = {"HB-7001": "$0.00", "HB-7002": "$95.00"}
    assert dialogue.chosen_loan("the one with the smaller balance", None, loans, balances) == (
        "HB-7002"
    )
    assert dialogue.chosen_loan("the bigger one", None, loans, balances) == "HB-7001"
    assert dialogue.chosen_loan("the one that's behind", None, loans, None, past_due) == ("HB-7002")
    assert dialogue.chosen_loan("the one that's behind", None, loans) is None  # unknown
    assert dialogue.chosen_loan("the first one", None, loans, balances) == "HB-7001"


@pytest.mark.parametrize(
    ("text", "amount"),
    [("hmm no, make it 120 instead", "120"), ("how about $75.50", "75.50")],
)
def test_a_corrected_amount(text: str, amount: str) -> None:
    values = dialogue.fresh_values("promise_to_pay", text, TODAY, None)
    assert values["amount"].startswith(amount)


def test_a_day_of_the_month_is_not_a_corrected_amount() -> None:
    values = dialogue.fresh_values("promise_to_pay", "make it 25", TODAY, None)
    assert "amount" not in values


def test_a_link_after_a_waiver_waits_for_the_waiver(intent_matcher: IntentMatcher) -> None:
    tasks = plan_of(
        intent_matcher,
        "can you waive the late fee and then send me a link to pay the rest of what's past due",
    )["tasks"]
    assert [t["intent"] for t in tasks] == ["fee_waiver"]
    assert tasks[0]["then"] == {"intent": "payment_link", "slots": {"amount_keyword": "past_due"}}
    both = plan_of(intent_matcher, "waive the late fee and send me a link for $50")["tasks"]
    assert {t["intent"] for t in both} == {"fee_waiver", "payment_link"}  # no "then": both now
