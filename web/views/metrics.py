"""Supervisor numbers: conversations by state, escalations by reason, rates, ratings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from agent.audit.log import verify_chain
from agent.conversation.models import Conversation, Escalation, Flag


def metrics(session: Session) -> dict[str, Any]:
    by_state = dict(
        session.exec(select(Conversation.state, func.count()).group_by(Conversation.state)).all()
    )
    engaged = session.exec(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.customer_message_count > 0)
    ).one()
    escalated = session.exec(select(func.count(func.distinct(Escalation.conversation_id)))).one()
    by_reason = dict(
        session.exec(select(Escalation.reason, func.count()).group_by(Escalation.reason)).all()
    )
    rating_avg, rating_count = session.exec(
        select(func.avg(Conversation.rating), func.count(col(Conversation.rating)))
    ).one()
    open_flags = session.exec(
        select(func.count()).select_from(Flag).where(col(Flag.reviewed).is_(False))
    ).one()
    return {
        "conversations": sum(by_state.values()),
        "engaged_conversations": engaged,
        "by_state": {s: by_state.get(s, 0) for s in ("ai", "queued", "human", "closed")},
        "escalations_by_reason": by_reason,
        "escalated_conversations": escalated,
        "escalation_rate": round(escalated / engaged, 3) if engaged else None,
        "average_rating": round(float(rating_avg), 2) if rating_avg is not None else None,
        "ratings": rating_count,
        "open_flags": open_flags,
    }


def audit_status(session: Session, conversation_id: str | None = None) -> dict[str, Any]:
    """The whole chain is re-hashed; ``events_checked`` counts one conversation's if given."""
    report = verify_chain(session, conversation_id)
    return {
        "ok": report.ok,
        "events_checked": report.events_checked,
        "first_bad_id": report.first_bad_id,
        "problem": report.problem,
    }
