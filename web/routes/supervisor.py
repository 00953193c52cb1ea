"""Supervisor API: conversations with transcripts, flags, escalations, metrics, audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlmodel import col, select

from agent.conversation.models import Conversation, Escalation, Flag
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
