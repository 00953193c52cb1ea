"""FastAPI dependencies, as ``Annotated`` aliases the routes use in their signatures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from agent.conversation.models import StaffUser
from agent.conversation.service import ConversationService
from agent.conversation.staff import active_staff_session
from agent.settings import Settings
from web.auth import (
    CSRF_HEADER,
    STAFF_COOKIE,
    StaffSession,
    TokenError,
    csrf_matches,
    open_staff_cookie,
)
from web.client_address import client_address
from web.errors import ApiError
from web.state import WebContext


def get_context(request: Request) -> WebContext:
    return request.app.state.web


ContextDep = Annotated[WebContext, Depends(get_context)]


def get_settings_dep(ctx: ContextDep) -> Settings:
    return ctx.settings


def get_service(ctx: ContextDep) -> ConversationService:
    return ctx.service


def get_session(ctx: ContextDep) -> Iterator[Session]:
    with ctx.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ServiceDep = Annotated[ConversationService, Depends(get_service)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_client_address(request: Request, ctx: ContextDep) -> str:
    """Where the request comes from (X-Forwarded-For only through a trusted proxy)."""
    return client_address(request, ctx.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client_address)]


def read_staff_cookie(ctx: WebContext, cookie: str | None) -> StaffSession | None:
    """The signed-in session of a staff cookie: signed by us, and still live in the
    database (not logged out, not revoked by a supervisor, not expired)."""
    if not cookie:
        return None
    try:
        token = open_staff_cookie(ctx.secret, cookie, ctx.limits.staff_session_seconds)
    except TokenError:
        return None
    with ctx.sessions() as session:
        record = active_staff_session(session, token, ctx.now())
        if record is None:
            return None
        return StaffSession(record.staff_id, record.csrf, record.id)


def get_staff_session(request: Request, ctx: ContextDep) -> StaffSession:
    staff_session = read_staff_cookie(ctx, request.cookies.get(STAFF_COOKIE))
    if staff_session is None:
        raise ApiError(401, "not_authenticated", "log in first")
    return staff_session


StaffSessionDep = Annotated[StaffSession, Depends(get_staff_session)]


def get_current_staff(staff_session: StaffSessionDep, session: SessionDep) -> StaffUser:
    user = session.get(StaffUser, staff_session.staff_id)
    if user is None:
        raise ApiError(401, "not_authenticated", "log in first")
    return user


CurrentStaff = Annotated[StaffUser, Depends(get_current_staff)]


def get_current_supervisor(user: CurrentStaff) -> StaffUser:
    if user.role != "supervisor":
        raise ApiError(403, "forbidden", "supervisors only")
    return user


CurrentSupervisor = Annotated[StaffUser, Depends(get_current_supervisor)]


def require_csrf(request: Request, staff_session: StaffSessionDep) -> None:
    """State-changing staff requests echo the session's CSRF token in a header."""
    if not csrf_matches(staff_session, request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "csrf_failed", "missing or wrong CSRF token")


CsrfProtected = Depends(require_csrf)
