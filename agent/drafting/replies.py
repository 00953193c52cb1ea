"""Drafted replies for the human agent: grounded in the ledger and the escalation reason.

A draft passes the link and phone checks of the assistant's replies (a suggestion file
edited to carry another site or number is not offered); what a person types and sends is
theirs and is not checked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session

from agent.conversation.models import Conversation
from agent.guardrails.output_checks import check_links, check_phones, policy_phones
from agent.ledger import repository as repo
from agent.policy.calculations import days_past_due, next_installment, past_due_amount
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date, format_money
from agent.settings import PROJECT_ROOT

SUGGESTIONS_FILE = PROJECT_ROOT / "prompts" / "suggestions.yaml"

log = logging.getLogger(__name__)


def _load(path: Path = SUGGESTIONS_FILE) -> dict[str, list[str]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def draft_replies(
    session: Session,
    conv: Conversation,
    policy: PolicyConfig,
    now: datetime,
    lender_domains: Iterable[str] = (),
) -> list[str]:
    drafts = _load()
    reason = conv.escalation_reason or "human_request"
    first_name = ""
    own_contact: list[str] = []
    replies = list(drafts.get(reason, drafts["human_request"]))
    if conv.verified and conv.customer_id:
        customer = repo.get_customer(session, conv.customer_id)
        first_name = customer.name.split()[0] if customer else ""
        own_contact = [d for d in (customer.phone, customer.email) if d] if customer else []
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
    filled = [
        r.format(first_name=first_name or "there", phone=policy.lender.support_phone)
        for r in replies
    ]
    domains, phones = tuple(lender_domains), [*policy_phones(policy), *own_contact]
    offered = []
    for text in filled:
        violations = check_links(text, domains, emails=own_contact) + check_phones(text, phones)
        if violations:
            log.warning(
                "draft reply not offered: %s",
                "; ".join(f"{v.kind}: {v.detail}" for v in violations),
            )
            continue
        offered.append(text)
    return offered[:4]
