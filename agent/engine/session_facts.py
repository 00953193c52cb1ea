"""The session facts block: what both models (offline engine or LLM) are told each call.

Built from the conversation context by middleware, so it is always current (a tool that
verifies the customer is reflected on the next model call). Only facts the customer may
know: no account figures before verification.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.tools.context import ConversationContext
from agent.tools.ledger_tools import proposals_shown

START, END = "<session_facts>", "</session_facts>"


def session_facts(ctx: ConversationContext) -> dict[str, Any]:
    pending = {
        key: {k: v for k, v in entry.items() if k not in ("turn", "kept")}
        for key, entry in proposals_shown(ctx.dialogue, ctx.turn - 1).items()
    }
    facts: dict[str, Any] = {
        "today": ctx.today.isoformat(),
        "weekday": ctx.today.strftime("%A"),
        "verified": ctx.verified,
        "customer_known": ctx.customer_id is not None,
        "identified": ctx.claimed_customer_id is not None,
        "failed_verifications": ctx.failed_verifications,
        "verification_locked": ctx.verification_locked,
        "pending_confirmations": pending,
        "turn": ctx.turn,
        "language": ctx.language,
        "proposal_language": ctx.proposal_language,
    }
    if ctx.verified and ctx.customer_id:
        customer = ctx.own_customer()
        facts["customer_first_name"] = customer.name.split()[0] if customer else None
        facts["customer_loans"] = list(ctx.own_loan_ids())
    return facts


def render(facts: dict[str, Any]) -> str:
    return f"{START}{json.dumps(facts, sort_keys=True)}{END}"


def parse(text: str) -> dict[str, Any]:
    match = re.search(re.escape(START) + r"(.*?)" + re.escape(END), text, re.DOTALL)
    return json.loads(match.group(1)) if match else {}
