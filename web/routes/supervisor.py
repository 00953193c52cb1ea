"""Supervisor API: conversations with transcripts, flags, escalations, metrics, audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlmodel import col, select

from agent.audit.log import append_event
from agent.conversation.login_throttle import account_throttled_for
from agent.conversation.models import Conversation, Escalation, Flag, StaffLogin, StaffUser
from agent.conversation.staff import revoke_all_staff_sessions
from web.auth import signed_out_channel
from web.deps import ContextDep, CsrfProtected, CurrentSupervisor, SessionDep
from web.errors import ApiError
from web.views.conversations import (
    conversation_detail,
    conversation_summary,
    escalation_dict,
    flag_dict,
)
from web.views.metrics import audit_status, metrics

router = APIRouter(prefix="/api/supervisor", tags=["supervisor"])


@router.get("/overview")
def overview(_: CurrentSupervisor, session: SessionDep) -> dict[str, Any]:
    return {"metrics": metrics(session), "audit": audit_status(session)}


@router.get("/conversations")
def conversations(
    _: CurrentSupervisor,
    session: SessionDep,
    state: str | None = Query(default=None, max_length=10),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    query = select(Conversation).order_by(col(Conversation.updated_at).desc()).limit(limit)
    if state:
        query = query.where(Conversation.state == state)
    return {"conversations": [conversation_summary(session, c) for c in session.exec(query)]}


@router.get("/conversations/{conversation_id}")
def conversation(
    conversation_id: str, _: CurrentSupervisor, ctx: ContextDep, session: SessionDep
) -> dict[str, Any]:
    detail = conversation_detail(
        session, conversation_id, ctx.engines.policy, ctx.now(), with_history=True
    )
    if detail is None:
        raise ApiError(404, "unknown_conversation", "no such conversation")
    detail["audit"] = audit_status(session, conversation_id)
    return detail


@router.get("/flags")
def flags(_: CurrentSupervisor, session: SessionDep) -> dict[str, Any]:
    rows = session.exec(select(Flag).order_by(col(Flag.id).desc()).limit(200))
    return {"flags": [flag_dict(f) for f in rows]}


@router.post("/flags/{flag_id}/review", dependencies=[CsrfProtected])
def review_flag(flag_id: int, _: CurrentSupervisor, session: SessionDep) -> dict[str, Any]:
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise ApiError(404, "unknown_flag", "no such flag")
    flag.reviewed = True
    session.add(flag)
    session.commit()
    return flag_dict(flag)


@router.get("/escalations")
def escalations(_: CurrentSupervisor, session: SessionDep) -> dict[str, Any]:
    rows = session.exec(select(Escalation).order_by(col(Escalation.id).desc()).limit(200))
    return {"escalations": [escalation_dict(session, e) for e in rows]}


# --- the team: who is signed in, and signing a person out everywhere -----------------------


@router.get("/staff")
def staff(_: CurrentSupervisor, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    now = ctx.now()
    live = session.exec(
        select(StaffLogin).where(
            col(StaffLogin.revoked_at).is_(None), col(StaffLogin.expires_at) > now
        )
    ).all()
    sessions_of: dict[int, int] = {}
    for record in live:
        sessions_of[record.staff_id] = sessions_of.get(record.staff_id, 0) + 1
    people = session.exec(select(StaffUser).order_by(col(StaffUser.username))).all()
    return {
        "staff": [
            {
                "id": person.id,
                "username": person.username,
                "display_name": person.display_name,
                "role": person.role,
                "active_sessions": sessions_of.get(person.id or 0, 0),
                "logins_throttled_seconds": account_throttled_for(session, person.username, now),
            }
            for person in people
        ]
    }


@router.post("/staff/{staff_id}/sign-out", dependencies=[CsrfProtected])
def sign_out_everywhere(
    staff_id: int, supervisor: CurrentSupervisor, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    """Ends every session of a person (a lost laptop, someone leaving the team): their
    next request is refused and their open consoles close, on every server."""
    person = session.get(StaffUser, staff_id)
    if person is None:
        raise ApiError(404, "unknown_staff", "no such staff member")
    ended = revoke_all_staff_sessions(session, staff_id, ctx.now(), "signed_out_by_supervisor")
    append_event(
        session,
        "staff_signed_out",
        f"staff:{supervisor.username}",
        {"staff": person.username, "sessions_ended": len(ended)},
    )
    session.commit()
    if ended:
        ctx.service.broker.publish(
            signed_out_channel(staff_id), {"type": "signed_out", "sessions": ended}
        )
    return {"staff_id": staff_id, "sessions_ended": len(ended)}
