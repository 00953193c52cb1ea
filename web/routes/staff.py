"""Staff API: log in and out, the queue, a conversation, and the agent's actions.

Sync handlers: FastAPI runs them in its threadpool, so blocking service and database
calls never stall the event loop. State-changing requests need the CSRF header.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from agent.audit.log import append_event
from agent.conversation.models import StaffUser
from agent.conversation.staff import authenticate, open_staff_session, revoke_staff_session
from agent.language.normalize import clean_text
from web.auth import STAFF_COOKIE, seal_staff_token, signed_out_channel
from web.deps import (
    ClientAddress,
    ContextDep,
    CsrfProtected,
    CurrentStaff,
    ServiceDep,
    SessionDep,
    StaffSessionDep,
)
from web.errors import ApiError
from web.state import WebContext
from web.views.conversations import conversation_detail
from web.views.queue import console_queue

router = APIRouter(prefix="/api/staff", tags=["staff"])

DISPOSITIONS = (
    "resolved",
    "promise_to_pay",
    "payment_arranged",
    "hardship_plan_referred",
    "dispute_opened",
    "fraud_referred",
    "legal_referred",
    "callback_scheduled",
    "customer_left",
    "other",
)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


def _plain(text: str) -> str:
    """A name is refused, not silently changed, when it holds what text may not."""
    if clean_text(text) != text:
        raise ValueError("must not contain control characters or invalid text")
    return text


# Free text from staff, made storable (no NUL or other control character; a lone
# surrogate is refused by the JSON body parser already).
CleanText = Annotated[str, AfterValidator(clean_text)]


class LoginIn(BaseModel):
    username: Annotated[str, AfterValidator(_plain), AfterValidator(_not_blank)] = Field(
        max_length=100
    )
    password: str = Field(min_length=1, max_length=200)


class MessageIn(BaseModel):
    text: CleanText = Field(min_length=1, max_length=8000)
    ai_drafted: bool = False


class CloseIn(BaseModel):
    disposition: Annotated[CleanText, AfterValidator(_not_blank)] = Field(max_length=200)


def staff_public(user: StaffUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
    }


def _set_session_cookie(response: Response, request: Request, ctx: WebContext, token: str) -> None:
    secure = request.url.scheme == "https" or ctx.settings.environment == "production"
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=ctx.limits.staff_session_seconds,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


@router.post("/login")
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    ctx: ContextDep,
    session: SessionDep,
    address: ClientAddress,
) -> dict[str, Any]:
    result = authenticate(session, body.username, body.password, address, ctx.now())
    if result.retry_after is not None:
        raise ApiError(
            429,
            "login_throttled",
            result.error or "too many failed logins; try again later",
            headers={"Retry-After": str(math.ceil(result.retry_after))},
        )
    if result.user is None or result.user.id is None:
        raise ApiError(401, "login_failed", result.error or "invalid username or password")
    token, record = open_staff_session(
        session, result.user.id, ctx.now(), timedelta(seconds=ctx.limits.staff_session_seconds)
    )
    append_event(
        session,
        "staff_login",
        f"staff:{result.user.username}",
        {"session": record.id, "address": address},
    )
    session.commit()
    _set_session_cookie(response, request, ctx, seal_staff_token(ctx.secret, token))
    return {"staff": staff_public(result.user), "csrf": record.csrf}


@router.post("/logout", dependencies=[CsrfProtected])
def logout(
    response: Response,
    user: CurrentStaff,
    staff_session: StaffSessionDep,
    ctx: ContextDep,
    session: SessionDep,
) -> dict[str, bool]:
    """Ends this session on every server at once (the cookie alone would outlive it)."""
    revoke_staff_session(session, staff_session.session_id, ctx.now(), "logged_out")
    append_event(
        session, "staff_logout", f"staff:{user.username}", {"session": staff_session.session_id}
    )
    session.commit()
    ctx.service.broker.publish(
        signed_out_channel(user.id or 0),
        {"type": "signed_out", "sessions": [staff_session.session_id]},
    )
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="strict")
    return {"ok": True}


@router.get("/me")
def me(user: CurrentStaff, staff_session: StaffSessionDep) -> dict[str, Any]:
    return {
        "staff": staff_public(user),
        "csrf": staff_session.csrf,
        "dispositions": list(DISPOSITIONS),
    }


@router.get("/queue")
def queue(user: CurrentStaff, ctx: ContextDep) -> dict[str, Any]:
    return console_queue(ctx, user)


@router.get("/conversations/{conversation_id}")
def conversation(
    conversation_id: str, _: CurrentStaff, ctx: ContextDep, session: SessionDep
) -> dict[str, Any]:
    detail = conversation_detail(session, conversation_id, ctx.engines.policy, ctx.now())
    if detail is None:
        raise ApiError(404, "unknown_conversation", "no such conversation")
    return detail


@router.post("/conversations/{conversation_id}/claim", dependencies=[CsrfProtected])
def claim(
    conversation_id: str,
    user: CurrentStaff,
    service: ServiceDep,
    ctx: ContextDep,
    session: SessionDep,
) -> dict[str, Any]:
    service.claim(conversation_id, user)
    detail = conversation_detail(session, conversation_id, ctx.engines.policy, ctx.now())
    assert detail is not None
    return detail


@router.get("/conversations/{conversation_id}/suggestions")
def suggestions(conversation_id: str, _: CurrentStaff, service: ServiceDep) -> dict[str, Any]:
    return {"suggestions": service.suggestions(conversation_id)}


@router.post("/conversations/{conversation_id}/messages", dependencies=[CsrfProtected])
def send_message(
    conversation_id: str, body: MessageIn, user: CurrentStaff, service: ServiceDep
) -> dict[str, Any]:
    return {
        "message": service.staff_message(
            conversation_id, user, body.text, ai_drafted=body.ai_drafted
        ).as_dict()
    }


@router.post("/conversations/{conversation_id}/handback", dependencies=[CsrfProtected])
def hand_back(conversation_id: str, user: CurrentStaff, service: ServiceDep) -> dict[str, Any]:
    conv = service.hand_back(conversation_id, user)
    return {"conversation_id": conv.id, "state": conv.state}


@router.post("/conversations/{conversation_id}/close", dependencies=[CsrfProtected])
def close(
    conversation_id: str, body: CloseIn, user: CurrentStaff, service: ServiceDep
) -> dict[str, Any]:
    conv = service.close(conversation_id, user, body.disposition.strip())
    return {"conversation_id": conv.id, "state": conv.state, "disposition": conv.disposition}
