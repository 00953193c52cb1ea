"""What staff do to a conversation (claim, reply, hand back, close), notices from outside
the chat, ratings and the queue: each a short transaction, a state-machine transition
where there is one, and events for the web layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from agent.conversation import handoff
from agent.conversation.models import Conversation, Escalation, StaffUser
from agent.conversation.results import ConversationError, OutgoingMessage, outgoing
from agent.conversation.state import ConversationState
from agent.language.normalize import clean_text

if TYPE_CHECKING:
    from agent.conversation.service import ConversationService


class StaffActions:
    def __init__(self, service: ConversationService) -> None:
        self.s = service

    def queue(self) -> list[dict[str, Any]]:
        now = self.s.clock()
        with self.s.sessions() as session:
            return [
                {
                    "conversation_id": c.id,
                    "position": i + 1,
                    "reason": c.escalation_reason,
                    "priority": c.priority,
                    "language": c.language,
                    "customer_id": c.customer_id if c.verified else None,
                    "verified": c.verified,
                    "waiting_seconds": int((now - (c.queued_at or c.created_at)).total_seconds()),
                }
                for i, c in enumerate(handoff.queue_rows(session))
            ]

    def claim(self, conversation_id: str, staff: StaffUser) -> Conversation:
        """Atomic: exactly one agent can move a queued conversation to 'human'.

        The conditional UPDATE decides between server instances; the lock orders claims
        inside one process.
        """
        tx = self.s.tx
        with self.s.order.hold(conversation_id), self.s.sessions() as session:
            result = session.exec(
                update(Conversation)
                .where(
                    col(Conversation.id) == conversation_id,
                    col(Conversation.state) == ConversationState.QUEUED.value,
                )
                .values(
                    state=ConversationState.HUMAN.value,
                    assigned_staff_id=staff.id,
                    updated_at=self.s.clock(),
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
                esc.claimed_by, esc.claimed_at = staff.id, self.s.clock()
                session.add(esc)
            tx.record_transition(
                session, conv, ConversationState.QUEUED, ConversationState.HUMAN, staff=staff
            )
            note = tx.store(
                session,
                conv,
                "system",
                f"{staff.display_name} (a person from our team) has joined the chat.",
            )
            tx.commit(session)
        self.s.events.message(conv.id, note)
        self.s.events.conversation_state(conv)
        return conv

    def staff_message(
        self, conversation_id: str, staff: StaffUser, text: str, ai_drafted: bool = False
    ) -> OutgoingMessage:
        text = clean_text(text)
        if not text or not text.strip():
            raise ConversationError("empty_message", "the message is empty")
        if len(text) > self.s.settings.max_message_chars * 2:
            raise ConversationError("message_too_long", "the message is too long")
        tx = self.s.tx
        with self.s.order.hold(conversation_id), self.s.sessions() as session:
            conv = self._staff_conversation(session, conversation_id, staff)
            message = tx.store(
                session,
                conv,
                "agent",
                text.strip(),
                author=staff.display_name,
                ai_drafted=ai_drafted,
            )
            tx.audit(
                session,
                conv.id,
                "staff_message",
                f"staff:{staff.username}",
                {"seq": message.seq, "text": message.content, "ai_drafted": ai_drafted},
            )
            tx.touch(session, conv)
            tx.commit(session)
        out = outgoing(message)
        self.s.events.message(conversation_id, message)
        return out

    def hand_back(self, conversation_id: str, staff: StaffUser) -> Conversation:
        tx = self.s.tx
        with self.s.order.hold(conversation_id), self.s.sessions() as session:
            conv = self._staff_conversation(session, conversation_id, staff)
            tx.transition(session, conv, ConversationState.AI, staff=staff)
            conv.assigned_staff_id = None
            conv.escalation_reason = None
            conv.priority = None
            note = tx.store(session, conv, "system", self.s.t.render("handback"))
            tx.commit(session)
        self.s.events.message(conversation_id, note)
        self.s.events.conversation_state(conv)
        return conv

    def close(
        self, conversation_id: str, staff: StaffUser | None, disposition: str
    ) -> Conversation:
        tx = self.s.tx
        with self.s.order.hold(conversation_id), self.s.sessions() as session:
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
            tx.transition(
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
                esc.resolved_at = self.s.clock()
                session.add(esc)
            note = tx.store(session, conv, "system", "This conversation has been closed.")
            tx.commit(session)
        self.s.events.message(conversation_id, note)
        self.s.events.conversation_state(conv)
        return conv

    def system_notice(self, conversation_id: str, text: str) -> OutgoingMessage | None:
        """A notice in the transcript from outside the chat (a payment made on the payment
        page); nothing for a closed or unknown conversation."""
        tx = self.s.tx
        with self.s.order.hold(conversation_id), self.s.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None or conv.state == ConversationState.CLOSED:
                return None
            note = tx.store(session, conv, "system", text)
            tx.audit(session, conv.id, "system_notice", "system", {"seq": note.seq, "text": text})
            tx.touch(session, conv)
            tx.commit(session)
        self.s.events.message(conversation_id, note)
        return outgoing(note)

    def rate(self, conversation_id: str, rating: int, comment: str | None = None) -> None:
        if not 1 <= int(rating) <= 5:
            raise ConversationError("bad_rating", "a rating is a whole number from 1 to 5")
        tx = self.s.tx
        with self.s.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            conv.rating = int(rating)
            conv.rating_comment = clean_text(comment or "")[:1000] or None
            tx.event(session, conv, "rated", data={"rating": conv.rating})
            tx.audit(
                session,
                conv.id,
                "rating",
                "customer",
                {"rating": conv.rating, "comment": conv.rating_comment},
            )
            tx.commit(session)

    def suggestions(self, conversation_id: str) -> list[str]:
        """AI-drafted replies for the human agent to edit and send."""
        with self.s.sessions() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None:
                raise ConversationError("unknown_conversation", "no such conversation")
            from agent.drafting.replies import draft_replies

            return draft_replies(
                session, conv, self.s.policy, self.s.clock(), self.s.settings.lender_domains
            )

    def mark_staff_online(self, staff_id: int) -> None:
        with self.s.sessions() as session:
            user = session.get(StaffUser, staff_id)
            if user is not None:
                user.online_at = self.s.clock()
                session.add(user)
                self.s.tx.commit(session)

    @staticmethod
    def _staff_conversation(
        session: Session, conversation_id: str, staff: StaffUser
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
