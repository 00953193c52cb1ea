"""The offline engine's dialogue policy.

Each model call sees the whole message list, like an LLM would. The first call of a
turn reads the customer's message into a plan (tasks + identity details) that rides on
the tool-calling AI message; later calls read tool results and either call the next
tool or write the reply. What must survive to the next turn (what we asked for, tasks
waiting for verification, a proposal waiting for a yes) rides on the reply's
``additional_kwargs``. Deterministic for the same messages and clock.

The task handlers (one per intent) live in :mod:`.handlers`; the reading of a message
in :mod:`.understanding`; answers to the engine's own questions in :mod:`.dialogue`.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.engine import session_facts
from agent.engine.offline import dialogue
from agent.engine.offline.handlers import (
    Step,
    TaskHandlers,
    Tasks,
    Turn,
    proposed_task,
    read_reply_to_proposal,
    reply_to_proposal,
)
from agent.engine.offline.intents import IntentMatcher
from agent.engine.offline.language_intents import LanguageIntentModel
from agent.engine.offline.state import (
    DialogueState,
    IdentityPartial,
    LoanChoice,
    Slots,
    Task,
    TaskStatus,
)
from agent.engine.offline.understanding import (
    ACCOUNT_INTENTS,
    READ_INTENTS,
    WRITE_INTENTS,
    understand,
    understand_localized,
)
from agent.engine.templates import Templates, joined
from agent.language.confirmation import Answer
from agent.policy.config import PolicyConfig

PLAN_KEY = "offline_plan"
STATE_KEY = "offline_state"


class OfflineBrain(TaskHandlers):
    def __init__(
        self,
        matcher: IntentMatcher,
        templates: Templates,
        policy: PolicyConfig,
        language_intents: dict[str, LanguageIntentModel] | None = None,
    ) -> None:
        self.matcher = matcher
        self.t = templates
        self.policy = policy
        # Chinese and Spanish: an intent model each (``language_intents``).
        self.language_intents = language_intents or {}

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
        return AIMessage(content=step.text or "", additional_kwargs={STATE_KEY: step.state.dump()})

    def _read_turn(self, messages: list[BaseMessage]) -> Turn:
        system = next((m for m in messages if isinstance(m, SystemMessage)), None)
        facts = session_facts.parse(str(system.content)) if system else {}
        facts.setdefault("today", date.today().isoformat())
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        text = str(messages[last_human].content)
        state = DialogueState()
        for m in reversed(messages[:last_human]):
            if isinstance(m, AIMessage) and m.name == "human_agent":
                break  # a person had the chat since: what we asked before is stale
            if isinstance(m, AIMessage) and STATE_KEY in m.additional_kwargs:
                state = DialogueState.load(m.additional_kwargs[STATE_KEY])
                break
        plan = None
        calls = 0
        tags: dict[str, str | None] = {}
        results: list[tuple[str, dict[str, Any]]] = []
        for m in messages[last_human + 1 :]:
            if isinstance(m, AIMessage) and m.tool_calls:
                calls += 1
                plan = plan or m.additional_kwargs.get(PLAN_KEY)
                for call in m.tool_calls:
                    tags[call["id"]] = m.additional_kwargs.get("tag")
            elif isinstance(m, ToolMessage):
                results.append(
                    (m.name or "", _parse_result(m, tags, self.t.render("tool_result_unreadable")))
                )
        fresh = plan is None
        language = str(facts.get("language") or "en")
        if plan is None and language in self.language_intents:
            plan = understand_localized(
                self.language_intents[language],
                text,
                language,
                date.fromisoformat(facts["today"]),
                facts.get("customer_loans") or (),
            )
        if plan is None:
            plan = understand(
                self.matcher,
                text,
                date.fromisoformat(facts["today"]),
                facts.get("customer_loans") or (),
                self.policy.promise_to_pay.max_days_ahead,
            )
        turn = Turn(facts, plan.get("text", text), text, plan, state, results, calls)
        if fresh:
            # Read once, as things stood when the message came: a re-proposal in this
            # turn changes what the tools hold, not what the customer answered.
            plan["proposal"] = read_reply_to_proposal(turn)
        return turn

    # --- the policy --------------------------------------------------------------------

    def _next(self, turn: Turn) -> Step:
        tasks: Tasks = list(turn.tasks)
        escalation = next((t for t in tasks if t.kind == "escalate"), None)
        if escalation is not None and self._corrects_pending(turn, escalation):
            tasks = [t for t in tasks if t is not escalation]  # "no that's wrong, Friday"
        elif escalation is not None:
            return self._do_escalate(turn, 0, escalation)
        identity = self._identity(turn)
        prefix: list[str] = []

        step = self._verification_call(turn, identity)
        if step is not None:
            return step
        verification = turn.result("verify_identity")
        if verification is not None:
            outcome = self._after_verification(turn, verification, tasks, identity)
            if isinstance(outcome, Step):
                return outcome
            tasks, greeting = outcome
            prefix.append(greeting)

        continued = self._continue_from_state(turn, tasks)
        if isinstance(continued, Step):
            return continued
        tasks = continued
        other = self._the_other_loan(turn, tasks)
        if other is not None:
            tasks = other
        verified = bool(turn.facts.get("verified")) or verification is not None
        if not tasks and verified and identity.get("loan_number") and len(turn.text) <= 40:
            # A bare loan number from a verified customer: "tell me about that loan".
            tasks = [Task(kind="balance", slots=Slots(loan_id=identity["loan_number"]))]
        if not tasks:
            return self._no_task(turn, identity)

        verified = turn.facts.get("verified", False) or verification is not None
        needs_account = [t for t in tasks if t.kind in ACCOUNT_INTENTS]
        if needs_account and not verified:
            return self._ask_identity(turn, identity, needs_account)
        inferred = self._infer_loans(turn, tasks)
        if isinstance(inferred, Step):
            return inferred
        tasks = inferred

        parts = list(prefix)
        new_state = DialogueState()
        for index, task in enumerate(tasks):
            out = self._task(turn, index, task)
            if out.tool is not None:
                return out
            if out.text and out.text not in parts:  # two tasks refused alike: say it once
                parts.append(out.text)
            new_state = new_state.merged(out.state)
        return Step(text=joined(parts), state=new_state)

    # --- identity ----------------------------------------------------------------------

    def _identity(self, turn: Turn) -> dict[str, Any]:
        """Identity details of this message, completed by those kept from earlier turns.
        ``given`` says whether this message itself carried a date of birth or ZIP."""
        identity = dict(turn.plan["identity"])
        partial = turn.state.identity_partial
        identity["given"] = bool(identity["dob"] or identity["zip"])
        identity["dob"] = identity["dob"] or partial.dob
        identity["zip"] = identity["zip"] or partial.zip
        return identity

    def _verification_call(self, turn: Turn, identity: dict[str, Any]) -> Step | None:
        """Identify (anonymous sessions) and verify when the details are there."""
        facts = turn.facts
        if facts.get("verified") or facts.get("verification_locked"):
            return None
        knows_subject = facts.get("customer_known") or facts.get("identified")
        wants_identity = identity["loan_number"] or identity["phone"]
        identified_now = turn.result("identify_customer") is not None
        if not knows_subject and wants_identity and not identified_now:
            return Step(
                "identify_customer",
                {"loan_number": identity["loan_number"], "phone": identity["phone"]},
            )
        fresh = identity["given"] or identified_now
        if (
            (knows_subject or identified_now)
            and fresh
            and identity["dob"]
            and identity["zip"]
            and not turn.result("verify_identity")
        ):
            return Step(
                "verify_identity",
                {"date_of_birth": identity["dob"], "postal_code": identity["zip"]},
            )
        return None

    def _after_verification(
        self, turn: Turn, verification: dict[str, Any], tasks: Tasks, identity: dict[str, Any]
    ) -> Step | tuple[Tasks, str]:
        state = turn.state
        if verification.get("status") != "ok":
            if verification.get("error") == "verification_locked":
                return Step(text=self.t.render("escalated.verification_failed"))
            left = int(verification.get("attempts_left", 0))
            pending = state.pending_tasks or [
                t.at(TaskStatus.AWAITING_VERIFICATION) for t in tasks if t.kind in ACCOUNT_INTENTS
            ]
            return Step(
                text=self.t.render(
                    "verification_failed", attempts_left=left, plural="" if left == 1 else "s"
                ),
                state=DialogueState(
                    awaiting="verification",
                    pending_tasks=pending,
                    identity_partial=_partial(identity),
                ),
            )
        name = verification.get("first_name") or ""
        if not [t for t in tasks if t.kind not in {"affirm", "greeting", "thanks"}]:
            tasks = state.pending_tasks
            if not tasks:
                return Step(text=self.t.render("verified_what_next", first_name=name))
        return tasks, self.t.render("verified", first_name=name)

    def _no_task(self, turn: Turn, identity: dict[str, Any]) -> Step:
        facts, state = turn.facts, turn.state
        keep = {"pending_tasks": state.pending_tasks, "identity_partial": _partial(identity)}
        if turn.result("identify_customer") and not facts.get("verified"):
            return Step(
                text=self.t.render("ask_verification_after_identifier"),
                state=DialogueState(awaiting="verification", **keep),
            )
        if not facts.get("verified") and (identity["dob"] or identity["zip"]):
            if facts.get("verification_locked"):
                return Step(text=self.t.render("escalated.verification_failed"))
            if not (facts.get("customer_known") or facts.get("identified")):
                return Step(
                    text=self.t.render("ask_identifier"),
                    state=DialogueState(awaiting="identifier", **keep),
                )
            if identity["dob"] and identity["zip"]:
                return Step(
                    text=self.t.render("ask_verification"),
                    state=DialogueState(awaiting="verification", **keep),
                )
            missing = self.t.render("parts.missing_zip" if identity["dob"] else "parts.missing_dob")
            return Step(
                text=self.t.render("ask_verification_partial", missing=missing),
                state=DialogueState(awaiting="verification", **keep),
            )
        if facts.get("verified") and identity["given"]:
            return Step(text=self.t.render("already_verified"))
        streak = state.not_understood + 1
        if streak >= 2:
            return Step(
                text=self.t.render("not_understood_offer_human"),
                state=DialogueState(
                    awaiting="offer_human",
                    not_understood=streak,
                    offer_summary="The assistant could not understand the request.",
                ),
            )
        options = [self.t.render(f"intent_labels.{i}") for i in turn.plan.get("clarify", [])]
        if options:  # the model was not sure enough to act: one clarifying question
            key = "clarify_two" if len(options) == 2 else "clarify_one"
            return Step(
                text=self.t.render(key, first=options[0], second=options[-1]),
                state=DialogueState(not_understood=streak),
            )
        return Step(
            text=self.t.render("not_understood"), state=DialogueState(not_understood=streak)
        )

    def _ask_identity(self, turn: Turn, identity: dict[str, Any], tasks: Tasks) -> Step:
        facts = turn.facts
        state = DialogueState(
            awaiting="verification",
            pending_tasks=[t.at(TaskStatus.AWAITING_VERIFICATION) for t in tasks],
            identity_partial=_partial(identity),
        )
        if facts.get("verification_locked"):
            return Step(text=self.t.render("escalated.verification_failed"))
        if not (facts.get("customer_known") or facts.get("identified")) and not turn.result(
            "identify_customer"
        ):
            return Step(
                text=self.t.render("ask_identifier"),
                state=state.model_copy(update={"awaiting": "identifier"}),
            )
        if turn.result("identify_customer"):
            return Step(text=self.t.render("ask_verification_after_identifier"), state=state)
        if bool(identity["dob"]) != bool(identity["zip"]):
            missing = self.t.render("parts.missing_zip" if identity["dob"] else "parts.missing_dob")
            return Step(
                text=self.t.render("ask_verification_partial", missing=missing), state=state
            )
        return Step(text=self.t.render("ask_verification"), state=state)

    # --- answers to what we asked last turn ---------------------------------------------

    def _continue_from_state(self, turn: Turn, tasks: Tasks) -> Tasks | Step:
        state = turn.state
        awaiting = state.awaiting or ""
        if awaiting in {"offer_human", "offer_hardship"}:
            step = self._answer_offer(turn, awaiting, tasks)
            if step is not None:
                return step
        asked_links = dialogue.substantive(tasks)
        bare_links = bool(asked_links) and all(
            t.kind == "payment_link" and not t.slots.amount and not t.slots.amount_keyword
            for t in asked_links
        )
        if (
            awaiting == "offer_link"
            and state.task is not None
            and (("affirm" in turn.intents and not asked_links) or bare_links)
        ):
            return [state.task]  # "yes", "yes send the link", "send it"
        if awaiting == "verification" and not dialogue.substantive(tasks):
            return state.pending_tasks if turn.facts.get("verified") else tasks
        if awaiting == "loan_choice":
            picked = self._answer_loan_choice(turn, tasks)
            if picked is not None:
                return picked
            if dialogue.digression(tasks, turn.intents):
                # "how much is on each?" before choosing: the answer, then the question again.
                return [*tasks, *state.pending_tasks]
        pending = state.task
        proposed = proposed_task(turn)
        if proposed is not None:
            tasks = [_refer_back(t, proposed, turn.text) for t in tasks]
            switched = self._other_loan_for(turn, proposed)
            if switched is not None:
                return [switched]  # "no, the other one": the same proposal on the other loan
            answered = self._answer_to_proposal(turn, proposed, tasks)
            if answered is not None:
                return answered
        if pending is not None and (
            awaiting.startswith("slot:") or awaiting in {"confirmation", "offer_hardship"}
        ):
            values = dialogue.fresh_values(pending.kind, turn.text, turn.today, turn.loan_number)
            asked = awaiting.removeprefix("slot:")
            if dialogue.answers_pending(pending.kind, asked, tasks, values, turn.text):
                return [dialogue.merge(pending, values)]  # an answer, or a correction
        if (
            pending is not None
            and state.waits_for_task()
            and dialogue.digression(tasks, turn.intents)
        ):
            # A question in between ("when is it due again?") does not drop the task: the
            # answer, then the task again (its question, or its proposal to say yes to).
            if pending.loan_id and _THAT_LOAN.search(turn.text):
                tasks = [t if t.loan_id else t.on_loan(pending.loan_id) for t in tasks]
            return [*tasks, pending]
        return tasks

    def _answer_to_proposal(self, turn: Turn, proposed: Task, tasks: Tasks) -> Tasks | None:
        """What a reply to a proposal does, as the one confirmation rule reads it
        (:mod:`agent.language.confirmation`, the same the tools check): a plain yes
        confirms it; another value is a new proposal; a no withdraws it; a question (its
        answer first), a condition, a hesitation or anything unclear keeps it pending and
        shows it again. None: a new request, which replaces the proposal."""
        reply = reply_to_proposal(turn)
        if reply is None:
            return None
        # Other requests in the reply, when a pattern recognised them (the model's guess
        # about "maybe" or "what does that mean?" is no request).
        others = [
            t
            for t in dialogue.substantive(tasks)
            if t.kind not in (proposed.kind, "out_of_scope") and t.cue
        ]
        if reply is Answer.YES:
            return [Task(kind="affirm"), *others]  # "yes, and send me a link"
        if reply is Answer.NO:
            return None if others else [Task(kind="deny")]
        if reply is Answer.CHANGED:
            values = dialogue.fresh_values(proposed.kind, turn.text, turn.today, turn.loan_number)
            if values and dialogue.answers_pending(
                proposed.kind, "confirmation", tasks, values, turn.text
            ):
                return [dialogue.merge(proposed, values)]  # the new value, proposed
        if any(t.kind in WRITE_INTENTS for t in others):
            return None
        if proposed.loan_id and _THAT_LOAN.search(turn.text):
            others = [t if t.loan_id else t.on_loan(proposed.loan_id) for t in others]
        reason = "answered" if others else reply.value
        return [*others, Task(kind="reconfirm", slots=Slots(reason=reason)), proposed]

    def _other_loan_for(self, turn: Turn, pending: Task) -> Task | None:
        loans = list(turn.facts.get("customer_loans") or [])
        if len(loans) != 2 or not pending.loan_id or not _OTHER.search(turn.text):
            return None
        others = [loan for loan in loans if loan != pending.loan_id]
        return pending.on_loan(others[0]) if len(others) == 1 else None

    def _the_other_loan(self, turn: Turn, tasks: Tasks) -> Tasks | None:
        """ "And the other one?" after a question answered for one of two loans: the same
        question (or the new one: "what's the payoff on the other one") about the other."""
        last = turn.state.last_read
        loans = list(turn.facts.get("customer_loans") or [])
        if last is None or len(loans) != 2 or not _OTHER.search(turn.text):
            return None
        others = [loan for loan in loans if loan not in last.loans]
        if len(others) != 1:
            return None
        asked = [t for t in dialogue.substantive(tasks) if not t.loan_id]
        if asked:
            return [t.on_loan(others[0]) for t in asked]
        return [Task(kind=last.kind, cue=True, slots=Slots(loan_id=others[0]))]

    def _infer_loans(self, turn: Turn, tasks: Tasks) -> Tasks | Step:
        """A customer with several loans who said something only one of them fits (an
        amount one of them has past due or as its payoff, "the late one", a late fee to
        waive when only one has one): that loan, without asking which. Reads the
        summaries of all the customer's loans once (tag ``infer``) to know."""
        if len(turn.facts.get("customer_loans") or []) < 2:
            return tasks
        hinted = [
            i for i, t in enumerate(tasks) if not t.loan_id and dialogue.loan_hint(t, turn.text)
        ]
        if not hinted:
            return tasks
        result = turn.result("get_account_summary", "infer")
        if result is None:
            return Step("get_account_summary", {}, tag="infer")
        if result.get("status") != "ok":
            return tasks
        summaries = result.get("loans", [])
        inferred = list(tasks)
        for i in hinted:
            loan = dialogue.fitting_loan(inferred[i], turn.text, summaries)
            if loan is not None:
                inferred[i] = inferred[i].on_loan(loan)
        return inferred

    def _corrects_pending(self, turn: Turn, escalation: Task) -> bool:
        """ "That's not right, make it $90": a correction of what we just proposed or
        asked, not a dispute of the debt."""
        state = turn.state
        awaiting = state.awaiting or ""
        pending = state.task
        if (
            escalation.slots.reason != "dispute"
            or pending is None
            or not (awaiting == "confirmation" or awaiting.startswith("slot:"))
        ):
            return False
        return bool(dialogue.fresh_values(pending.kind, turn.text, turn.today, turn.loan_number))

    def _answer_offer(self, turn: Turn, awaiting: str, tasks: Tasks) -> Step | None:
        intents = turn.intents
        bare_yes = "affirm" in intents and not dialogue.substantive(tasks)
        if awaiting == "offer_hardship":
            pending = turn.state.task
            values = dialogue.fresh_values("promise_to_pay", turn.text, turn.today, None)
            if pending is not None and values.get("date"):
                return None  # a new date: the promise goes on
            refuses = dialogue.cannot(turn.text) or (
                "deny" in intents and not dialogue.substantive(tasks)
            )
            if bare_yes or refuses:
                return self._escalate(turn, "hardship", turn.state.offer_summary)
            return None
        if bare_yes:
            return self._escalate(turn, "human_request", turn.state.offer_summary)
        return None

    def _answer_loan_choice(self, turn: Turn, tasks: Tasks) -> Tasks | None:
        """The loan chosen: the tasks that waited for it go on, slots and all."""
        state = turn.state
        choice = state.loan_choice or LoanChoice()
        loan = dialogue.chosen_loan(
            turn.text, turn.loan_number, choice.loans, choice.balances, choice.past_due
        )
        if loan is None:
            return None
        # "the one with $110 past due" describes the loan (its cue for a read of what is
        # past due is no question); "L301, and what's my payoff?" asks something new.
        asks = dialogue.asks(turn.text)
        others = [
            t
            for t in dialogue.substantive(tasks)
            if t.cue and not dialogue.is_bare(turn.text) and (asks or t.kind not in READ_INTENTS)
        ]
        if others:
            return None
        return [t.on_loan(loan).at(TaskStatus.NEW) for t in state.pending_tasks]


def _parse_result(
    message: ToolMessage, tags: dict[str, str | None], unreadable: str
) -> dict[str, Any]:
    try:
        value = json.loads(str(message.content))
    except (TypeError, ValueError):
        value = {"status": "error", "error": "unreadable"}
    if not isinstance(value, dict):
        value = {"status": "error", "error": "unreadable"}
    if value.get("status") != "ok":
        # A result that is not the tool's own (a cap's refusal, a broken call) carries no
        # message for the customer; the handlers put one in their refusals.
        value.setdefault("message", unreadable)
    value["_tag"] = tags.get(message.tool_call_id)
    return value


_OTHER = re.compile(
    r"\b(the )?other (one|loan|account)\b|\bwhat about the (second|first) (one|loan)\b",
    re.IGNORECASE,
)
# "when is the next payment on that one?" while a task about one loan waits.
_THAT_LOAN = re.compile(r"\b(that|this|the same) (one|loan|account)\b|\bon it\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(it|that|this|the same( amount)?|that amount)\b", re.IGNORECASE)


def _refer_back(task: Task, pending: Task, text: str) -> Task:
    """ "send me a link for it": the amount (and loan) of the proposal we just made."""
    slots = task.slots
    if (
        task.kind != "payment_link"
        or slots.amount
        or slots.amount_keyword
        or not _REFERENCE.search(text)
    ):
        return task
    carried = {
        k: getattr(pending.slots, k)
        for k in ("amount", "amount_keyword", "loan_id")
        if getattr(pending.slots, k) and not getattr(slots, k)
    }
    return task.model_copy(update={"slots": slots.model_copy(update=carried)})


def _partial(identity: dict[str, Any]) -> IdentityPartial:
    return IdentityPartial(dob=identity.get("dob"), zip=identity.get("zip"))
