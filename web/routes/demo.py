"""Demo-only helpers for the lender's pretend site: only in demo mode (LOAN_AGENT_DEMO=1).

The real lender's back end mints customer tokens itself (web/PROTOCOL.md); this lets the
demo page show the logged-in case without one. ``create_app`` registers these routes in
demo mode only, and each answers 404 unless demo mode is on (a second lock).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import col, select

from agent.ledger.models import Customer
from web.auth import mint_customer_token
from web.deps import ContextDep, SessionDep
from web.errors import ApiError


def _demo_only(ctx: ContextDep) -> None:
    if not ctx.settings.demo or ctx.settings.environment == "production":
        raise ApiError(404, "not_found", "not found")


router = APIRouter(prefix="/api/demo", tags=["demo"], dependencies=[Depends(_demo_only)])


class TokenIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=32)


@router.get("/customers")
def customers(ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    rows = session.exec(select(Customer).order_by(col(Customer.id)).limit(50))
    return {"customers": [{"id": c.id, "name": c.name} for c in rows]}


@router.post("/customer-token")
def customer_token(body: TokenIn, ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    customer = session.get(Customer, body.customer_id)
    if customer is None:
        raise ApiError(404, "unknown_customer", "no such demo customer")
    return {
        "token": mint_customer_token(ctx.secret, customer.id),
        "customer_id": customer.id,
        "name": customer.name,
        "expires_in": ctx.settings.token_ttl_seconds,
    }
