"""The queue as the waiting customer and the staff console see it."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from agent.conversation import handoff
from agent.conversation.models import Conversation, StaffUser
from agent.conversation.state import ConversationState
from agent.ledger.models import Customer
from web.state import WebContext


def staff_online(ctx: WebContext) -> bool:
    with ctx.sessions() as session:
        return handoff.staff_online(session, ctx.now())


def queue_status(ctx: WebContext, conversation_id: str) -> dict[str, Any] | None:
    """The customer's place in line (``None`` when not queued)."""
    entry = next((q for q in ctx.service.queue() if q["conversation_id"] == conversation_id), None)
    if entry is None:
        return None
    online = staff_online(ctx)
    return {
        "type": "queue",
        "position": entry["position"],
        "staff_online": online,
        "estimated_wait_minutes": (
            handoff.estimated_wait_minutes(entry["position"]) if online else None
        ),
    }


def console_queue(ctx: WebContext, staff: StaffUser) -> dict[str, Any]:
    """The queue (priority, then waiting time) and the conversations this person has."""
    items = ctx.service.queue()
    with ctx.sessions() as session:
        names = {
            c.id: c.name
            for c in session.exec(
                select(Customer).where(
                    col(Customer.id).in_([i["customer_id"] for i in items if i["customer_id"]])
                )
            )
        }
        mine = session.exec(
            select(Conversation)
            .where(
                Conversation.assigned_staff_id == staff.id,
                Conversation.state == ConversationState.HUMAN.value,
            )
            .order_by(col(Conversation.updated_at).desc())
        ).all()
        mine_names = {
            c.id: c.name
            for c in session.exec(
                select(Customer).where(
                    col(Customer.id).in_([m.customer_id for m in mine if m.customer_id])
                )
            )
        }
    for item in items:
        item["customer_name"] = names.get(item["customer_id"] or "")
    return {
        "type": "queue",
        "items": items,
        "mine": [
            {
                "conversation_id": c.id,
                "reason": c.escalation_reason,
                "priority": c.priority,
                "language": c.language,
                "verified": c.verified,
                "customer_name": mine_names.get(c.customer_id or "") if c.verified else None,
            }
            for c in mine
        ],
        "staff_online": staff_online(ctx),
    }
