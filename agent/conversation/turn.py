"""The customer's turn, top to bottom, in three phases with one job each.

1. **Read** (a short session): the conversation, its last seq, the customer's loans; the
   checks that refuse a message before anything is stored (closed, duplicate id, stale
   proposal, empty, too long).
2. **Run**, outside any write transaction: the input guardrails, then the agent loop on a
   *run session*. The tools read the ledger through it (``ctx.session``); in WAL mode
   those reads hold nothing that blocks another writer. Audit entries of this phase are
   collected in the turn's draft, not in the database.
3. **Write** (one short transaction on the same session): the customer message, the
   reply, audit events, the dialogue state, flags, an escalation and its transitions;
   then commit, then the LangGraph checkpoint (held back by
   :class:`agent.engine.checkpoint.TurnCheckpoints` until now, so the model never
   remembers a turn the transcript rolled back).

Ledger writes by tools (a confirmed promise, a payment link, a new due day) happen in the
run phase and need their ids at once, so they are flushed where they happen: the run
session's transaction becomes the write transaction from that moment, and on a SQLite
file the process-wide write gate (:mod:`agent.db.write_gate`) is taken then and kept to
the commit. Most turns write nothing while the agent runs and take the gate only for the
write phase. A write phase that fails on a database error (a seq clash with another
process, the database unreachable) is retried — the write phase only, re-reading the
seq — when the run wrote nothing; otherwise, or when the retries fail, everything of the
turn is rolled back (ledger writes with it), the checkpoint is forgotten, and the
customer gets ``try_again``: nothing of the message was stored, send it again.

Per-conversation ordering: the service's order (:mod:`agent.conversation.ordering`)
serialises the three phases of one conversation's turns with its staff actions, inside a
process and, on PostgreSQL, across the server processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from agent.conversation import handoff
from agent.conversation.events import ReplyDrafts
from agent.conversation.models import Conversation, Escalation, Flag, Message
from agent.conversation.proposals import proposal_card
from agent.conversation.results import ConversationError, TurnOutcome, outgoing
from agent.conversation.state import ConversationState, InvalidTransition
from agent.conversation.transcript import AuditEntry, guardrail_entry, tool_result_entries
from agent.engine.templates import joined, listed, replying_in
from agent.engine.templates import reply_language as _current_language
from agent.language.confirmation import is_yes
from agent.language.detect import detect_language
from agent.language.normalize import clean_text
from agent.ledger import repository as repo
from agent.policy.config import EscalationReason
from agent.tools.context import ConversationContext, EscalationRequest
from agent.tools.ledger_tools import proposals_shown

if TYPE_CHECKING:
    from agent.conversation.service import ConversationService

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 3
TRY_AGAIN = (
    "Your message could not be saved just now, so nothing was changed. Please send it again."
)


@dataclass
class TurnRead:
    """What the read phase found (``conv`` is a detached snapshot)."""

    conv: Conversation
    last_seq: int
    own_loans: list[str] | None


@dataclass
class TurnDraft:
    """What the run phase decided, for the write phase to store."""

    verdict: Any
    client_message_id: str | None
    answers: bool  # the AI answers (the conversation was with the AI)
    parts: list[str] = field(default_factory=list)
    audits: list[AuditEntry] = field(default_factory=list)
    ctx: ConversationContext | None = None
    reply: Any | None = None  # the agent's reply, when the agent ran
    language: str = "en"  # the message's, which the conversation takes on


class CustomerTurns:
    def __init__(self, service: ConversationService) -> None:
        self.s = service

    def customer_message(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        with self.s.order.hold(conversation_id):
            outcome = self.take(conversation_id, text, client_message_id, confirms)
        self.s.events.turn(outcome)
        return outcome

    def take(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        """The turn's three phases, stored but not yet announced: the caller holds the
        conversation's order and publishes the outcome (in this process, or in the server
        process when a turn worker took the turn: :mod:`agent.turn_workers`)."""
        text = clean_text(text)  # before anything is stored, checked or sent to a model
        read = self._read(conversation_id, text, client_message_id, confirms)
        if isinstance(read, TurnOutcome):
            return read  # a resent message: its stored answer
        try:
            outcome = self._run_and_write(read, text, client_message_id, confirms)
        except BaseException:
            self.s.agent.forget_turn(conversation_id)
            raise
        self._keep_checkpoint(conversation_id)
        return outcome

    # --- 1. read -------------------------------------------------------------------------

    def _read(
        self, conversation_id: str, text: str, client_message_id: str | None, confirms: str | None
    ) -> TurnRead | TurnOutcome:
        with self.s.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            if conv.state == ConversationState.CLOSED:
                raise ConversationError("conversation_closed", "this conversation is closed")
            if client_message_id:
                duplicate = self.s.tx.duplicate(session, conv, client_message_id)
                if duplicate is not None:
                    return duplicate
            if confirms is not None:
                self._check_proposal(conv, confirms)
            if not text or not text.strip():
                raise ConversationError("empty_message", "the message is empty")
            if len(text) > self.s.settings.max_message_chars:
                raise ConversationError(
                    "message_too_long",
                    self.s.t.render("too_long", limit=self.s.settings.max_message_chars),
                )
            own_loans = (
                [loan.id for loan in repo.customer_loans(session, conv.customer_id)]
                if conv.verified and conv.customer_id
                else None
            )
            return TurnRead(conv, self.s.tx.last_seq(session, conv.id), own_loans)

    def _check_proposal(self, conv: Conversation, proposal: str) -> None:
        shown = proposals_shown(conv.dialogue or {}, conv.customer_message_count)
        if conv.state != ConversationState.AI or proposal not in {
            entry.get("id") for entry in shown.values()
        }:
            raise ConversationError(
                "stale_proposal",
                "That proposal is no longer waiting for an answer, so nothing was changed.",
            )

    # --- 2. run, then 3. write -----------------------------------------------------------

    def _run_and_write(
        self, read: TurnRead, text: str, client_message_id: str | None, confirms: str | None
    ) -> TurnOutcome:
        language = detect_language(text, read.conv.language)
        with replying_in(language):
            return self._run_and_write_in(read, text, client_message_id, confirms, language)

    def _run_and_write_in(
        self,
        read: TurnRead,
        text: str,
        client_message_id: str | None,
        confirms: str | None,
        language: str,
    ) -> TurnOutcome:
        verdict = self.s.guards.check(text, known_loans=read.own_loans, language=language)
        with self.s.sessions() as session:
            flushes: list[int] = []
            event.listen(session, "after_flush", lambda *_: flushes.append(1))
            draft = self._run(session, read, verdict, client_message_id, confirms)
            draft.language = language
            ledger_written = bool(flushes)
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    return self._write(session, read, draft)
                except SQLAlchemyError as exc:
                    session.rollback()
                    if ledger_written or attempt == WRITE_ATTEMPTS:
                        log.warning(
                            "turn not stored (conversation %s, attempt %d): %s",
                            read.conv.id,
                            attempt,
                            exc,
                        )
                        raise ConversationError("try_again", TRY_AGAIN) from exc
                    log.info("write phase retried (conversation %s): %s", read.conv.id, exc)
        raise AssertionError("unreachable")

    def _run(
        self,
        session: Session,
        read: TurnRead,
        verdict: Any,
        client_message_id: str | None,
        confirms: str | None,
    ) -> TurnDraft:
        conv = read.conv
        draft = TurnDraft(verdict, client_message_id, answers=conv.state == ConversationState.AI)
        if not draft.answers:
            return draft  # with a person (or waiting for one): the AI never answers
        turn = conv.customer_message_count + 1
        ctx = self._context(session, conv, verdict.text, turn=turn, audits=draft.audits)
        ctx.language = _current_language()
        ctx.proposal_language = conv.language
        ctx.know_loan_ids(read.own_loans)
        ctx.confirming = confirms
        draft.ctx = ctx
        parts, audits = draft.parts, draft.audits
        if verdict.pii_kinds:
            parts.append(self.s.t.render("pii_warning"))
            audits.append(guardrail_entry(conv.id, "pii_masked", kinds=verdict.pii_kinds))

        if verdict.escalation is not None:
            parts.extend(self._escalation_reply(verdict.escalation))
            ctx.escalation = EscalationRequest(
                reason=str(verdict.escalation.reason),
                priority=str(verdict.escalation.priority),
                summary=handoff.classifier_summary(verdict.escalation),
                evidence=list(verdict.escalation.evidence),
                source="classifier",
            )
            audits.append(
                guardrail_entry(
                    conv.id,
                    "escalate",
                    reason=str(verdict.escalation.reason),
                    confidence=verdict.escalation.confidence,
                    evidence=list(verdict.escalation.evidence),
                )
            )
        elif verdict.third_party is not None:
            parts.append(
                self.s.t.render("third_party", support_phone=self.s.policy.lender.support_phone)
            )
            audits.append(
                guardrail_entry(conv.id, "third_party", relation=verdict.third_party.relation)
            )
        elif verdict.injection is not None and verdict.injection.only_foreign_loans:
            parts.append(self._unknown_loan_reply(read.own_loans))
            audits.append(
                guardrail_entry(conv.id, "foreign_loan", loans=verdict.injection.foreign_loans)
            )
        elif verdict.injection is not None:
            parts.append(self.s.t.render("injection_refusal"))
            audits.append(
                guardrail_entry(
                    conv.id,
                    "injection",
                    family=verdict.injection.family,
                    evidence=list(verdict.injection.evidence),
                )
            )
            ctx.flags.append(("injection_attempt", str(verdict.injection.family)))
        elif turn > self.s.settings.max_customer_messages_per_conversation:
            # A very long conversation: the assistant stops and offers a person; a yes to
            # that offer (or, above, any request for a person) hands over.
            if ctx.dialogue.get("length_limit_offered") and is_yes(verdict.text, ctx.language):
                ctx.escalation = EscalationRequest(
                    reason="human_request",
                    priority=self.s.policy.priority_for("human_request").value,
                    summary="The conversation reached its length limit; the customer "
                    "accepted the offer of a person.",
                    source="guardrail",
                )
            else:
                parts.append(self.s.t.render("not_understood_offer_human"))
                ctx.dialogue["length_limit_offered"] = True
        else:
            ctx.draft_sink = ReplyDrafts(
                self.s.broker,
                conv.id,
                read.last_seq + 1,  # the seq the customer message will get
                joined(
                    p
                    for p in [
                        "" if conv.disclosure_sent else self.s.t.render("disclosure"),
                        *parts,
                    ]
                    if p
                ),
            )
            draft.reply = self.s.agent.run(
                ctx, self._model_input(session, conv, read.last_seq, verdict.text)
            )
            parts.append(draft.reply.text)
        return draft

    def _write(self, session: Session, read: TurnRead, draft: TurnDraft) -> TurnOutcome:
        tx = self.s.tx
        tx.forget_seq(session, read.conv.id)  # re-read: a retry follows someone else's write
        session.info.pop("audit_buffer", None)
        conv = session.get(Conversation, read.conv.id, populate_existing=True)
        if conv is None:
            raise ConversationError("unknown_conversation", "no such conversation")
        verdict = draft.verdict
        customer_msg = tx.store(
            session, conv, "customer", verdict.text, client_message_id=draft.client_message_id
        )
        tx.audit(
            session,
            conv.id,
            "customer_message",
            "customer",
            {"seq": customer_msg.seq, "text": verdict.text, "pii_masked": verdict.pii_kinds},
        )
        conv.customer_message_count += 1
        self._take_language(session, conv, draft.language)
        outcome = TurnOutcome(
            conv.id, conv.state, customer_seq=customer_msg.seq, customer=outgoing(customer_msg)
        )
        if not draft.answers or draft.ctx is None:
            tx.touch(session, conv)
            outcome.state = conv.state
            outcome.language = conv.language
            tx.commit(session)
            return outcome

        ctx = draft.ctx
        tx.audit_all(session, draft.audits)
        if draft.reply is not None:
            tx.audit(
                session,
                conv.id,
                "agent_turn",
                "assistant",
                {"model": draft.reply.model, "tool_calls": draft.reply.tool_calls},
            )
            tx.audit_all(session, tool_result_entries(conv.id, draft.reply.new_messages))
        parts = list(draft.parts)
        if ctx.escalation is not None and not self._mentions_handoff(parts):
            parts.append(self.s.t.render(f"escalated.{ctx.escalation.reason}"))
        text = joined(parts)
        if not conv.disclosure_sent:
            text = self._with_disclosure(text, verdict.escalation)
            conv.disclosure_sent = True
        reply_msg = tx.store(session, conv, "assistant", text)
        tx.audit(
            session, conv.id, "assistant_message", "assistant", {"seq": reply_msg.seq, "text": text}
        )
        self._save_context(session, conv, ctx)
        outcome.replies.append(outgoing(reply_msg))

        if ctx.escalation is not None:
            queue_msg = self._escalate(session, conv, ctx.escalation)
            outcome.escalated = True
            outcome.escalation_reason = ctx.escalation.reason
            outcome.escalation_priority = ctx.escalation.priority
            if queue_msg is not None:
                outcome.replies.append(outgoing(queue_msg))
        outcome.state = conv.state
        outcome.language = conv.language
        outcome.proposal = proposal_card(self.s.t, conv)
        tx.commit(session)
        return outcome

    def _take_language(self, session: Session, conv: Conversation, language: str) -> None:
        """The conversation speaks the language of the customer's last message (shown to
        staff on the queue, the packet and the review list)."""
        if language == conv.language:
            return
        self.s.tx.audit(
            session,
            conv.id,
            "language_changed",
            "system",
            {"from": conv.language, "to": language},
        )
        conv.language = language

    def _keep_checkpoint(self, conversation_id: str) -> None:
        try:
            self.s.agent.keep_turn(conversation_id)
        except Exception:  # the transcript is the record; the checkpoint is one turn behind
            log.exception("checkpoint not written (conversation %s)", conversation_id)

    # --- what the reply says ---------------------------------------------------------------

    def _unknown_loan_reply(self, own_loans: list[str] | None) -> str:
        """The same answer for another customer's loan and a loan that does not exist."""
        own = list(own_loans or [])
        mine = (
            self.s.t.render("parts.own_loan_one", loan=own[0])
            if len(own) == 1
            else self.s.t.render("parts.own_loans_many", loans=listed(own[:-1], ","), last=own[-1])
            if own
            else ""
        )
        # The number typed is not repeated: a reply names no loan but the customer's own.
        return self.s.t.render("unknown_loan_refusal", own_loans=mine)

    def _escalation_reply(self, verdict: Any) -> list[str]:
        parts = []
        if getattr(verdict, "first_response", None) == "crisis_line":
            parts.append(self.s.t.render("crisis_line"))
        if getattr(verdict, "first_response", None) == "stop_debt_discussion":
            parts.append(self.s.t.render("escalated.legal_attorney"))
        else:
            parts.append(self.s.t.render(f"escalated.{verdict.reason}"))
        return parts

    def _mentions_handoff(self, parts: list[str]) -> bool:
        """The reply already tells the customer that a person takes over: one of the
        hand-off texts (in the reply's language), or English words to that effect (an
        LLM's own wording)."""
        text = joined(parts)
        said = (
            any(
                self.s.t.render(f"escalated.{key}") in text
                for key in (*(r.value for r in EscalationReason), "legal_attorney")
                if self.s.t.has(f"escalated.{key}")
            )
            or self.s.t.render("verification_locked") in text
        )
        return said or handoff.mentions_handoff(parts)

    def _with_disclosure(self, text: str, escalation: Any) -> str:
        disclosure = self.s.t.render("disclosure")
        if escalation is not None and getattr(escalation, "first_response", None) == "crisis_line":
            # The crisis line comes before anything else.
            crisis = self.s.t.render("crisis_line")
            rest = text.replace(crisis, "", 1).strip()
            return joined([crisis, disclosure, rest])
        return joined([disclosure, text])

    # --- the agent's context -------------------------------------------------------------

    @staticmethod
    def _model_input(
        session: Session, conv: Conversation, last_seq: int, text: str
    ) -> list[BaseMessage]:
        """The new customer message, preceded by anything said while a person had the chat
        (``last_seq``: the last stored seq, before this message)."""
        if conv.synced_seq >= last_seq:
            return [HumanMessage(content=text)]  # nothing was said since the AI's last turn
        unsynced = session.exec(
            select(Message)
            .where(Message.conversation_id == conv.id, Message.seq > conv.synced_seq)
            .order_by(col(Message.seq))
        ).all()
        prefix: list[BaseMessage] = []
        for m in unsynced:
            if m.role == "customer":
                prefix.append(HumanMessage(content=m.content))
            elif m.role == "agent":
                prefix.append(
                    AIMessage(
                        content=f"[{m.author or 'Agent'} (a person) said] {m.content}",
                        name="human_agent",
                    )
                )
        return [*prefix, HumanMessage(content=text)]

    def _context(
        self,
        session: Session,
        conv: Conversation,
        text: str,
        *,
        turn: int | None = None,
        audits: list[AuditEntry] | None = None,
    ) -> ConversationContext:
        """The tools' view of the conversation; their audit entries go to ``audits`` (the
        run phase) or, without it, to the session's audit buffer (the write phase)."""
        now = self.s.clock().astimezone(ZoneInfo(conv.timezone))
        dialogue = dict(conv.dialogue or {})
        ctx = ConversationContext(
            conversation_id=conv.id,
            session=session,
            policy=self.s.policy,
            now=now,
            customer_id=conv.customer_id,
            claimed_customer_id=conv.claimed_customer_id,
            verified=conv.verified,
            failed_verifications=conv.failed_verifications,
            verification_locked=conv.verification_locked,
            turn=conv.customer_message_count if turn is None else turn,
            customer_text=text,
            language=conv.language,
            dialogue=dialogue,
            retriever=self.s.retriever,
        )
        if audits is None:
            ctx.audit = lambda kind, payload: self.s.tx.audit(
                session, conv.id, kind, "tool", payload
            )
        else:
            ctx.audit = lambda kind, payload: audits.append((kind, "tool", payload, conv.id))
        # A proposal waits for an answer in the next turn only (or longer while the
        # customer asks about it: see ledger_tools.shown_in).
        dialogue["pending"] = proposals_shown(dialogue, ctx.turn - 1)
        return ctx

    def _save_context(self, session: Session, conv: Conversation, ctx: ConversationContext) -> None:
        conv.verified = ctx.verified
        conv.customer_id = ctx.customer_id
        conv.claimed_customer_id = ctx.claimed_customer_id
        conv.failed_verifications = ctx.failed_verifications
        conv.verification_locked = ctx.verification_locked
        dialogue = dict(ctx.dialogue)
        dialogue["actions"] = [*dialogue.get("actions", []), *ctx.actions][-50:]
        conv.dialogue = dialogue
        conv.synced_seq = self.s.tx.last_seq(session, conv.id)
        for kind, detail in ctx.flags:
            session.add(Flag(conversation_id=conv.id, kind=kind, detail=detail[:1000]))
            conv.flagged = True
        self.s.tx.touch(session, conv)

    # --- escalation and handoff ----------------------------------------------------------

    def _escalate(
        self, session: Session, conv: Conversation, request: EscalationRequest
    ) -> Message | None:
        tx = self.s.tx
        try:
            tx.transition(session, conv, ConversationState.QUEUED, reason=request.reason)
        except InvalidTransition:
            return None
        conv.priority = request.priority
        conv.escalation_reason = request.reason
        conv.queued_at = self.s.clock()
        packet = self.handoff_packet(session, conv, request)
        session.add(
            Escalation(
                conversation_id=conv.id,
                reason=request.reason,
                priority=request.priority,
                summary=packet["summary"],
                packet=packet,
                created_at=self.s.clock(),
            )
        )
        tx.audit(
            session,
            conv.id,
            "escalation",
            "system",
            {
                "reason": request.reason,
                "priority": request.priority,
                "source": request.source,
                "evidence": request.evidence,
            },
        )
        return tx.store(session, conv, "system", self._queue_notice(session, conv))

    def handoff_packet(
        self, session: Session, conv: Conversation, request: EscalationRequest
    ) -> dict[str, Any]:
        loans: list[dict[str, Any]] = []
        if conv.verified and conv.customer_id:
            from agent.tools.ledger_tools import loan_summary

            ctx = self._context(session, conv, "")
            for loan in repo.customer_loans(session, conv.customer_id):
                summary = loan_summary(ctx, loan)
                summary.pop("_raw", None)
                loans.append(summary)
        return handoff.handoff_packet(session, conv, request, loans)

    def _queue_notice(self, session: Session, conv: Conversation) -> str:
        if not handoff.staff_online(session, self.s.clock()):
            return self.s.t.render(
                "handoff_nobody_online",
                support_hours=self.s.policy.lender.support_hours_in(_current_language()),
                support_phone=self.s.policy.lender.support_phone,
            )
        position = handoff.queue_position(session, conv.id)
        wait = handoff.estimated_wait_minutes(position)
        return self.s.t.render(
            "handoff_queued", position=position, wait_minutes=wait, plural="" if wait == 1 else "s"
        )
