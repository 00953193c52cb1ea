"""Drafted replies for the human agent: grounded in the ledger and the escalation reason."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session

from agent.conversation.models import Conversation
from agent.ledger import repository as repo
from agent.policy.calculations import days_past_due, next_installment, past_due_amount
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date, format_money
from agent.settings import PROJECT_ROOT

SUGGESTIONS_FILE = PROJECT_ROOT / "prompts" / "suggestions.yaml"


def _load(path: Path = SUGGESTIONS_FILE) -> dict[str, list[str]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def draft_replies(
    session: Session, conv: Conversation, policy: PolicyConfig, now: datetime
) -> list[str]:
    drafts = _load()
    reason = conv.escalation_reason or "human_request"
    first_name = ""
    replies = list(drafts.get(reason, drafts["human_request"]))
    if conv.verified and conv.customer_id:
        customer = repo.get_customer(session, conv.customer_id)
        first_name = customer.name.split()[0] if customer else ""
        today = now.astimezone(ZoneInfo(conv.timezone)).date()
        for loan in repo.customer_loans(session, conv.customer_id):
            facts = repo.loan_facts(session, loan)
            nxt = next_installment(facts, today)
            past = past_due_amount(facts, today)
            line = (
                f"On loan {loan.id}, {format_money(past)} is past due "
                f"({days_past_due(facts, today)} days)"
            )
            if nxt:
                line += (
                    f", and the next payment of {format_money(nxt.remaining)} is due "
                    f"{format_date(nxt.due)}"
                )
            replies.append(line + ".")
    else:
        replies.append(
            "Before we go on, could you confirm your date of birth and the ZIP code on file?"
        )
    return [
        r.format(first_name=first_name or "there", phone=policy.lender.support_phone)
        for r in replies
    ][:4]
