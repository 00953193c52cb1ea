"""Demo-only helpers for the lender's pretend site (refused when environment=production).

The real lender's back end mints customer tokens itself (web/PROTOCOL.md); this lets the
demo page show the logged-in case without one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import col, select

from agent.ledger.models import Customer
from web.auth import mint_customer_token
from web.deps import ContextDep, SessionDep
from web.errors import ApiError
from web.state import WebContext

router = APIRouter(prefix="/api/demo", tags=["demo"])


class TokenIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=32)


def _demo_only(ctx: WebContext) -> None:
    if ctx.settings.environment == "production":
        raise ApiError(404, "not_found", "demo helpers are off in production")


@router.get("/customers")
def customers(ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    _demo_only(ctx)
    rows = session.exec(select(Customer).order_by(col(Customer.id)).limit(50))
    return {"customers": [{"id": c.id, "name": c.name} for c in rows]}


@router.post("/customer-token")
def customer_token(body: TokenIn, ctx: ContextDep, session: SessionDep) -> dict[str, Any]:
    _demo_only(ctx)
    customer = session.get(Customer, body.customer_id)
    if customer is None:
        raise ApiError(404, "unknown_customer", "no such demo customer")
    return {
        "token": mint_customer_token(ctx.secret, customer.id),
        "customer_id": customer.id,
        "name": customer.name,
        "expires_in": ctx.settings.token_ttl_seconds,
    }
