"""``loan-agent chat``: a terminal conversation against the product database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from sqlmodel import Session

from agent.conversation.service import ConversationError
from agent.ledger.repository import get_customer
from agent.runtime import build_engines, build_service, database_engine
from agent.seeding import prepare_for_serving
from agent.settings import Settings

ROLE_LABEL = {"assistant": "Assistant (automated)", "system": "System", "agent": "Agent"}


def run_chat(
    settings: Settings, customer_id: str | None, verified: bool, now_text: str | None
) -> None:
    for note in prepare_for_serving(settings, ingest=False):  # build_engines ingests
        click.echo(note)
    db = database_engine(settings)
    clock = None
    if now_text:
        local = datetime.fromisoformat(now_text)
        if local.tzinfo is None:
            zone = "America/New_York"
            if customer_id:
                with Session(db) as session:
                    customer = get_customer(session, customer_id)
                    zone = customer.timezone if customer else zone
            local = local.replace(tzinfo=ZoneInfo(zone))
        fixed = local.astimezone(UTC)

        def clock() -> datetime:
            return fixed

    click.echo("loading the servicing engine...")
    engines = build_engines(settings)
    service = build_service(engines, db, clock=clock)
    try:
        conv = service.start(channel="cli", customer_id=customer_id, verified=verified)
    except ConversationError as exc:
        raise click.ClickException(str(exc)) from exc
    who = f"customer {customer_id}" if customer_id else "an anonymous customer"
    click.echo(
        f"Chatting as {who} ({'verified' if verified else 'not verified'}). Type 'quit' to leave.\n"
    )
    while True:
        try:
            text = click.prompt("You", prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if text.strip().lower() in {"quit", "exit"}:
            break
        try:
            outcome = service.customer_message(conv.id, text)
        except ConversationError as exc:
            click.echo(f"[{exc.code}] {exc}")
            continue
        for reply in outcome.replies:
            click.echo(f"{ROLE_LABEL.get(reply.role, reply.role)}: {reply.content}\n")
        if outcome.state != "ai":
            click.echo(
                f"(conversation is now '{outcome.state}': a person will continue "
                "in the agent console)"
            )
