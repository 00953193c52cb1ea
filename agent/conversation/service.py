"""The conversation service: the one door to conversations for the web layer and tests.

A facade over modules with one job each: the customer's turn
(:mod:`agent.conversation.turn`: read, run the guardrails and the agent outside any write
transaction, write the turn's results in one short transaction), staff actions
(:mod:`agent.conversation.staff_actions`) and transcript plumbing
(:mod:`agent.conversation.transcript`). Nothing here imports FastAPI or the web layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from agent.conversation.broker import Broker, InProcessBroker
from agent.conversation.events import ConversationEvents
from agent.conversation.models import Conversation, Message, StaffUser
from agent.conversation.ordering import ConversationOrder
from agent.conversation.results import (
    ConversationError,
    OutgoingMessage,
    TurnOutcome,
    outgoing,
)
from agent.conversation.staff_actions import StaffActions
from agent.conversation.transcript import Transcript
from agent.conversation.turn import CustomerTurns
from agent.db.types import utcnow
from agent.engine.templates import Templates
from agent.language.detect import DEFAULT as DEFAULT_LANGUAGE
from agent.language.detect import is_supported
from agent.ledger import repository as repo
from agent.policy.config import EscalationReason, PolicyConfig
from agent.settings import Settings
from agent.tools.context import EscalationRequest


class TurnRunner(Protocol):
    """Takes a customer turn elsewhere (another process): stored, not yet announced."""

    def take(
        self, conversation_id: str, text: str, client_message_id: str | None, confirms: str | None
    ) -> TurnOutcome: ...

    def start_conversation(
        self, channel: str, customer_id: str | None, verified: bool, language: str | None = None
    ) -> str:
        """Start a conversation there; its id."""
        ...


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
        order: ConversationOrder | None = None,
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
        self.tx = Transcript(lambda: self.clock())
        # One conversation's turns and staff actions one at a time (across processes on
        # PostgreSQL: agent.conversation.ordering).
        self.order = order or ConversationOrder()
        self._turns = CustomerTurns(self)
        # Where customer turns run when not in this process (agent.turn_workers).
        self.turn_runner: TurnRunner | None = None
        self._staff = StaffActions(self)

    # --- starting and reading ----------------------------------------------------------

    def start(
        self,
        *,
        channel: str = "widget",
        customer_id: str | None = None,
        verified: bool = False,
        language: str | None = None,
    ) -> Conversation:
        """``language``: the page's, for a conversation with no customer language on file
        (an anonymous visitor of a Spanish site); the customer's on file comes first."""
        if self.turn_runner is not None:  # the writes of this process go to the workers
            return self.get(
                self.turn_runner.start_conversation(channel, customer_id, verified, language)
            )
        with self.sessions() as session:
            timezone = "America/New_York"
            language = language if is_supported(language) else DEFAULT_LANGUAGE
            if customer_id is not None:
                customer = repo.get_customer(session, customer_id)
                if customer is None:
                    raise ConversationError("unknown_customer", "unknown customer for session")
                timezone = customer.timezone
                if is_supported(customer.language) and customer.language != DEFAULT_LANGUAGE:
                    language = customer.language
            now = self.clock()
            conv = Conversation(
                id=uuid.uuid4().hex,
                channel=channel,
                customer_id=customer_id,
                verified=verified and customer_id is not None,
                timezone=timezone,
                language=language,
                created_at=now,
                updated_at=now,
            )
            # No flush before the commit: the rows are written together at the commit,
            # so the write gate (one writer at a time on a SQLite file) is held for those
            # few statements only; the server process's threads can wait for the GIL, and
            # every turn worker would wait behind them (README, "Load").
            session.add(conv)
            self.tx.event(
                session, conv, "started", data={"channel": channel, "verified": conv.verified}
            )
            self.tx.audit(
                session,
                conv.id,
                "conversation_started",
                "system",
                {"channel": channel, "customer_id": customer_id, "verified": conv.verified},
            )
            self.tx.commit(session)
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
        if self.turn_runner is None:
            return self._turns.customer_message(conversation_id, text, client_message_id, confirms)
        with self.order.hold(conversation_id):
            outcome = self.turn_runner.take(conversation_id, text, client_message_id, confirms)
        self.events.turn(outcome)
        return outcome

    def take_turn(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        confirms: str | None = None,
    ) -> TurnOutcome:
        """The turn stored but not announced, in this process (what a turn worker runs)."""
        return self._turns.take(conversation_id, text, client_message_id, confirms)

    def request_human(self, conversation_id: str) -> TurnOutcome:
        """The widget's "talk to a person" button: the same as asking in words (in the
        conversation's language, which the words then keep)."""
        language = self.get(conversation_id).language
        return self.customer_message(conversation_id, self.t.get("parts.request_person", language))

    def answer_words(self, answer: str, language: str) -> str:
        """What the transcript shows for a Yes / No button: the customer's turn, with the
        answer's words in the conversation's language."""
        return self.t.get(f"parts.answer_{answer}", language)

    def handoff_packet(
        self, session: Session, conv: Conversation, request: EscalationRequest
    ) -> dict[str, Any]:
        return self._turns.handoff_packet(session, conv, request)

    # --- staff and the outside world -------------------------------------------------------

    def queue(self) -> list[dict[str, Any]]:
        return self._staff.queue()

    def claim(self, conversation_id: str, staff: StaffUser) -> Conversation:
        return self._staff.claim(conversation_id, staff)

    def staff_message(
        self, conversation_id: str, staff: StaffUser, text: str, ai_drafted: bool = False
    ) -> OutgoingMessage:
        return self._staff.staff_message(conversation_id, staff, text, ai_drafted)

    def hand_back(self, conversation_id: str, staff: StaffUser) -> Conversation:
        return self._staff.hand_back(conversation_id, staff)

    def close(
        self, conversation_id: str, staff: StaffUser | None, disposition: str
    ) -> Conversation:
        return self._staff.close(conversation_id, staff, disposition)

    def system_notice(self, conversation_id: str, text: str) -> OutgoingMessage | None:
        return self._staff.system_notice(conversation_id, text)

    def rate(self, conversation_id: str, rating: int, comment: str | None = None) -> None:
        self._staff.rate(conversation_id, rating, comment)

    def suggestions(self, conversation_id: str) -> list[str]:
        return self._staff.suggestions(conversation_id)

    def mark_staff_online(self, staff_id: int) -> None:
        self._staff.mark_staff_online(staff_id)


__all__ = [
    "ConversationError",
    "ConversationService",
    "EscalationReason",
    "OutgoingMessage",
    "TurnOutcome",
]
