"""The demo payment page's API (the page itself is static: /pay/{token})."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.deps import ContextDep, SessionDep
from web.errors import ApiError
from web.payments import PaymentRefused, link_view, pay

router = APIRouter(prefix="/api/pay", tags=["payments"])
STATUS = {"unknown_link": 404, "link_used": 409, "link_expired": 410}


@router.get("/{token}")
def show(token: str, ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    try:
        return link_view(session, token, ctx.now())
    except PaymentRefused as exc:
        raise ApiError(STATUS[exc.code], exc.code, str(exc)) from exc


@router.post("/{token}")
def pay_now(token: str, ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    try:
        paid = pay(session, token, ctx.now())
    except PaymentRefused as exc:
        raise ApiError(STATUS[exc.code], exc.code, str(exc)) from exc
    conversation_id = paid.pop("conversation_id", None)
    if conversation_id:
        # The chat that sent the link says so (the customer may still have it open).
        ctx.service.system_notice(
            conversation_id,
            ctx.service.t.render(
                "payment_received",
                amount=paid["amount"],
                loan_id=paid["loan_id"],
                received_on=paid["received_on"],
            ),
        )
    return paid
