"""The offline engine's task handlers: one ``_do_<intent>`` per intent.

Each handler looks at the tool results of this turn (tagged per task) and either asks
for the next tool call or writes its part of the reply. Every figure or date in a reply
comes from a tool result of this turn (or the policy configuration): a handler never
echoes an amount or a date the customer typed before a tool has checked it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.engine.offline.state import (
    DialogueState,
    LastRead,
    LoanChoice,
    Slots,
    Task,
    TaskStatus,
    tasks_from_plan,
    waiting,
)
from agent.engine.templates import Templates, joined, listed, reply_language, spaced
from agent.language.confirmation import Answer, Proposal, confirmation_of
from agent.language.detect import LANGUAGE_NAMES
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date, format_money, ordinal

PENDING_TOOL = {
    "promise_to_pay": "promise_to_pay",
    "due_date_change": "change_due_date",
    "deferral": "request_deferral",
    "fee_waiver": "waive_late_fee",
}
PROPOSAL_NAMES = {
    "promise_to_pay": "ptp",
    "due_date_change": "due_date",
    "deferral": "deferral",
    "fee_waiver": "fee_waiver",
}
LOAN_ERRORS = {
    "loan_choice_needed",
    "identity_not_verified",
    "unknown_loan",
    "internal_error",
    "no_loans",
}
Tasks = list[Task]


@dataclass
class Turn:
    """What one model call knows about the current turn."""

    facts: dict[str, Any]
    text: str  # normalised customer text
    raw_text: str
    plan: dict[str, Any]
    state: DialogueState  # from the previous reply
    results: list[tuple[str, dict[str, Any]]]  # (tool name, parsed result), in order
    calls_made: int
    tasks: Tasks = field(init=False)  # the plan's tasks, typed

    def __post_init__(self) -> None:
        self.tasks = tasks_from_plan(self.plan["tasks"])

    def result(self, name: str, tag: str | None = None) -> dict[str, Any] | None:
        for tool_name, value in reversed(self.results):
            if tool_name == name and (tag is None or value.get("_tag") == tag):
                return value
        return None

    @property
    def today(self) -> date:
        return date.fromisoformat(self.facts["today"])

    @property
    def language(self) -> str:
        return str(self.facts.get("language") or "en")

    @property
    def intents(self) -> list[str]:
        return [t.kind for t in self.tasks]

    @property
    def loan_number(self) -> str | None:
        return self.plan["identity"].get("loan_number")


@dataclass
class Step:
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    tag: str | None = None
    text: str | None = None
    state: DialogueState = field(default_factory=DialogueState)


class TaskHandlers:
    """Task handlers shared by the dialogue policy (:class:`~.brain.OfflineBrain`)."""

    t: Templates
    policy: PolicyConfig

    def _escalate(self, turn: Turn, reason: str, summary: str) -> Step:
        if turn.result("escalate_to_human"):
            return Step(text=self.t.render(f"escalated.{reason}"))
        return Step("escalate_to_human", {"reason": reason, "summary": summary})

    # --- tasks -------------------------------------------------------------------------

    def _task(self, turn: Turn, index: int, task: Task) -> Step:
        handler = getattr(self, f"_do_{task.kind}", None)
        if handler is None:
            return Step(text=self.t.render("not_understood"))
        return handler(turn, index, task)

    def _do_escalate(self, turn: Turn, index: int, task: Task) -> Step:
        reason = task.slots.reason or "human_request"
        summary = f"The customer's message suggests {reason.replace('_', ' ')}."
        if not task.slots.beyond_promise_window:
            return self._escalate(turn, reason, summary)
        # "I can't pay until the 30th", beyond the promise window: the rule, then a person.
        summary = "The customer cannot pay within the promise-to-pay window."
        step = self._escalate(turn, reason, summary)
        if step.text:
            days = self._ptp_days()
            latest = format_date(turn.today + timedelta(days=days))
            rule = self.t.render("hardship_beyond_window", latest_date=latest, max_days_ahead=days)
            step = Step(text=f"{rule} {step.text}")
        return step

    def _summary(self, turn: Turn, index: int, task: Task) -> dict[str, Any] | Step:
        tag = f"summary:{index}"
        result = turn.result("get_account_summary", tag)
        if result is None:
            return Step("get_account_summary", {"loan_id": task.loan_id}, tag=tag)
        return result

    def _loans_or_refusal(self, result: dict[str, Any], task: Task) -> list[dict[str, Any]] | Step:
        if result.get("status") != "ok":
            return self._refusal(result, task)
        return result.get("loans", [])

    def _tool_message(self, result: dict[str, Any]) -> str:
        """A tool's refusal in the reply's language: its rule said from ``tool_messages``
        with the figures the tool gave, or else the tool's own (English) message."""
        error, values = str(result.get("error") or ""), result.get("values")
        if reply_language() == "en":
            return str(result.get("message") or "")
        if isinstance(values, dict):
            for key in (f"tool_messages.{error}_from", f"tool_messages.{error}"):
                if key.endswith("_from") and not values.get("eligible_from"):
                    continue
                if self.t.has(key):
                    try:
                        return self.t.render(key, **values)
                    except (KeyError, IndexError):
                        break
        elif self.t.has(f"tool_messages.{error}"):
            return self.t.render(f"tool_messages.{error}")
        return str(result.get("message") or "")

    def _refusal(self, result: dict[str, Any], task: Task) -> Step:
        error = result.get("error")
        if error == "loan_choice_needed":
            return self._which_loan(result.get("loans", []), task, None, result.get("past_due"))
        if error == "identity_not_verified":
            return Step(
                text=self.t.render("ask_verification"),
                state=DialogueState(
                    awaiting="verification",
                    pending_tasks=[task.at(TaskStatus.AWAITING_VERIFICATION)],
                ),
            )
        if error == "internal_error":
            return Step(text=self.t.render("tool_error"))
        return Step(text=self._tool_message(result) or self.t.render("tool_error"))

    def _which_loan(
        self,
        loans: list[str],
        task: Task,
        balances: dict[str, str] | None = None,
        past_due: dict[str, str] | None = None,
    ) -> Step:
        """Ask which loan, keeping the task and its slots to go on with after the answer;
        ``balances`` (payoff today per loan) and ``past_due`` let "the smaller one" or
        "the one that's behind" answer."""
        state = DialogueState(
            awaiting="loan_choice",
            pending_tasks=[task.at(TaskStatus.AWAITING_LOAN)],
            loan_choice=LoanChoice(loans=loans, balances=balances or {}, past_due=past_due or {}),
        )
        return Step(text=self.t.render("which_loan", loans=", ".join(loans)), state=state)

    def _read_answer(
        self, turn: Turn, index: int, task: Task, render: Callable[[dict[str, Any]], str]
    ) -> Step:
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(summary, task)
        if isinstance(loans, Step):
            return loans
        # Remembered so that "and the other one?" can ask the same about the other loan.
        answered = LastRead(kind=task.kind, loans=[loan["loan_id"] for loan in loans])
        return Step(
            text=joined(render(loan) for loan in loans),
            state=DialogueState(last_read=answered),
        )

    def _do_balance(self, turn: Turn, index: int, task: Task) -> Step:
        breakdown = re.search(r"\b(principal|interest)\b", turn.text, re.IGNORECASE)

        def render(loan: dict[str, Any]) -> str:
            if breakdown or loan["next_due_date"] is None:
                return self.t.render("payoff_answer", **loan)
            if loan["days_past_due"] > 0 or loan["past_due_amount"] != "$0.00":
                past = self.t.render("past_due_part_some", **loan)
            else:
                past = self.t.render("past_due_part_none")
            return self.t.render("summary_one_loan", past_due_part=past, **loan)

        return self._read_answer(turn, index, task, render)

    def _do_loan_list(self, turn: Turn, index: int, task: Task) -> Step:
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(summary, task)
        if isinstance(loans, Step):
            return loans
        ids = ", ".join(loan["loan_id"] for loan in loans)
        return Step(
            text=self.t.render(
                "loan_list", count=len(loans), loans=ids, plural="" if len(loans) == 1 else "s"
            )
        )

    def _do_past_due(self, turn: Turn, index: int, task: Task) -> Step:
        def render(loan: dict[str, Any]) -> str:
            if loan["past_due_amount"] == "$0.00":
                return self.t.render("past_due_none", **loan)
            return self.t.render("past_due_answer", **loan)

        return self._read_answer(turn, index, task, render)

    def _do_next_payment(self, turn: Turn, index: int, task: Task) -> Step:
        def render(loan: dict[str, Any]) -> str:
            if loan["next_due_date"] is None:
                return self.t.render("next_payment_none", **loan)
            return self.t.render("next_payment_answer", **loan)

        return self._read_answer(turn, index, task, render)

    def _do_payoff(self, turn: Turn, index: int, task: Task) -> Step:
        return self._read_answer(
            turn, index, task, lambda loan: self.t.render("payoff_answer", **loan)
        )

    def _do_fees_info(self, turn: Turn, index: int, task: Task) -> Step:
        grace = self.policy.fees.grace_period_days
        fee = format_money(self.policy.fees.late_fee)
        rule = self.t.render("parts.fees_rule", grace=grace, fee=fee)

        def render(loan: dict[str, Any]) -> str:
            unpaid = [f for f in loan["late_fees"] if not f["waived"]]
            if loan["unpaid_fees"] == "$0.00":
                return self.t.render("fees_answer_none", **loan)
            fee_list = listed(
                [
                    self.t.render("parts.fee_item", amount=f["amount"], date=f["date"])
                    for f in unpaid
                ],
                ";",
            ) or self.t.render("parts.other_fees")
            return self.t.render("fees_answer_some", fee_list=fee_list, **loan)

        step = self._read_answer(turn, index, task, render)
        if step.tool is None and step.text is not None and step.state.last_read is not None:
            step.text = joined([step.text, rule])  # an answer (not a question back)
        return step

    def _do_payment_history(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"history:{index}"
        result = turn.result("get_payment_history", tag)
        if result is None:
            return Step("get_payment_history", {"loan_id": task.loan_id}, tag=tag)
        if result.get("status") != "ok":
            return self._refusal(result, task)
        rows = result.get("installments", [])
        if not rows:
            return Step(text=self.t.render("history_none", loan_id=result["loan_id"]))
        text = listed(
            [
                self.t.render(
                    "parts.history_row", due_date=r["due_date"], amount=r["amount"], paid=r["paid"]
                )
                for r in rows
            ],
            ";",
        )
        payments = result.get("payments", [])
        extra = "".join(
            f" {self.t.render('parts.payment_received', date=p['date'], amount=p['amount'])}"
            for p in payments
        )
        return Step(
            text=self.t.render("history_answer", loan_id=result["loan_id"], rows=text) + extra
        )

    # --- amounts for links and promises ---------------------------------------------------

    def _one_loan(self, turn: Turn, index: int, task: Task) -> dict[str, Any] | Step:
        """The summary of the one loan a task is about (or the question which one)."""
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(summary, task)
        if isinstance(loans, Step):
            return loans
        if len(loans) != 1:
            return self._which_loan(
                [loan["loan_id"] for loan in loans],
                task,
                {loan["loan_id"]: loan.get("payoff_amount_today", "") for loan in loans},
                {loan["loan_id"]: loan.get("past_due_amount", "") for loan in loans},
            )
        return loans[0]

    def _amount_from(
        self, turn: Turn, index: int, task: Task, default: bool
    ) -> Decimal | Step | None:
        """The amount a task is about: said in dollars, or named (past due, payoff...).
        With ``default``, an unnamed amount is the past-due amount, else the next one."""
        slots = task.slots
        if slots.amount:
            return slots.amount
        keyword = slots.amount_keyword
        if not keyword and not default:
            return None
        loan = self._one_loan(turn, index, task)
        if isinstance(loan, Step):
            return loan
        if keyword == "remainder":  # what is due, less the part paid now
            due = _named_amount(loan, None)
            rest = due - (slots.paid_now or Decimal("0")) if due is not None else None
            return rest if rest is not None and rest > 0 else None
        return _named_amount(loan, keyword)

    def _do_payment_link(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"link:{index}"
        result = turn.result("create_payment_link", tag)
        if result is None:
            amount = self._amount_from(turn, index, task, default=False)
            if isinstance(amount, Step):
                return amount
            if amount is None:
                return self._ask_link_amount(turn, index, task)
            return Step(
                "create_payment_link",
                {"amount": str(amount), "loan_id": task.loan_id},
                tag=tag,
            )
        if result.get("status") != "ok":
            if result.get("error") in LOAN_ERRORS:
                return self._refusal(result, task)
            return Step(
                text=self.t.render("payment_link_refused", message=self._tool_message(result)),
                state=waiting("slot:amount", task.without("amount", "amount_keyword")),
            )
        return Step(text=self.t.render("payment_link_sent", **result))

    def _ask_link_amount(self, turn: Turn, index: int, task: Task) -> Step:
        loan = self._one_loan(turn, index, task)
        if isinstance(loan, Step):
            return loan
        minimum = format_money(self.policy.payment_link.min_amount)
        if loan["past_due_amount"] != "$0.00":
            key = "ask_link_amount_past_due"
        elif loan["next_due_amount"]:
            key = "ask_link_amount_figures"
        else:
            key = "ask_link_amount"
        return Step(
            text=self.t.render(key, min_amount=minimum, **loan),
            state=waiting("slot:amount", task),
        )

    def _do_how_to_pay(self, turn: Turn, index: int, task: Task) -> Step:
        if reply_language() != "en":  # the documents are English: the link is the answer
            return Step(text=self.t.render("how_to_pay_answer", policy="").strip())
        tag = f"policy:{index}"
        result = turn.result("search_policy", tag)
        if result is None:
            return Step(
                "search_policy", {"query": "ways to pay payment methods " + turn.text}, tag=tag
            )
        policy_text = self._policy_text(result) or ""
        return Step(text=self.t.render("how_to_pay_answer", policy=policy_text).strip())

    # --- writes ----------------------------------------------------------------------------

    def _do_promise_to_pay(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"ptp:{index}"
        result = turn.result("promise_to_pay", tag)
        slots = task.slots
        if result is None:
            if not slots.amount and not slots.amount_keyword and not slots.date:
                return Step(
                    text=self.t.render("ask_ptp_date_no_amount"),
                    state=waiting("slot:date", task),
                )
            amount = self._amount_from(turn, index, task, default=True)
            if isinstance(amount, Step):
                return amount
            if amount is None:
                return Step(
                    text=self.t.render("ask_ptp_amount_only"),
                    state=waiting("slot:amount", task),
                )
            if not slots.date:
                return Step(
                    text=self.t.render("ask_ptp_date_only", max_days_ahead=self._ptp_days()),
                    state=waiting("slot:date", task),
                )
            return Step(
                "promise_to_pay",
                {"amount": str(amount), "date": slots.date.isoformat(), "loan_id": slots.loan_id},
                tag=tag,
            )
        if result.get("status") != "ok":
            return self._ptp_refused(result, task)
        return self._proposal_or_done(result, "promise_to_pay", task)

    def _ptp_days(self) -> int:
        return self.policy.promise_to_pay.max_days_ahead

    def _ptp_refused(self, result: dict[str, Any], task: Task) -> Step:
        error = result.get("error")
        if error in LOAN_ERRORS:
            return self._refusal(result, task)
        if error == "ptp_date_too_far":
            return Step(
                text=self.t.render("ptp_too_far", **result),
                state=waiting(
                    "offer_hardship",
                    task.without("date"),
                    offer_summary="Customer asked for a promise to pay beyond the 14-day window.",
                ),
            )
        if error in {"ptp_amount_above_payoff", "ptp_amount_not_positive"}:
            return Step(
                text=self.t.render("ptp_refused", message=self._tool_message(result)),
                state=waiting("slot:amount", task.without("amount", "amount_keyword")),
            )
        return Step(
            text=self.t.render("ptp_refused", message=self._tool_message(result)),
            state=waiting("slot:date", task.without("date")),
        )

    def _proposal_or_done(self, result: dict[str, Any], intent: str, task: Task) -> Step:
        proposal = result.get("proposal") or {}
        values = {**result, **proposal}
        replaces = values.get("replaces_open_promise") and not values.get("recorded")
        values["replaces"] = spaced(self.t.get("ptp_replaces")) if replaces else ""
        if "day_of_month" in values:
            values["day_ordinal"] = ordinal(int(values["day_of_month"]))
        name = PROPOSAL_NAMES[intent]
        if result.get("needs_confirmation"):
            return Step(
                text=self.t.render(f"{name}_propose", **values),
                state=waiting("confirmation", task.on_loan(values["loan_id"]))
                if values.get("loan_id")
                else waiting("confirmation", task),
            )
        state = DialogueState()
        then = task.then
        if then:
            # "Waive the fee, then send me a link for the rest": offered once it is done.
            text = self.t.render(f"{name}_recorded", **values)
            offer = self.t.render("offer_link_for_the_rest")
            return Step(text=f"{text} {offer}", state=waiting("offer_link", then))
        if intent == "promise_to_pay" and values.get("amount"):
            # The reply offers a payment link for the promised amount: a yes sends it.
            link = Task(
                kind="payment_link",
                slots=Slots(amount=str(values["amount"]), loan_id=values.get("loan_id")),
            )
            state = waiting("offer_link", link)
        return Step(text=self.t.render(f"{name}_recorded", **values), state=state)

    def _do_due_date_change(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"due:{index}"
        result = turn.result("change_due_date", tag)
        slots = task.slots
        if result is None:
            if slots.day is None:
                return Step(text=self.t.render("ask_due_day"), state=waiting("slot:day", task))
            return Step(
                "change_due_date",
                {"day_of_month": int(slots.day), "loan_id": slots.loan_id},
                tag=tag,
            )
        if result.get("status") != "ok":
            if result.get("error") in LOAN_ERRORS:
                return self._refusal(result, task)
            if result.get("error") in {"due_date_day_out_of_range", "bad_day"}:
                return Step(
                    text=f"{result['message']} {self.t.render('ask_due_day')}",
                    state=waiting("slot:day", task.without("day")),
                )
            return Step(
                text=self.t.render("due_date_refused", message=self._tool_message(result)),
                state=_offer_human(f"Due-date change refused: {result.get('error')}"),
            )
        return self._proposal_or_done(result, "due_date_change", task)

    def _loan_write(
        self,
        turn: Turn,
        index: int,
        task: Task,
        *,
        tool: str,
        intent: str,
        refused: str,
        offer_summary: str,
    ) -> Step:
        """Propose a write that needs only the loan (deferral, fee waiver), or explain
        the rule that refused it and offer a person."""
        tag = f"{intent}:{index}"
        result = turn.result(tool, tag)
        if result is None:
            return Step(tool, {"loan_id": task.loan_id}, tag=tag)
        if result.get("status") != "ok":
            if result.get("error") in LOAN_ERRORS:
                return self._refusal(result, task)
            if result.get("error") == "fee_waiver_no_late_fee":
                return Step(text=self._tool_message(result))
            return Step(
                text=self.t.render(refused, message=self._tool_message(result)),
                state=_offer_human(offer_summary.format(error=result.get("error"))),
            )
        return self._proposal_or_done(result, intent, task)

    def _do_deferral(self, turn: Turn, index: int, task: Task) -> Step:
        return self._loan_write(
            turn,
            index,
            task,
            tool="request_deferral",
            intent="deferral",
            refused="deferral_refused",
            offer_summary="Deferral refused: {error}",
        )

    def _do_fee_waiver(self, turn: Turn, index: int, task: Task) -> Step:
        return self._loan_write(
            turn,
            index,
            task,
            tool="waive_late_fee",
            intent="fee_waiver",
            refused="fee_waiver_refused",
            offer_summary="A further late-fee waiver was requested.",
        )

    def _do_contact_preferences(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"contact:{index}"
        result = turn.result("update_contact_preferences", tag)
        changes = task.slots.changes or {}
        if result is None:
            if not changes:
                return Step(
                    text=self.t.render("ask_contact_change"),
                    state=waiting("slot:changes", task),
                )
            return Step("update_contact_preferences", changes, tag=tag)
        if result.get("status") != "ok":
            return self._refusal(result, task)
        if changes.get("do_not_contact"):
            return Step(text=self.t.render("contact_dnc"))
        words = []
        for key in ("sms", "email", "calls"):
            if key in changes:
                channel = self.t.render(f"parts.channel_{key}")
                state = "on" if changes[key] else "off"
                words.append(self.t.render(f"parts.channel_{state}", channel=channel))
        if changes.get("contact_hours"):
            words.append(self.t.render("parts.contact_hours_set", hours=changes["contact_hours"]))
        return Step(text=self.t.render("contact_updated", changes=listed(words, ",")))

    # --- knowledge, confirmations and small talk ---------------------------------------------

    def _policy_text(self, result: dict[str, Any]) -> str | None:
        if result.get("status") != "ok" or not result.get("found"):
            return None
        hit = result["hits"][0]
        excerpt = _excerpt(hit["text"])
        return f"{excerpt} {self.t.render('policy_source', title=hit['title'])}"

    def _do_policy_question(self, turn: Turn, index: int, task: Task) -> Step:
        if reply_language() != "en":
            # The policy documents (and their retrieval) are English only: say so in the
            # customer's language and offer a person who speaks it, rather than guess.
            return Step(
                text=self.t.render("policy_not_in_language"),
                state=_offer_human(
                    f"A policy question in {LANGUAGE_NAMES.get(turn.language, turn.language)}; "
                    "the policy documents are in English."
                ),
            )
        tag = f"policy:{index}"
        result = turn.result("search_policy", tag)
        if result is None:
            return Step("search_policy", {"query": turn.text}, tag=tag)
        if result.get("status") != "ok" or not result.get("found"):
            return Step(
                text=self.t.render("policy_not_found"),
                state=_offer_human("A policy question the documents did not answer."),
            )
        hit = result["hits"][0]
        return Step(
            text=self.t.render("policy_answer", title=hit["title"], excerpt=_excerpt(hit["text"]))
        )

    def _do_affirm(self, turn: Turn, index: int, task: Task) -> Step:
        tag = f"confirm:{index}"
        for intent, tool in PENDING_TOOL.items():
            result = turn.result(tool, tag)
            if result is not None:
                if result.get("error") == "confirmation_required":
                    if result.get("answer") == "no":
                        return Step(text=self.t.render("deny_pending"))
                    return self._propose_again(turn, index)
                if result.get("status") != "ok":
                    return self._refusal(result, task)
                proposed = turn.state.task
                # The proposal's own task: what it carries ("then") goes on after the yes.
                done_task = proposed if proposed is not None and proposed.kind == intent else task
                return self._proposal_or_done(result, intent, done_task)
        pending = turn.facts.get("pending_confirmations") or {}
        if pending:
            key, entry = next(iter(pending.items()))
            tool = PENDING_TOOL.get(key.split(":", 1)[0])
            if tool:
                return Step(tool, {**entry.get("args", {}), "confirm": True}, tag=tag)
        return Step(text=self.t.render("how_can_i_help"))

    def _propose_again(self, turn: Turn, index: int) -> Step:
        """The tool did not take the answer as a yes: propose the same thing again."""
        pending = proposed_task(turn)
        if pending is None:
            return Step(text=self.t.render("how_can_i_help"))
        step = self._task(turn, index, pending)
        if step.tool is None and step.text:
            step.text = f"{self.t.render('confirm_again')} {step.text}"
        return step

    def _do_reconfirm(self, turn: Turn, index: int, task: Task) -> Step:
        """A reply to a proposal that was not a plain yes: nothing is set up, and why,
        before the proposal is shown again (the task after this one)."""
        reason = task.slots.reason or "unclear"
        proposed = proposed_task(turn)
        if reason == "question" and proposed is not None:
            explain = self.t.render(f"confirm_explain.{proposed.kind}")
            return Step(text=self.t.render("confirm_reply.question", explain=explain))
        return Step(text=self.t.render(f"confirm_reply.{reason}"))

    def _do_deny(self, turn: Turn, index: int, task: Task) -> Step:
        awaiting = turn.state.awaiting or ""
        pending = (
            turn.facts.get("pending_confirmations")
            or awaiting == "confirmation"
            or awaiting.startswith("slot:")
        )
        if len(turn.tasks) > 1:  # "no, send me a link instead": say little
            return Step(text=self.t.render("deny_pending_short") if pending else "")
        if pending:
            return Step(text=self.t.render("deny_pending"))
        return Step(text=self.t.render("deny_generic"))

    def _do_about_assistant(self, turn: Turn, index: int, task: Task) -> Step:
        return Step(
            text=self.t.render("about_assistant"),
            state=_offer_human("The customer asked whether they are talking to a person."),
        )

    def _do_account_admin(self, turn: Turn, index: int, task: Task) -> Step:
        lender = self.policy.lender
        return Step(
            text=self.t.render(
                "account_admin",
                support_phone=lender.support_phone,
                support_hours=lender.support_hours_in(reply_language()),
            )
        )

    def _do_contact_info(self, turn: Turn, index: int, task: Task) -> Step:
        lender = self.policy.lender
        return Step(
            text=self.t.render(
                "contact_info",
                support_phone=lender.support_phone,
                support_hours=lender.support_hours_in(reply_language()),
            )
        )

    def _do_greeting(self, turn: Turn, index: int, task: Task) -> Step:
        return Step(text=self.t.render("how_can_i_help"))

    def _do_thanks(self, turn: Turn, index: int, task: Task) -> Step:
        return Step(text=self.t.render("thanks"))

    def _do_goodbye(self, turn: Turn, index: int, task: Task) -> Step:
        return Step(text=self.t.render("goodbye"))

    def _do_out_of_scope(self, turn: Turn, index: int, task: Task) -> Step:
        return Step(
            text=self.t.render("out_of_scope", support_phone=self.policy.lender.support_phone)
        )


def pending_entry(turn: Turn, kind: str) -> dict[str, Any] | None:
    """The tools' record of the proposal of this kind waiting for a yes (session facts)."""
    pending = turn.facts.get("pending_confirmations") or {}
    return next((v for k, v in pending.items() if k.split(":", 1)[0] == kind), None)


def _waiting_proposal(turn: Turn) -> Task | None:
    """The proposal the last reply asked a yes for: the engine's own, or (after a turn
    the LLM answered) the one the tools hold."""
    state = turn.state
    if state.awaiting == "confirmation" and state.task is not None:
        return state.task if state.task.kind in PENDING_TOOL else None
    pending = turn.facts.get("pending_confirmations") or {}
    if state.awaiting is not None or state.task is not None or len(pending) != 1:
        return None
    key, entry = next(iter(pending.items()))
    kind = key.split(":", 1)[0]
    if kind not in PENDING_TOOL:
        return None
    args = entry.get("args") or {}
    slots = Slots(
        amount=args.get("amount"),
        date=args.get("date"),
        day=args.get("day_of_month"),
        loan_id=args.get("loan_id"),
    )
    return Task(kind=kind, slots=slots, status=TaskStatus.PROPOSED, cue=True)


def read_reply_to_proposal(turn: Turn) -> dict[str, Any] | None:
    """On the turn's first model call: the proposal waiting for an answer and what the
    message answers it, by the one confirmation rule (the tools check the same)."""
    proposed = _waiting_proposal(turn)
    if proposed is None:
        return None
    entry = pending_entry(turn, proposed.kind)
    shown = Proposal.load(entry.get("shown")) if entry is not None else None
    reply = confirmation_of(
        turn.raw_text, shown, turn.today, str(turn.facts.get("proposal_language") or "en")
    )
    return {
        "task": proposed.model_dump(mode="json"),
        "answer": reply.answer.value,
        "reason": reply.reason,
        "new_values": reply.new_values,
    }


def proposed_task(turn: Turn) -> Task | None:
    """The proposal the customer's message answers (read on the turn's first call)."""
    raw = turn.plan.get("proposal")
    return Task.model_validate(raw["task"]) if raw else None


def reply_to_proposal(turn: Turn) -> Answer | None:
    raw = turn.plan.get("proposal")
    return Answer(raw["answer"]) if raw else None


def _named_amount(loan: dict[str, Any], keyword: str | None) -> Decimal | None:
    """The amount a keyword names on one loan's summary; without one, what is past due
    or else the next installment."""
    raw = loan["_raw"]
    past_due = Decimal(raw["past_due"])
    next_amount = Decimal(raw["next_amount"]) if raw.get("next_amount") else None
    if keyword == "payoff":
        return Decimal(loan["payoff_amount_today"].replace("$", "").replace(",", ""))
    if keyword == "next_due":
        return next_amount
    if keyword == "past_due":
        return past_due if past_due > 0 else None
    return past_due if past_due > 0 else next_amount


def _offer_human(summary: str) -> DialogueState:
    return DialogueState(awaiting="offer_human", offer_summary=summary)


def _excerpt(text: str, limit: int = 420) -> str:
    body = " ".join(
        line.strip().lstrip("#-*> ").strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )
    if len(body) <= limit:
        return body
    cut = body[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > 100 else cut.rsplit(" ", 1)[0] + "…"
