"""The handoff to a person, as data and pure-ish rules: the queue's order, who counts as
online, the waiting-time estimate, and the packet a person gets with a conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from agent.conversation.models import Conversation, Message, StaffUser
from agent.conversation.state import ConversationState
from agent.language.detect import DEFAULT as DEFAULT_LANGUAGE
from agent.language.detect import LANGUAGE_NAMES
from agent.tools.context import EscalationRequest

AVERAGE_HANDLE_MINUTES = 4
STAFF_ONLINE_WINDOW = timedelta(minutes=2)

_REASON_SUMMARIES = {
    "hardship": "The customer describes financial hardship.",
    "dispute": "The customer disputes an amount, fee or payment.",
    "fraud": "The customer reports possible fraud or identity theft.",
    "legal": "The customer raises a legal matter (attorney, bankruptcy, court or regulator).",
    "vulnerability": "The customer may be vulnerable; handle with care.",
    "complaint": "The customer wants to complain.",
    "human_request": "The customer asked to talk to a person.",
}


def queue_rows(session: Session) -> list[Conversation]:
    """Conversations waiting for a person: high priority first, then the longest wait."""
    rows = session.exec(
        select(Conversation).where(Conversation.state == ConversationState.QUEUED)
    ).all()
    return sorted(rows, key=lambda c: (c.priority != "high", c.queued_at or c.created_at))


def queue_position(session: Session, conversation_id: str) -> int:
    """1 for the next in line; 0 when the conversation is not waiting."""
    ids = [c.id for c in queue_rows(session)]
    return ids.index(conversation_id) + 1 if conversation_id in ids else 0


def estimated_wait_minutes(position: int) -> int:
    return max(position * AVERAGE_HANDLE_MINUTES, 1)


def staff_online(session: Session, now: datetime) -> bool:
    """Someone's console was seen within the online window."""
    since = now - STAFF_ONLINE_WINDOW
    return (
        session.exec(
            select(StaffUser.id).where(
                col(StaffUser.online_at).is_not(None), col(StaffUser.online_at) >= since
            )
        ).first()
        is not None
    )


def classifier_summary(verdict: Any) -> str:
    reason = str(getattr(verdict.reason, "value", verdict.reason))
    return _REASON_SUMMARIES.get(reason, f"Escalated: {reason}.")


def mentions_handoff(parts: list[str]) -> bool:
    """True when the reply already tells the customer that a person will take over."""
    joined = " ".join(parts).lower()
    return "person" in joined and (
        "passing" in joined or "connecting" in joined or "take over" in joined or "handle" in joined
    )


def handoff_packet(
    session: Session,
    conv: Conversation,
    request: EscalationRequest,
    loans: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the person who takes over sees first: why, how urgent, a summary, the
    verification state, the customer's loans (``loans``: their summaries, only for a
    verified customer) and what the assistant already did."""
    recent = session.exec(
        select(Message)
        .where(Message.conversation_id == conv.id)
        .order_by(col(Message.seq).desc())
        .limit(6)
    ).all()
    last_customer = next((m.content for m in recent if m.role == "customer"), "")
    language = LANGUAGE_NAMES.get(conv.language, conv.language)
    writes_in = "" if conv.language == DEFAULT_LANGUAGE else f" The customer writes in {language}."
    summary = (
        f"{request.reason.replace('_', ' ').capitalize()} ({request.priority} "
        f"priority). {request.summary}{writes_in} Last customer message: "
        f'"{last_customer[:300]}"'
    )
    return {
        "reason": request.reason,
        "priority": request.priority,
        "language": conv.language,
        "summary": summary,
        "evidence": request.evidence,
        "verification": {
            "verified": conv.verified,
            "customer_id": conv.customer_id if conv.verified else None,
            "failed_attempts": conv.failed_verifications,
            "locked": conv.verification_locked,
        },
        "loans": loans if conv.verified else [],
        "assistant_actions": list((conv.dialogue or {}).get("actions", [])),
    }
