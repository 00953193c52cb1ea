"""The per-conversation context handed to every tool (never trusted from the model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from agent.policy.config import PolicyConfig


@dataclass
class EscalationRequest:
    reason: str
    priority: str
    summary: str
    evidence: list[str] = field(default_factory=list)
    source: str = "tool"  # tool | classifier | guardrail


@dataclass
class ConversationContext:
    conversation_id: str
    session: Session
    policy: PolicyConfig
    now: datetime  # timezone-aware, in the customer's time zone
    customer_id: str | None = None  # the session's customer (verified or not)
    claimed_customer_id: str | None = None  # identified by loan number/phone, unverified
    verified: bool = False
    failed_verifications: int = 0
    verification_locked: bool = False
    turn: int = 0
    customer_text: str = ""
    confirming: str | None = None  # the proposal id the widget's Yes/No button answered
    language: str = "en"
    dialogue: dict[str, Any] = field(default_factory=dict)  # persisted between turns
    retriever: Any | None = None
    audit: Callable[[str, dict[str, Any]], None] = lambda kind, payload: None
    escalation: EscalationRequest | None = None
    actions: list[str] = field(default_factory=list)  # what the assistant did, for handoffs
    flags: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail) for supervisors
    model_events: list[dict[str, Any]] = field(default_factory=list)
    # Streaming: where released reply drafts go (set by the service), and the gate of the
    # model answer being streamed (set by the output guard middleware).
    draft_sink: Any | None = None
    reply_draft: Any | None = None
    _loan_ids: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _contact: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @property
    def today(self) -> date:
        return self.now.date()

    def own_loan_ids(self) -> tuple[str, ...]:
        """The verified customer's loan ids (none before verification); read once a turn."""
        if not (self.verified and self.customer_id):
            return ()
        if self.customer_id not in self._loan_ids:
            from agent.ledger.repository import customer_loans

            self._loan_ids[self.customer_id] = tuple(
                loan.id for loan in customer_loans(self.session, self.customer_id)
            )
        return self._loan_ids[self.customer_id]

    def own_contact_details(self) -> tuple[str, ...]:
        """The verified customer's phone number and e-mail address on file (none before
        verification): the only ones besides the lender's a reply may give."""
        if not (self.verified and self.customer_id):
            return ()
        if self.customer_id not in self._contact:
            from agent.ledger.repository import get_customer

            customer = get_customer(self.session, self.customer_id)
            details = (customer.phone, customer.email) if customer else ()
            self._contact[self.customer_id] = tuple(d for d in details if d)
        return self._contact[self.customer_id]

    @property
    def subject_customer_id(self) -> str | None:
        """Whose identity verification is about: the session's customer or the claimed one."""
        return self.customer_id or self.claimed_customer_id
