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
    language: str = "en"  # of the customer's message, and so of the reply
    # The language of the assistant's previous reply, in which any proposal waiting for a
    # yes was written: a yes counts in that language ("sí" to an English proposal is not).
    proposal_language: str = "en"
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
    # Read once a turn, per customer (verification may change whose they are mid-turn).
    # Held here because the session's identity map keeps objects only while someone
    # does: each read of the customer or their loans was a query again.
    _loan_ids: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _loans: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _customer: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def today(self) -> date:
        return self.now.date()

    def own_customer(self) -> Any | None:
        """The verified customer's record (none before verification)."""
        if not (self.verified and self.customer_id):
            return None
        if self.customer_id not in self._customer:
            from agent.ledger.repository import get_customer

            self._customer[self.customer_id] = get_customer(self.session, self.customer_id)
        return self._customer[self.customer_id]

    def own_loans(self) -> list[Any]:
        """The verified customer's loans, by id (none before verification)."""
        if not (self.verified and self.customer_id):
            return []
        if self.customer_id not in self._loans:
            from agent.ledger.repository import customer_loans

            self._loans[self.customer_id] = customer_loans(self.session, self.customer_id)
        return self._loans[self.customer_id]

    def own_loan_ids(self) -> tuple[str, ...]:
        """The verified customer's loan ids (none before verification)."""
        if not (self.verified and self.customer_id):
            return ()
        if self.customer_id not in self._loan_ids:
            self._loan_ids[self.customer_id] = tuple(loan.id for loan in self.own_loans())
        return self._loan_ids[self.customer_id]

    def know_loan_ids(self, loan_ids: list[str] | None) -> None:
        """The loan ids the turn already read (before its run) for the session's customer."""
        if loan_ids is not None and self.verified and self.customer_id:
            self._loan_ids[self.customer_id] = tuple(loan_ids)

    def own_contact_details(self) -> tuple[str, ...]:
        """The verified customer's phone number and e-mail address on file (none before
        verification): the only ones besides the lender's a reply may give."""
        customer = self.own_customer()
        details = (customer.phone, customer.email) if customer else ()
        return tuple(d for d in details if d)

    @property
    def subject_customer_id(self) -> str | None:
        """Whose identity verification is about: the session's customer or the claimed one."""
        return self.customer_id or self.claimed_customer_id
