"""A conversation as staff see it: state, transcript, handoff packet, ledger, flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agent.conversation.models import (
    Conversation,
    ConversationEvent,
    Escalation,
    Flag,
    Message,
    StaffUser,
)
from agent.ledger.models import Customer
from agent.policy.config import PolicyConfig
from web.views.ledger import customer_ledger


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_dict(m: Message) -> dict[str, Any]:
    return {
        "seq": m.seq,
        "role": m.role,
        "author": m.author,
        "content": m.content,
        "created_at": m.created_at.isoformat(),
        "ai_drafted": m.ai_drafted,
    }


def conversation_summary(session: Session, conv: Conversation) -> dict[str, Any]:
    customer = session.get(Customer, conv.customer_id) if conv.customer_id else None
    staff = session.get(StaffUser, conv.assigned_staff_id) if conv.assigned_staff_id else None
    return {
        "id": conv.id,
        "state": conv.state,
        "channel": conv.channel,
        "verified": conv.verified,
        "customer_id": conv.customer_id if conv.verified else None,
        "customer_name": customer.name if customer and conv.verified else None,
        "reason": conv.escalation_reason,
        "priority": conv.priority,
        "language": conv.language,
        "assigned_to": ({"id": staff.id, "display_name": staff.display_name} if staff else None),
        "messages": conv.customer_message_count,
        "flagged": conv.flagged,
        "rating": conv.rating,
        "rating_comment": conv.rating_comment,
        "disposition": conv.disposition,
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(conv.updated_at),
        "queued_at": _iso(conv.queued_at),
    }


def escalation_dict(session: Session, esc: Escalation) -> dict[str, Any]:
    claimer = session.get(StaffUser, esc.claimed_by) if esc.claimed_by else None
    return {
        "id": esc.id,
        "conversation_id": esc.conversation_id,
        "reason": esc.reason,
        "priority": esc.priority,
        "summary": esc.summary,
        "packet": esc.packet,
        "created_at": _iso(esc.created_at),
        "claimed_by": claimer.display_name if claimer else None,
        "claimed_at": _iso(esc.claimed_at),
        "resolved_at": _iso(esc.resolved_at),
    }


def flag_dict(f: Flag) -> dict[str, Any]:
    return {
        "id": f.id,
        "conversation_id": f.conversation_id,
        "kind": f.kind,
        "detail": f.detail,
        "created_at": _iso(f.created_at),
        "reviewed": f.reviewed,
    }


def conversation_detail(
    session: Session,
    conversation_id: str,
    policy: PolicyConfig,
    now: datetime,
    *,
    with_history: bool = False,
) -> dict[str, Any] | None:
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        return None
    messages = session.exec(
        select(Message).where(Message.conversation_id == conv.id).order_by(col(Message.seq))
    ).all()
    escalations = session.exec(
        select(Escalation).where(Escalation.conversation_id == conv.id).order_by(col(Escalation.id))
    ).all()
    detail: dict[str, Any] = {
        "conversation": conversation_summary(session, conv),
        "transcript": [message_dict(m) for m in messages],
        "handoff": escalation_dict(session, escalations[-1]) if escalations else None,
        "ledger": (
            customer_ledger(session, conv.customer_id, policy, now)
            if conv.verified and conv.customer_id
            else None
        ),
    }
    if with_history:
        detail["escalations"] = [escalation_dict(session, e) for e in escalations]
        detail["flags"] = [
            flag_dict(f)
            for f in session.exec(
                select(Flag).where(Flag.conversation_id == conv.id).order_by(col(Flag.id))
            )
        ]
        detail["events"] = [
            {
                "kind": e.kind,
                "from": e.from_state,
                "to": e.to_state,
                "data": e.data,
                "created_at": _iso(e.created_at),
            }
            for e in session.exec(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == conv.id)
                .order_by(col(ConversationEvent.id))
            )
        ]
    return detail
