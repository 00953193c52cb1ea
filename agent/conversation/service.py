"""The conversation service: one customer turn as data flowing through the house.

customer text → input guardrails (mask PII, size cap, escalation, third party, injection)
→ agent loop (tools enforce identity, authorization, policy) → output guardrails (in the
agent's middleware) → disclosure → transcript + audit → events for the web layer.

Staff actions (claim, reply, hand back, close) are state-machine transitions plus events.
Nothing here imports FastAPI or the web layer.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import update
from sqlmodel import Session, col, select

from agent.audit.log import append_events
from agent.conversation import handoff
from agent.conversation.broker import Broker, InProcessBroker
from agent.conversation.events import ConversationEvents, ReplyDrafts
from agent.conversation.models import (
    Conversation,
    ConversationEvent,
    Escalation,
    Flag,
    Message,
    StaffUser,
)
from agent.conversation.results import (
    ConversationError,
    OutgoingMessage,
    TurnOutcome,
    outgoing,
)
from agent.conversation.state import ConversationState, InvalidTransition, check_transition
from agent.db.types import utcnow
from agent.engine.templates import Templates
from agent.language.confirmation import is_yes
from agent.language.normalize import clean_text
from agent.ledger import repository as repo
from agent.policy.config import EscalationReason, PolicyConfig
from agent.settings import Settings
from agent.tools.context import ConversationContext, EscalationRequest
from agent.tools.ledger_tools import proposals_shown


class ConversationService:
    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        settings: Settings,
        policy: PolicyConfig,
        agent: Any,
        guards: Any,
        templates: Templates,
        retriever: Any | None = None,
        broker: Broker | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.policy = policy
        self.agent = agent
        self.guards = guards
        self.t = templates
        self.retriever = retriever
        self.broker: Broker = broker or InProcessBroker()
        self.events = ConversationEvents(self.broker)
        self.clock = clock or utcnow
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    # --- starting and reading ----------------------------------------------------------

    def start(
        self, *, channel: str = "widget", customer_id: str | None = None, verified: bool = False
    ) -> Conversation:
        with self.sessions() as session:
            timezone = "America/New_York"
            if customer_id is not None:
                customer = repo.get_customer(session, customer_id)
                if customer is None:
                    raise ConversationError("unknown_customer", "unknown customer for session")
                timezone = customer.timezone
            now = self.clock()
            conv = Conversation(
                id=uuid.uuid4().hex,
                channel=channel,
                customer_id=customer_id,
                verified=verified and customer_id is not None,
                timezone=timezone,
                created_at=now,
                updated_at=now,
            )
            session.add(conv)
            session.flush()
            self._event(
                session, conv, "started", data={"channel": channel, "verified": conv.verified}
            )
            self._audit(
                session,
                conv.id,
                "conversation_started",
                "system",
                {"channel": channel, "customer_id": customer_id, "verified": conv.verified},
            )
            self._commit(session)
            return conv

    def get(self, conversation_id: str) -> Conversation:
        with self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            return conv

    def transcript(self, conversation_id: str, after_seq: int = 0) -> list[OutgoingMessage]:
        with self.sessions() as session:
            rows = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
                .order_by(col(Message.seq))
            )
            return [outgoing(m) for m in rows]

    # --- the customer's turn -------------------------------------------------------------

    def customer_message(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        """One customer turn. ``confirms``: the id of the proposal the widget's Yes/No
        button answered (``text`` is then what the button said); refused as
        ``stale_proposal`` unless that proposal is the one waiting for an answer now."""
        text = clean_text(text)  # before anything is stored, checked or sent to a model
        with self._locks[conversation_id], self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            if conv.state == ConversationState.CLOSED:
                raise ConversationError("conversation_closed", "this conversation is closed")
            if client_message_id:
                duplicate = self._duplicate(session, conv, client_message_id)
                if duplicate is not None:
                    return duplicate
            if confirms is not None:
                self._check_proposal(conv, confirms)
            if not text or not text.strip():
                raise ConversationError("empty_message", "the message is empty")
            if len(text) > self.settings.max_message_chars:
                raise ConversationError(
                    "message_too_long",
                    self.t.render("too_long", limit=self.settings.max_message_chars),
                )
            outcome = self._customer_turn(session, conv, text, client_message_id, confirms)
            self._commit(session)
        self.events.turn(outcome)
        return outcome

    def _check_proposal(self, conv: Conversation, proposal: str) -> None:
        shown = proposals_shown(conv.dialogue or {}, conv.customer_message_count)
        if conv.state != ConversationState.AI or proposal not in {
            entry.get("id") for entry in shown.values()
        }:
            raise ConversationError(
                "stale_proposal",
                "That proposal is no longer waiting for an answer, so nothing was changed.",
            )

    def _customer_turn(
        self,
        session: Session,
        conv: Conversation,
        raw_text: str,
        client_message_id: str | None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        own_loans = (
            [loan.id for loan in repo.customer_loans(session, conv.customer_id)]
            if conv.verified and conv.customer_id
            else None
        )
        verdict = self.guards.check(raw_text, known_loans=own_loans)
        customer_msg = self._store(
            session, conv, "customer", verdict.text, client_message_id=client_message_id
        )
        self._audit(
            session,
            conv.id,
            "customer_message",
            "customer",
            {"seq": customer_msg.seq, "text": verdict.text, "pii_masked": verdict.pii_kinds},
        )
        conv.customer_message_count += 1
        outcome = TurnOutcome(
            conv.id, conv.state, customer_seq=customer_msg.seq, customer=outgoing(customer_msg)
        )
        if conv.state != ConversationState.AI:
            # With a person (or waiting for one): the AI never answers.
            self._touch(session, conv)
            outcome.state = conv.state
            return outcome

        ctx = self._context(session, conv, verdict.text)
        ctx.confirming = confirms
        parts: list[str] = []
        if verdict.pii_kinds:
            parts.append(self.t.render("pii_warning"))
            self._guardrail_audit(session, conv.id, "pii_masked", kinds=verdict.pii_kinds)

        if verdict.escalation is not None:
            parts.extend(self._escalation_reply(verdict.escalation))
            ctx.escalation = EscalationRequest(
                reason=str(verdict.escalation.reason),
                priority=str(verdict.escalation.priority),
                summary=handoff.classifier_summary(verdict.escalation),
                evidence=list(verdict.escalation.evidence),
                source="classifier",
            )
            self._guardrail_audit(
                session,
                conv.id,
                "escalate",
                reason=str(verdict.escalation.reason),
                confidence=verdict.escalation.confidence,
                evidence=list(verdict.escalation.evidence),
            )
        elif verdict.third_party is not None:
            parts.append(
                self.t.render("third_party", support_phone=self.policy.lender.support_phone)
            )
            self._guardrail_audit(
                session, conv.id, "third_party", relation=verdict.third_party.relation
            )
        elif verdict.injection is not None and verdict.injection.only_foreign_loans:
            parts.append(self._unknown_loan_reply(own_loans))
            self._guardrail_audit(
                session, conv.id, "foreign_loan", loans=verdict.injection.foreign_loans
            )
        elif verdict.injection is not None:
            parts.append(self.t.render("injection_refusal"))
            self._guardrail_audit(
                session,
                conv.id,
                "injection",
                family=verdict.injection.family,
                evidence=list(verdict.injection.evidence),
            )
            ctx.flags.append(("injection_attempt", str(verdict.injection.family)))
        elif conv.customer_message_count > self.settings.max_customer_messages_per_conversation:
            # A very long conversation: the assistant stops and offers a person; a yes to
            # that offer (or, above, any request for a person) hands over.
            if ctx.dialogue.get("length_limit_offered") and is_yes(verdict.text):
                ctx.escalation = EscalationRequest(
                    reason="human_request",
                    priority=self.policy.priority_for("human_request").value,
                    summary="The conversation reached its length limit; the customer "
                    "accepted the offer of a person.",
                    source="guardrail",
                )
            else:
                parts.append(self.t.render("not_understood_offer_human"))
                ctx.dialogue["length_limit_offered"] = True
        else:
            ctx.draft_sink = ReplyDrafts(
                self.broker,
                conv.id,
                customer_msg.seq,
                " ".join(
                    p
                    for p in [
                        "" if conv.disclosure_sent else self.t.render("disclosure"),
                        *parts,
                    ]
                    if p
                ),
            )
            reply = self.agent.run(ctx, self._model_input(session, conv, verdict.text))
            parts.append(reply.text)
            self._audit(
                session,
                conv.id,
                "agent_turn",
                "assistant",
                {"model": reply.model, "tool_calls": reply.tool_calls},
            )
            self._audit_tool_results(session, conv.id, reply.new_messages)

        if ctx.escalation is not None and not handoff.mentions_handoff(parts):
            parts.append(self.t.render(f"escalated.{ctx.escalation.reason}"))
        text = " ".join(p for p in parts if p)
        if not conv.disclosure_sent:
            text = self._with_disclosure(text, verdict.escalation)
            conv.disclosure_sent = True
        reply_msg = self._store(session, conv, "assistant", text)
        self._audit(
            session, conv.id, "assistant_message", "assistant", {"seq": reply_msg.seq, "text": text}
        )
        self._save_context(session, conv, ctx)
        outcome.replies.append(outgoing(reply_msg))

        if ctx.escalation is not None:
            queue_msg = self._escalate(session, conv, ctx, ctx.escalation)
            outcome.escalated = True
            outcome.escalation_reason = ctx.escalation.reason
            outcome.escalation_priority = ctx.escalation.priority
            if queue_msg is not None:
                outcome.replies.append(outgoing(queue_msg))
        outcome.state = conv.state
        return outcome

    def _unknown_loan_reply(self, own_loans: list[str] | None) -> str:
        """The same answer for another customer's loan and a loan that does not exist."""
        own = list(own_loans or [])
        mine = (
            f"The loan I can help you with is {own[0]}."
            if len(own) == 1
            else f"The loans I can help you with are {', '.join(own[:-1])} and {own[-1]}."
            if own
            else ""
        )
        # The number typed is not repeated: a reply names no loan but the customer's own.
        return self.t.render("unknown_loan_refusal", own_loans=mine)

    def _escalation_reply(self, verdict: Any) -> list[str]:
        parts = []
        if getattr(verdict, "first_response", None) == "crisis_line":
            parts.append(self.t.render("crisis_line"))
        if getattr(verdict, "first_response", None) == "stop_debt_discussion":
            parts.append(self.t.render("escalated.legal_attorney"))
        else:
            parts.append(self.t.render(f"escalated.{verdict.reason}"))
        return parts

    def _with_disclosure(self, text: str, escalation: Any) -> str:
        disclosure = self.t.render("disclosure")
        if escalation is not None and getattr(escalation, "first_response", None) == "crisis_line":
            # The crisis line comes before anything else.
            crisis = self.t.render("crisis_line")
            rest = text.replace(crisis, "", 1).strip()
            return f"{crisis} {disclosure} {rest}".strip()
        return f"{disclosure} {text}".strip()

    def _model_input(self, session: Session, conv: Conversation, text: str) -> list[BaseMessage]:
        """The new customer message, preceded by anything said while a person had the chat."""
        if conv.synced_seq >= self._last_seq(session, conv.id) - 1:
            return [HumanMessage(content=text)]  # nothing was said since the AI's last turn
        unsynced = session.exec(
            select(Message)
            .where(Message.conversation_id == conv.id, Message.seq > conv.synced_seq)
            .order_by(col(Message.seq))
        ).all()
        prefix: list[BaseMessage] = []
        for m in unsynced[:-1]:  # the last one is the message being answered
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

    def _context(self, session: Session, conv: Conversation, text: str) -> ConversationContext:
        now = self.clock().astimezone(ZoneInfo(conv.timezone))
        dialogue = dict(conv.dialogue or {})
        ctx = ConversationContext(
            conversation_id=conv.id,
            session=session,
            policy=self.policy,
            now=now,
            customer_id=conv.customer_id,
            claimed_customer_id=conv.claimed_customer_id,
            verified=conv.verified,
            failed_verifications=conv.failed_verifications,
            verification_locked=conv.verification_locked,
            turn=conv.customer_message_count,
            customer_text=text,
            language=conv.language,
            dialogue=dialogue,
            retriever=self.retriever,
        )
        ctx.audit = lambda kind, payload: self._audit(session, conv.id, kind, "tool", payload)
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
        conv.synced_seq = self._last_seq(session, conv.id)
        for kind, detail in ctx.flags:
            session.add(Flag(conversation_id=conv.id, kind=kind, detail=detail[:1000]))
            conv.flagged = True
        self._touch(session, conv)

    # --- escalation and handoff ----------------------------------------------------------

    def _escalate(
        self,
        session: Session,
        conv: Conversation,
        ctx: ConversationContext,
        request: EscalationRequest,
    ) -> Message | None:
        try:
            self._transition(session, conv, ConversationState.QUEUED, reason=request.reason)
        except InvalidTransition:
            return None
        conv.priority = request.priority
        conv.escalation_reason = request.reason
        conv.queued_at = self.clock()
        packet = self.handoff_packet(session, conv, request)
        session.add(
            Escalation(
                conversation_id=conv.id,
                reason=request.reason,
                priority=request.priority,
                summary=packet["summary"],
                packet=packet,
                created_at=self.clock(),
            )
        )
        self._audit(
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
        return self._store(session, conv, "system", self._queue_notice(session, conv))

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
        if not handoff.staff_online(session, self.clock()):
            return self.t.render(
                "handoff_nobody_online",
                support_hours=self.policy.lender.support_hours,
                support_phone=self.policy.lender.support_phone,
            )
        position = handoff.queue_position(session, conv.id)
        wait = handoff.estimated_wait_minutes(position)
        return self.t.render(
            "handoff_queued", position=position, wait_minutes=wait, plural="" if wait == 1 else "s"
        )

    def queue(self) -> list[dict[str, Any]]:
        now = self.clock()
        with self.sessions() as session:
            return [
                {
                    "conversation_id": c.id,
                    "position": i + 1,
                    "reason": c.escalation_reason,
                    "priority": c.priority,
                    "customer_id": c.customer_id if c.verified else None,
                    "verified": c.verified,
                    "waiting_seconds": int((now - (c.queued_at or c.created_at)).total_seconds()),
                }
                for i, c in enumerate(handoff.queue_rows(session))
            ]

    def request_human(self, conversation_id: str) -> TurnOutcome:
        """The widget's "talk to a person" button: the same as asking in words."""
        return self.customer_message(conversation_id, "I would like to talk to a person, please.")

    def claim(self, conversation_id: str, staff: StaffUser) -> Conversation:
        """Atomic: exactly one agent can move a queued conversation to 'human'.

        The conditional UPDATE decides between server instances; the lock orders claims
        inside one process.
        """
        with self._locks[conversation_id], self.sessions() as session:
            result = session.exec(
                update(Conversation)
                .where(
                    col(Conversation.id) == conversation_id,
                    col(Conversation.state) == ConversationState.QUEUED.value,
                )
                .values(
                    state=ConversationState.HUMAN.value,
                    assigned_staff_id=staff.id,
                    updated_at=self.clock(),
                )
            )
            if result.rowcount != 1:
                session.rollback()
                conv = session.get(Conversation, conversation_id)
                if conv is None:
                    raise ConversationError("unknown_conversation", "no such conversation")
                raise ConversationError(
                    "not_claimable", f"this conversation is '{conv.state}', not waiting"
                )
            conv = session.get(Conversation, conversation_id)
            assert conv is not None
            session.refresh(conv)
            esc = session.exec(
                select(Escalation).where(
                    Escalation.conversation_id == conversation_id,
                    col(Escalation.claimed_by).is_(None),
                )
            ).first()
            if esc is not None:
                esc.claimed_by, esc.claimed_at = staff.id, self.clock()
                session.add(esc)
            self._record_transition(
                session, conv, ConversationState.QUEUED, ConversationState.HUMAN, staff=staff
            )
            note = self._store(
                session,
                conv,
                "system",
                f"{staff.display_name} (a person from our team) has joined the chat.",
            )
            self._commit(session)
        self.events.message(conv.id, note)
        self.events.conversation_state(conv)
        return conv

    def staff_message(
        self, conversation_id: str, staff: StaffUser, text: str, ai_drafted: bool = False
    ) -> OutgoingMessage:
        text = clean_text(text)
        if not text or not text.strip():
            raise ConversationError("empty_message", "the message is empty")
        if len(text) > self.settings.max_message_chars * 2:
            raise ConversationError("message_too_long", "the message is too long")
        with self._locks[conversation_id], self.sessions() as session:
            conv = self._staff_conversation(session, conversation_id, staff)
            message = self._store(
                session,
                conv,
                "agent",
                text.strip(),
                author=staff.display_name,
                ai_drafted=ai_drafted,
            )
            self._audit(
                session,
                conv.id,
                "staff_message",
                f"staff:{staff.username}",
                {"seq": message.seq, "text": message.content, "ai_drafted": ai_drafted},
            )
            self._touch(session, conv)
            self._commit(session)
        out = outgoing(message)
        self.events.message(conversation_id, message)
        return out

    def hand_back(self, conversation_id: str, staff: StaffUser) -> Conversation:
        with self._locks[conversation_id], self.sessions() as session:
            conv = self._staff_conversation(session, conversation_id, staff)
            self._transition(session, conv, ConversationState.AI, staff=staff)
            conv.assigned_staff_id = None
            conv.escalation_reason = None
            conv.priority = None
            note = self._store(session, conv, "system", self.t.render("handback"))
            self._commit(session)
        self.events.message(conversation_id, note)
        self.events.conversation_state(conv)
        return conv

    def close(
        self, conversation_id: str, staff: StaffUser | None, disposition: str
    ) -> Conversation:
        with self._locks[conversation_id], self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            if (
                staff is not None
                and conv.state == ConversationState.HUMAN
                and conv.assigned_staff_id != staff.id
                and staff.role != "supervisor"
            ):
                raise ConversationError("not_yours", "another agent has this conversation")
            self._transition(
                session, conv, ConversationState.CLOSED, staff=staff, disposition=disposition
            )
            conv.disposition = disposition[:200]
            esc = session.exec(
                select(Escalation).where(
                    Escalation.conversation_id == conversation_id,
                    col(Escalation.resolved_at).is_(None),
                )
            ).first()
            if esc is not None:
                esc.resolved_at = self.clock()
                session.add(esc)
            note = self._store(session, conv, "system", "This conversation has been closed.")
            self._commit(session)
        self.events.message(conversation_id, note)
        self.events.conversation_state(conv)
        return conv

    def system_notice(self, conversation_id: str, text: str) -> OutgoingMessage | None:
        """A notice in the transcript from outside the chat (a payment made on the payment
        page); nothing for a closed or unknown conversation."""
        with self._locks[conversation_id], self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None or conv.state == ConversationState.CLOSED:
                return None
            note = self._store(session, conv, "system", text)
            self._audit(
                session, conv.id, "system_notice", "system", {"seq": note.seq, "text": text}
            )
            self._touch(session, conv)
            self._commit(session)
        self.events.message(conversation_id, note)
        return outgoing(note)

    def rate(self, conversation_id: str, rating: int, comment: str | None = None) -> None:
        if not 1 <= int(rating) <= 5:
            raise ConversationError("bad_rating", "a rating is a whole number from 1 to 5")
        with self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            conv.rating = int(rating)
            conv.rating_comment = clean_text(comment or "")[:1000] or None
            self._event(session, conv, "rated", data={"rating": conv.rating})
            self._audit(
                session,
                conv.id,
                "rating",
                "customer",
                {"rating": conv.rating, "comment": conv.rating_comment},
            )
            self._commit(session)

    def suggestions(self, conversation_id: str) -> list[str]:
        """AI-drafted replies for the human agent to edit and send."""
        with self.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            from agent.drafting.replies import draft_replies

            return draft_replies(
                session, conv, self.policy, self.clock(), self.settings.lender_domains
            )

    def mark_staff_online(self, staff_id: int) -> None:
        with self.sessions() as session:
            user = session.get(StaffUser, staff_id)
            if user is not None:
                user.online_at = self.clock()
                session.add(user)
                self._commit(session)

    # --- plumbing ----------------------------------------------------------------------

    def _staff_conversation(
        self, session: Session, conversation_id: str, staff: StaffUser
    ) -> Conversation:
        conv = session.get(Conversation, conversation_id)
        if conv is None:
            raise ConversationError("unknown_conversation", "no such conversation")
        if conv.state != ConversationState.HUMAN:
            raise ConversationError(
                "not_with_a_person", f"this conversation is '{conv.state}'; claim it first"
            )
        if conv.assigned_staff_id != staff.id:
            raise ConversationError("not_yours", "another agent has this conversation")
        return conv

    def _transition(
        self,
        session: Session,
        conv: Conversation,
        target: ConversationState,
        staff: StaffUser | None = None,
        **data: Any,
    ) -> None:
        source = ConversationState(conv.state)
        check_transition(source, target)
        conv.state = target.value
        self._record_transition(session, conv, source, target, staff=staff, **data)

    def _record_transition(
        self,
        session: Session,
        conv: Conversation,
        source: ConversationState,
        target: ConversationState,
        staff: StaffUser | None = None,
        **data: Any,
    ) -> None:
        actor = f"staff:{staff.username}" if staff else "system"
        self._event(
            session, conv, "state_changed", source.value, target.value, {**data, "actor": actor}
        )
        self._audit(
            session,
            conv.id,
            "state_changed",
            actor,
            {"from": source.value, "to": target.value, **data},
        )
        self._touch(session, conv)

    def _event(
        self,
        session: Session,
        conv: Conversation,
        kind: str,
        from_state: str | None = None,
        to_state: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            ConversationEvent(
                conversation_id=conv.id,
                kind=kind,
                from_state=from_state,
                to_state=to_state,
                data=data or {},
                created_at=self.clock(),
            )
        )

    def _audit(
        self,
        session: Session,
        conversation_id: str | None,
        kind: str,
        actor: str,
        payload: dict[str, Any],
    ) -> None:
        """Buffer an audit event; the buffer is chained and flushed before each commit."""
        buffer = session.info.setdefault("audit_buffer", [])
        buffer.append((kind, actor, payload, conversation_id))

    def _guardrail_audit(
        self, session: Session, conversation_id: str, verdict: str, **data: Any
    ) -> None:
        self._audit(
            session,
            conversation_id,
            "guardrail",
            "guardrail",
            {"stage": "input", "verdict": verdict, **data},
        )

    @staticmethod
    def _commit(session: Session) -> None:
        append_events(session, session.info.pop("audit_buffer", []))
        session.commit()

    def _audit_tool_results(
        self, session: Session, conversation_id: str, messages: list[BaseMessage]
    ) -> None:
        from langchain_core.messages import ToolMessage

        for m in messages:
            if isinstance(m, ToolMessage):
                self._audit(
                    session,
                    conversation_id,
                    "tool_result",
                    "tool",
                    {"tool": m.name, "call_id": m.tool_call_id, "result": str(m.content)[:4000]},
                )

    @staticmethod
    def _last_seq(session: Session, conversation_id: str) -> int:
        """The highest stored seq; read once per transaction, then kept by ``_store``."""
        key = f"last_seq:{conversation_id}"
        if key not in session.info:
            last = session.exec(
                select(Message.seq)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq).desc())
                .limit(1)
            ).first()
            session.info[key] = int(last or 0)
        return int(session.info[key])

    def _store(
        self,
        session: Session,
        conv: Conversation,
        role: str,
        content: str,
        *,
        author: str | None = None,
        client_message_id: str | None = None,
        ai_drafted: bool = False,
    ) -> Message:
        seq = self._last_seq(session, conv.id) + 1
        message = Message(
            conversation_id=conv.id,
            seq=seq,
            role=role,
            author=author,
            content=content,
            client_message_id=client_message_id,
            ai_drafted=ai_drafted,
            created_at=self.clock(),
        )
        session.add(message)
        session.flush()
        session.info[f"last_seq:{conv.id}"] = seq
        return message

    def _touch(self, session: Session, conv: Conversation) -> None:
        conv.updated_at = self.clock()
        session.add(conv)

    def _duplicate(
        self, session: Session, conv: Conversation, client_message_id: str
    ) -> TurnOutcome | None:
        original = session.exec(
            select(Message).where(
                Message.conversation_id == conv.id, Message.client_message_id == client_message_id
            )
        ).first()
        if original is None:
            return None
        following = session.exec(
            select(Message)
            .where(
                Message.conversation_id == conv.id,
                Message.seq > original.seq,
                col(Message.role).in_(["assistant", "system"]),
            )
            .order_by(col(Message.seq))
        ).all()
        replies = []
        for m in following:
            replies.append(outgoing(m))
            if m.role == "assistant":
                break
        return TurnOutcome(
            conv.id, conv.state, customer_seq=original.seq, replies=replies, duplicate=True
        )


__all__ = [
    "ConversationError",
    "ConversationService",
    "EscalationReason",
    "OutgoingMessage",
    "TurnOutcome",
]
