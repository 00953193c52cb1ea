"""The offline engine's dialogue policy.

Each model call sees the whole message list, like an LLM would. The first call of a
turn reads the customer's message into a plan (tasks + identity details) that rides on
the tool-calling AI message; later calls read tool results and either call the next
tool or write the reply. What must survive to the next turn (what we asked for, tasks
waiting for verification) rides on the reply's ``additional_kwargs``. Deterministic for
the same messages and clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.engine import session_facts
from agent.engine.offline.intents import IntentMatcher
from agent.engine.offline.understanding import ACCOUNT_INTENTS, understand
from agent.engine.templates import Templates
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date, format_money, ordinal

PLAN_KEY = "offline_plan"
STATE_KEY = "offline_state"
PENDING_TOOL = {
    "promise_to_pay": "promise_to_pay",
    "due_date_change": "change_due_date",
    "deferral": "request_deferral",
    "fee_waiver": "waive_late_fee",
}


@dataclass
class Turn:
    """What one model call knows about the current turn."""

    facts: dict[str, Any]
    text: str
    plan: dict[str, Any]
    state: dict[str, Any]  # from the previous reply
    results: list[tuple[str, dict[str, Any]]]  # (tool name, parsed result), in order
    calls_made: int

    def result(self, name: str, tag: str | None = None) -> dict[str, Any] | None:
        for tool_name, value in reversed(self.results):
            if tool_name == name and (tag is None or value.get("_tag") == tag):
                return value
        return None

    @property
    def today(self) -> date:
        return date.fromisoformat(self.facts["today"])


@dataclass
class Step:
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    tag: str | None = None
    text: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


class OfflineBrain:
    def __init__(self, matcher: IntentMatcher, templates: Templates, policy: PolicyConfig) -> None:
        self.matcher = matcher
        self.t = templates
        self.policy = policy

    # --- entry point -----------------------------------------------------------------

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        turn = self._read_turn(messages)
        step = self._next(turn)
        if step.tool is not None:
            call_id = f"call_{turn.facts.get('turn', 0)}_{turn.calls_made}_{step.tool}"
            args = {k: v for k, v in step.args.items() if v is not None}
            return AIMessage(
                content="",
                tool_calls=[{"name": step.tool, "args": args, "id": call_id, "type": "tool_call"}],
                additional_kwargs={PLAN_KEY: turn.plan, "tag": step.tag},
            )
        return AIMessage(content=step.text or "", additional_kwargs={STATE_KEY: step.state})

    def _read_turn(self, messages: list[BaseMessage]) -> Turn:
        system = next((m for m in messages if isinstance(m, SystemMessage)), None)
        facts = session_facts.parse(str(system.content)) if system else {}
        facts.setdefault("today", date.today().isoformat())
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        text = str(messages[last_human].content)
        state: dict[str, Any] = {}
        for m in reversed(messages[:last_human]):
            if isinstance(m, AIMessage) and STATE_KEY in m.additional_kwargs:
                state = m.additional_kwargs[STATE_KEY]
                break
        plan = None
        calls = 0
        tags: dict[str, str | None] = {}
        results: list[tuple[str, dict[str, Any]]] = []
        for m in messages[last_human + 1:]:
            if isinstance(m, AIMessage) and m.tool_calls:
                calls += 1
                plan = plan or m.additional_kwargs.get(PLAN_KEY)
                for call in m.tool_calls:
                    tags[call["id"]] = m.additional_kwargs.get("tag")
            elif isinstance(m, ToolMessage):
                try:
                    value = json.loads(str(m.content))
                except (TypeError, ValueError):
                    value = {"status": "error", "error": "unreadable"}
                if not isinstance(value, dict):
                    value = {"status": "error", "error": "unreadable"}
                value["_tag"] = tags.get(m.tool_call_id)
                results.append((m.name or "", value))
        if plan is None:
            plan = understand(self.matcher, text, date.fromisoformat(facts["today"]))
        return Turn(facts, text, plan, state, results, calls)

    # --- the policy --------------------------------------------------------------------

    def _next(self, turn: Turn) -> Step:
        facts, plan, state = turn.facts, turn.plan, turn.state
        identity = dict(plan["identity"])
        partial = state.get("identity_partial", {})
        identity["dob"] = identity["dob"] or partial.get("dob")
        identity["zip"] = identity["zip"] or partial.get("zip")
        tasks = [t for t in plan["tasks"]]
        intents = [t["intent"] for t in tasks]
        verified = facts.get("verified", False)
        prefix: list[str] = []

        # Identity first: identify (anonymous sessions), then verify.
        if not verified and not facts.get("verification_locked"):
            knows_subject = facts.get("customer_known") or facts.get("identified")
            wants_identity = identity["loan_number"] or identity["phone"]
            if not knows_subject and wants_identity and not turn.result("identify_customer"):
                return Step("identify_customer", {"loan_number": identity["loan_number"],
                                                  "phone": identity["phone"]})
            identified_now = turn.result("identify_customer") is not None
            if (knows_subject or identified_now) and identity["dob"] and identity["zip"] \
                    and not turn.result("verify_identity"):
                return Step("verify_identity", {"date_of_birth": identity["dob"],
                                                "postal_code": identity["zip"]})
        verification = turn.result("verify_identity")
        if verification is not None:
            if verification.get("status") != "ok":
                if verification.get("error") == "verification_locked":
                    return Step(text=self.t.render("escalated.verification_failed"))
                left = int(verification.get("attempts_left", 0))
                return Step(text=self.t.render("verification_failed", attempts_left=left,
                                               plural="" if left == 1 else "s"),
                            state={"awaiting": "verification",
                                   "pending_tasks": state.get("pending_tasks", []) or
                                   [t for t in tasks if t["intent"] in ACCOUNT_INTENTS]})
            verified = True
            name = verification.get("first_name") or ""
            if not [t for t in tasks if t["intent"] not in {"affirm", "greeting", "thanks"}]:
                tasks = state.get("pending_tasks", [])
                if not tasks:
                    return Step(text=self.t.render("verified_what_next", first_name=name))
            prefix.append(self.t.render("verified", first_name=name))

        # Answers to a question we asked last turn.
        tasks = self._continue_from_state(turn, tasks, intents)
        if isinstance(tasks, Step):
            return tasks

        if not tasks:
            return self._no_task(turn, identity)

        needs_account = [t for t in tasks if t["intent"] in ACCOUNT_INTENTS]
        if needs_account and not verified:
            return self._ask_identity(turn, identity, needs_account)

        parts = list(prefix)
        new_state: dict[str, Any] = {}
        for index, task in enumerate(tasks):
            out = self._task(turn, index, task)
            if out.tool is not None:
                return out
            if out.text:
                parts.append(out.text)
            new_state.update(out.state)
        if tasks and tasks[0]["intent"] == "unknown":
            pass
        return Step(text=" ".join(parts), state=new_state)

    def _continue_from_state(self, turn: Turn, tasks: list[dict[str, Any]],
                             intents: list[str]) -> list[dict[str, Any]] | Step:
        state = turn.state
        awaiting = state.get("awaiting")
        substantive = [i for i in intents if i not in {"affirm", "deny", "thanks", "greeting"}]
        if awaiting in {"offer_human", "offer_hardship"}:
            if "affirm" in intents and not substantive:
                reason = "hardship" if awaiting == "offer_hardship" else "human_request"
                if turn.result("escalate_to_human"):
                    return Step(text=self.t.render(f"escalated.{reason}"))
                return Step("escalate_to_human", {"reason": reason,
                                                  "summary": state.get("offer_summary", "")})
            if awaiting == "offer_hardship" and "deny" in intents and not substantive and \
                    "can" not in turn.text.lower():
                return Step("escalate_to_human", {"reason": "hardship",
                            "summary": "Customer cannot pay within the promise-to-pay window."}) \
                    if not turn.result("escalate_to_human") else \
                    Step(text=self.t.render("escalated.hardship"))
        if awaiting == "verification" and not substantive:
            return state.get("pending_tasks", []) if turn.facts.get("verified") else tasks
        if awaiting and awaiting.startswith("slot:") and not substantive:
            pending_task = dict(state.get("task", {}))
            if pending_task:
                pending_task["slots"] = {**pending_task.get("slots", {}),
                                         **_slots_for(pending_task["intent"], turn)}
                return [pending_task]
        if awaiting and awaiting.startswith("slot:") and substantive:
            # A new request that also fills the slot ("on the 20th" read as promise_to_pay).
            pending_task = state.get("task", {})
            if pending_task and pending_task.get("intent") in substantive:
                merged = []
                for t in tasks:
                    if t["intent"] == pending_task["intent"]:
                        t = {**t, "slots": {**pending_task.get("slots", {}),
                                            **{k: v for k, v in t["slots"].items() if v}}}
                    merged.append(t)
                return merged
        if awaiting == "loan_choice" and not substantive:
            loan = turn.plan["identity"].get("loan_number")
            if loan:
                return [{**t, "slots": {**t.get("slots", {}), "loan_id": loan}}
                        for t in state.get("pending_tasks", [])]
        if awaiting == "loan_choice" and substantive and turn.plan["identity"].get("loan_number"):
            return tasks
        return tasks

    def _no_task(self, turn: Turn, identity: dict[str, Any]) -> Step:
        facts, state = turn.facts, turn.state
        if turn.result("identify_customer") and not facts.get("verified"):
            return Step(text=self.t.render("ask_verification_after_identifier"),
                        state={"awaiting": "verification",
                               "pending_tasks": state.get("pending_tasks", []),
                               "identity_partial": _partial(identity)})
        if not facts.get("verified") and (identity["dob"] or identity["zip"]):
            if facts.get("verification_locked"):
                return Step(text=self.t.render("escalated.verification_failed"))
            if not (facts.get("customer_known") or facts.get("identified")):
                return Step(text=self.t.render("ask_identifier"),
                            state={"awaiting": "identifier", "identity_partial": _partial(identity),
                                   "pending_tasks": state.get("pending_tasks", [])})
            missing = "your 5-digit ZIP code" if identity["dob"] else "your date of birth"
            return Step(text=self.t.render("ask_verification_partial", missing=missing),
                        state={"awaiting": "verification", "identity_partial": _partial(identity),
                               "pending_tasks": state.get("pending_tasks", [])})
        if facts.get("verified") and (identity["dob"] and identity["zip"]):
            return Step(text=self.t.render("already_verified"))
        streak = int(state.get("not_understood", 0)) + 1
        if streak >= 2:
            return Step(text=self.t.render("not_understood_offer_human"),
                        state={"awaiting": "offer_human", "not_understood": streak,
                               "offer_summary": "The assistant could not understand the request."})
        return Step(text=self.t.render("not_understood"), state={"not_understood": streak})

    def _ask_identity(self, turn: Turn, identity: dict[str, Any],
                      tasks: list[dict[str, Any]]) -> Step:
        facts = turn.facts
        state = {"awaiting": "verification", "pending_tasks": tasks,
                 "identity_partial": _partial(identity)}
        if facts.get("verification_locked"):
            return Step(text=self.t.render("escalated.verification_failed"))
        if not (facts.get("customer_known") or facts.get("identified")) and \
                not turn.result("identify_customer"):
            return Step(text=self.t.render("ask_identifier"), state={**state,
                                                                        "awaiting": "identifier"})
        if turn.result("identify_customer"):
            return Step(text=self.t.render("ask_verification_after_identifier"), state=state)
        if identity["dob"] or identity["zip"]:
            missing = "your 5-digit ZIP code" if identity["dob"] else "your date of birth"
            return Step(text=self.t.render("ask_verification_partial", missing=missing),
                        state=state)
        return Step(text=self.t.render("ask_verification"), state=state)

    # --- tasks -------------------------------------------------------------------------

    def _task(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        intent = task["intent"]
        handler = getattr(self, f"_do_{intent}", None)
        if handler is None:
            return Step(text=self.t.render("not_understood"))
        return handler(turn, index, task)

    def _summary(self, turn: Turn, index: int, task: dict[str, Any]) -> dict[str, Any] | Step:
        tag = f"summary:{index}"
        result = turn.result("get_account_summary", tag)
        if result is None:
            return Step("get_account_summary", {"loan_id": task.get("slots", {}).get("loan_id")},
                        tag=tag)
        return result

    def _loans_or_refusal(self, turn: Turn, result: dict[str, Any],
                          task: dict[str, Any]) -> list[dict[str, Any]] | Step:
        if result.get("status") != "ok":
            return self._refusal(result, task)
        return result.get("loans", [])

    def _refusal(self, result: dict[str, Any], task: dict[str, Any]) -> Step:
        error = result.get("error")
        if error == "loan_choice_needed":
            loans = ", ".join(result.get("loans", []))
            return Step(text=self.t.render("which_loan", loans=loans),
                        state={"awaiting": "loan_choice", "pending_tasks": [task]})
        if error == "identity_not_verified":
            return Step(text=self.t.render("ask_verification"),
                        state={"awaiting": "verification", "pending_tasks": [task]})
        if error == "unknown_loan":
            return Step(text=result.get("message", ""))
        if error == "internal_error":
            return Step(text=self.t.render("tool_error"))
        return Step(text=result.get("message", self.t.render("tool_error")))

    def _read_answer(self, turn: Turn, index: int, task: dict[str, Any], render) -> Step:  # noqa: ANN001
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(turn, summary, task)
        if isinstance(loans, Step):
            return loans
        return Step(text=" ".join(render(loan) for loan in loans))

    def _do_balance(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        def render(loan: dict[str, Any]) -> str:
            if loan["days_past_due"] > 0 or loan["past_due_amount"] != "$0.00":
                past = self.t.render("past_due_part_some", **loan)
            else:
                past = self.t.render("past_due_part_none")
            if loan["next_due_date"] is None:
                return self.t.render("payoff_answer", **loan)
            return self.t.render("summary_one_loan", past_due_part=past, **loan)

        return self._read_answer(turn, index, task, render)

    def _do_loan_list(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(turn, summary, task)
        if isinstance(loans, Step):
            return loans
        ids = ", ".join(loan["loan_id"] for loan in loans)
        return Step(text=self.t.render("loan_list", count=len(loans), loans=ids,
                                       plural="" if len(loans) == 1 else "s"))

    def _do_past_due(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        def render(loan: dict[str, Any]) -> str:
            if loan["past_due_amount"] == "$0.00":
                return self.t.render("past_due_none", **loan)
            return self.t.render("past_due_answer", **loan)

        return self._read_answer(turn, index, task, render)

    def _do_next_payment(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        def render(loan: dict[str, Any]) -> str:
            if loan["next_due_date"] is None:
                return self.t.render("next_payment_none", **loan)
            return self.t.render("next_payment_answer", **loan)

        return self._read_answer(turn, index, task, render)

    def _do_payoff(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        return self._read_answer(turn, index, task,
                                 lambda loan: self.t.render("payoff_answer", **loan))

    def _do_fees_info(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        grace = self.policy.fees.grace_period_days
        fee = format_money(self.policy.fees.late_fee)
        rule = (f"A payment more than {grace} days late gets a {fee} late fee, once per "
                "installment.")

        def render(loan: dict[str, Any]) -> str:
            unpaid = [f for f in loan["late_fees"] if not f["waived"]]
            if not unpaid:
                return self.t.render("fees_answer_none", **loan)
            fee_list = "; ".join(f"a {f['amount']} late fee from {f['date']}" for f in unpaid)
            return self.t.render("fees_answer_some", fee_list=fee_list, **loan)

        step = self._read_answer(turn, index, task, render)
        if step.text is not None:
            step.text = f"{step.text} {rule}"
        return step

    def _do_payment_history(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"history:{index}"
        result = turn.result("get_payment_history", tag)
        if result is None:
            return Step("get_payment_history", {"loan_id": task["slots"].get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            return self._refusal(result, task)
        rows = result.get("installments", [])
        if not rows:
            return Step(text=self.t.render("history_none", loan_id=result["loan_id"]))
        text = "; ".join(f"{r['due_date']}: {r['amount']} due, {r['paid']} paid" for r in rows)
        payments = result.get("payments", [])
        extra = "".join(f" Payment received {p['date']}: {p['amount']}." for p in payments)
        return Step(text=self.t.render("history_answer", loan_id=result["loan_id"], rows=text)
                    + extra)

    def _amount_from(self, turn: Turn, index: int, task: dict[str, Any]) -> Decimal | Step | None:
        """The amount a task is about: said in dollars, or named (past due, payoff...)."""
        slots = task.get("slots", {})
        if slots.get("amount"):
            return Decimal(slots["amount"])
        keyword = slots.get("amount_keyword")
        summary = self._summary(turn, index, task)
        if isinstance(summary, Step):
            return summary
        loans = self._loans_or_refusal(turn, summary, task)
        if isinstance(loans, Step):
            return loans
        if len(loans) != 1:
            loan_ids = ", ".join(loan["loan_id"] for loan in loans)
            return Step(text=self.t.render("which_loan", loans=loan_ids),
                        state={"awaiting": "loan_choice", "pending_tasks": [task]})
        loan = loans[0]
        raw = loan["_raw"]
        past_due = Decimal(raw["past_due"])
        if keyword == "payoff":
            return Decimal(loan["payoff_amount_today"].replace("$", "").replace(",", ""))
        if keyword == "next_due" and raw["next_amount"]:
            return Decimal(raw["next_amount"])
        if keyword == "past_due" or past_due > 0:
            return past_due if past_due > 0 else None
        if raw["next_amount"] and task["intent"] == "promise_to_pay":
            return Decimal(raw["next_amount"])
        return None

    def _do_payment_link(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"link:{index}"
        result = turn.result("create_payment_link", tag)
        if result is None:
            amount = self._amount_from(turn, index, task)
            if isinstance(amount, Step):
                return amount
            if amount is None:
                return Step(text=self.t.render(
                    "ask_link_amount", min_amount=format_money(self.policy.payment_link.min_amount)),
                    state={"awaiting": "slot:amount", "task": task})
            return Step("create_payment_link", {"amount": str(amount),
                                                "loan_id": task["slots"].get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            return self._refusal(result, task)
        return Step(text=self.t.render("payment_link_sent", **result))

    def _do_how_to_pay(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"policy:{index}"
        result = turn.result("search_policy", tag)
        if result is None:
            return Step("search_policy", {"query": "ways to pay payment methods " + turn.text},
                        tag=tag)
        policy_text = self._policy_text(result)
        if policy_text is None:
            policy_text = ""
        return Step(text=self.t.render("how_to_pay_answer", policy=policy_text).strip())

    def _do_promise_to_pay(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"ptp:{index}"
        result = turn.result("promise_to_pay", tag)
        slots = task.get("slots", {})
        if result is None:
            amount = self._amount_from(turn, index, task)
            if isinstance(amount, Step):
                return amount
            latest = format_date(date.fromordinal(
                turn.today.toordinal() + self.policy.promise_to_pay.max_days_ahead))
            if not slots.get("date"):
                task = {**task, "slots": {**slots, **({"amount": str(amount)} if amount else {})}}
                if amount is None:
                    return Step(text=self.t.render("ask_ptp_date_no_amount"),
                                state={"awaiting": "slot:date", "task": task})
                return Step(text=self.t.render("ask_ptp_date", amount=format_money(amount),
                                               latest_date=latest),
                            state={"awaiting": "slot:date", "task": task})
            if amount is None:
                return Step(text=self.t.render("ask_ptp_amount",
                                               date=format_date(date.fromisoformat(slots["date"]))),
                            state={"awaiting": "slot:amount", "task": task})
            return Step("promise_to_pay", {"amount": str(amount), "date": slots["date"],
                                           "loan_id": slots.get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            if result.get("error") == "ptp_date_too_far":
                return Step(text=self.t.render("ptp_too_far", **result),
                            state={"awaiting": "offer_hardship",
                                   "offer_summary": "Customer asked for a promise to pay beyond "
                                                    "the 14-day window.",
                                   "task": {**task, "slots": {k: v for k, v in slots.items()
                                                              if k != "date"}}})
            return self._refusal(result, task)
        return self._proposal_or_done(result, "ptp", {
            "replaces": self.t.get("ptp_replaces") if result.get("replaces_open_promise") else ""})

    def _proposal_or_done(self, result: dict[str, Any], name: str,
                          extra: dict[str, Any] | None = None) -> Step:
        values = {**result, **(result.get("proposal") or {}), **(extra or {})}
        if "day_of_month" in values:
            values["day_ordinal"] = ordinal(int(values["day_of_month"]))
        if result.get("needs_confirmation"):
            return Step(text=self.t.render(f"{name}_propose", **values),
                        state={"awaiting": "confirmation"})
        return Step(text=self.t.render(f"{name}_recorded", **values))

    def _do_due_date_change(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"due:{index}"
        result = turn.result("change_due_date", tag)
        slots = task.get("slots", {})
        if result is None:
            if slots.get("day") is None:
                return Step(text=self.t.render("ask_due_day"),
                            state={"awaiting": "slot:day", "task": task})
            return Step("change_due_date", {"day_of_month": int(slots["day"]),
                                            "loan_id": slots.get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            if result.get("error") in {"loan_choice_needed", "identity_not_verified",
                                       "unknown_loan", "internal_error"}:
                return self._refusal(result, task)
            if result.get("error") == "due_date_day_out_of_range":
                return Step(text=f"{result['message']} {self.t.render('ask_due_day')}",
                            state={"awaiting": "slot:day", "task": {**task, "slots": {
                                k: v for k, v in slots.items() if k != "day"}}})
            return Step(text=self.t.render("due_date_refused", message=result["message"]),
                        state=_offer_human(f"Due-date change refused: {result.get('error')}"))
        return self._proposal_or_done(result, "due_date")

    def _do_deferral(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"deferral:{index}"
        result = turn.result("request_deferral", tag)
        if result is None:
            return Step("request_deferral", {"loan_id": task["slots"].get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            if result.get("error") in {"loan_choice_needed", "identity_not_verified",
                                       "unknown_loan", "internal_error"}:
                return self._refusal(result, task)
            return Step(text=self.t.render("deferral_refused", message=result["message"]),
                        state=_offer_human(f"Deferral refused: {result.get('error')}"))
        return self._proposal_or_done(result, "deferral")

    def _do_fee_waiver(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"waiver:{index}"
        result = turn.result("waive_late_fee", tag)
        if result is None:
            return Step("waive_late_fee", {"loan_id": task["slots"].get("loan_id")}, tag=tag)
        if result.get("status") != "ok":
            if result.get("error") in {"loan_choice_needed", "identity_not_verified",
                                       "unknown_loan", "internal_error"}:
                return self._refusal(result, task)
            if result.get("error") == "fee_waiver_no_late_fee":
                return Step(text=result["message"])
            return Step(text=self.t.render("fee_waiver_refused", message=result["message"]),
                        state=_offer_human("A further late-fee waiver was requested."))
        return self._proposal_or_done(result, "fee_waiver")

    def _do_contact_preferences(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"contact:{index}"
        result = turn.result("update_contact_preferences", tag)
        changes = task.get("slots", {}).get("changes") or {}
        if result is None:
            if not changes:
                return Step(text=self.t.render("ask_contact_change"),
                            state={"awaiting": "slot:changes", "task": task})
            return Step("update_contact_preferences", changes, tag=tag)
        if result.get("status") != "ok":
            return self._refusal(result, task)
        if changes.get("do_not_contact"):
            return Step(text=self.t.render("contact_dnc"))
        words = []
        labels = {"sms": "text messages", "email": "e-mails", "calls": "phone calls"}
        for key, label in labels.items():
            if key in changes:
                words.append(f"{label} {'on' if changes[key] else 'off'}")
        if changes.get("contact_hours"):
            words.append(f"contact hours set to {changes['contact_hours']}")
        return Step(text=self.t.render("contact_updated", changes=", ".join(words)))

    def _policy_text(self, result: dict[str, Any]) -> str | None:
        if result.get("status") != "ok" or not result.get("found"):
            return None
        hit = result["hits"][0]
        excerpt = _excerpt(hit["text"])
        return f"{excerpt} {self.t.render('policy_source', title=hit['title'])}"

    def _do_policy_question(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"policy:{index}"
        result = turn.result("search_policy", tag)
        if result is None:
            return Step("search_policy", {"query": turn.text}, tag=tag)
        if result.get("status") != "ok" or not result.get("found"):
            return Step(text=self.t.render("policy_not_found"),
                        state=_offer_human("A policy question the documents did not answer."))
        hit = result["hits"][0]
        return Step(text=self.t.render("policy_answer", title=hit["title"],
                                       excerpt=_excerpt(hit["text"])))

    def _do_affirm(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        tag = f"confirm:{index}"
        names = {"promise_to_pay": "ptp", "due_date_change": "due_date",
                 "deferral": "deferral", "fee_waiver": "fee_waiver"}
        for kind, tool in PENDING_TOOL.items():
            result = turn.result(tool, tag)
            if result is not None:
                if result.get("status") != "ok":
                    return self._refusal(result, task)
                return self._proposal_or_done(result, names[kind], {"replaces": ""})
        pending = turn.facts.get("pending_confirmations") or {}
        if pending:
            key, entry = next(iter(pending.items()))
            tool = PENDING_TOOL.get(key.split(":", 1)[0])
            if tool:
                return Step(tool, {**entry.get("args", {}), "confirm": True}, tag=tag)
        return Step(text=self.t.render("how_can_i_help"))

    def _do_deny(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        if turn.facts.get("pending_confirmations"):
            return Step(text=self.t.render("deny_pending"))
        return Step(text=self.t.render("deny_generic"))

    def _do_greeting(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        return Step(text=self.t.render("how_can_i_help"))

    def _do_thanks(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        return Step(text=self.t.render("thanks"))

    def _do_goodbye(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        return Step(text=self.t.render("goodbye"))

    def _do_out_of_scope(self, turn: Turn, index: int, task: dict[str, Any]) -> Step:
        return Step(text=self.t.render("out_of_scope", support_phone=self.policy.lender.support_phone))


def _partial(identity: dict[str, Any]) -> dict[str, Any]:
    return {k: identity[k] for k in ("dob", "zip") if identity.get(k)}


def _offer_human(summary: str) -> dict[str, Any]:
    return {"awaiting": "offer_human", "offer_summary": summary}


def _slots_for(intent: str, turn: Turn) -> dict[str, Any]:
    from agent.engine.offline.understanding import task_slots

    found = task_slots(intent, turn.text, turn.today)
    if intent == "due_date_change" and "day" not in found:
        from agent.engine.offline.slots import extract_day_of_month

        day = extract_day_of_month(turn.text)
        if day is not None:
            found["day"] = day
    return {k: v for k, v in found.items() if v not in (None, {}, "")}


def _excerpt(text: str, limit: int = 420) -> str:
    body = " ".join(line.strip().lstrip("#-*> ").strip() for line in text.splitlines()
                    if line.strip() and not line.strip().startswith("#"))
    if len(body) <= limit:
        return body
    cut = body[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > 100 else cut.rsplit(" ", 1)[0] + "…"
