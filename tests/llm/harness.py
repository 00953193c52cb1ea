"""The world of one LLM-path test: the ledger, the clock, and a harness around a
conversation service whose agent talks to the scripted OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from agent.audit.log import verify_chain
from agent.audit.models import AuditEvent
from agent.conversation.models import Conversation, Flag, Message
from agent.conversation.service import ConversationService, TurnOutcome
from agent.db.engine import create_db_engine, create_schema
from agent.engine.agent import ServicingAgent
from agent.engine.llm import openai_compatible_model
from agent.engine.templates import Templates
from agent.evaluation.checks import Snapshot, changed_tables, ledger_snapshot
from agent.guardrails.input_pipeline import InputGuards
from agent.knowledge.embeddings import Embedder
from agent.ledger.loader import parse_ledger, write_ledger
from agent.policy.config import PolicyConfig
from agent.runtime import Engines, build_service
from agent.settings import Settings
from tests.llm.scripted_openai import ScriptedOpenAI

# The conversation's clock: 2026-03-10 14:00 in Maria's time zone (America/Chicago).
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)

# The ledger of /work/shared/scenarios/basic.yaml. On NOW, Maria's loan L100 has the
# February 15 installment ($150.00) unpaid and a $15.00 late fee: $165.00 past due,
# 23 days past due; the next installment, $150.00, is due March 15, 2026. James's loan
# L200 ($310.00 due March 10, principal $7,300.00) belongs to someone else.
LEDGER: dict[str, Any] = {
    "customers": [
        {
            "id": "C100",
            "name": "Maria Lopez",
            "date_of_birth": "1988-04-12",
            "postal_code": "73301",
            "timezone": "America/Chicago",
        },
        {"id": "C200", "name": "James Chen", "date_of_birth": "1975-11-02", "postal_code": "10001"},
    ],
    "loans": [
        {
            "id": "L100",
            "customer_id": "C100",
            "opened": "2025-06-15",
            "apr": 0.2499,
            "principal_balance": 2650.00,
            "interest_accrued_through": "2026-01-15",
            "installments": [
                {"due": "2026-01-15", "amount": 150.00, "paid": 150.00},
                {"due": "2026-02-15", "amount": 150.00, "paid": 0},
                {"due": "2026-03-15", "amount": 150.00, "paid": 0},
                {"due": "2026-04-15", "amount": 150.00, "paid": 0},
            ],
            "fees": [{"date": "2026-02-26", "kind": "late_fee", "amount": 15.00}],
        },
        {
            "id": "L200",
            "customer_id": "C200",
            "opened": "2024-01-10",
            "apr": 0.1899,
            "principal_balance": 7300.00,
            "interest_accrued_through": "2026-02-10",
            "installments": [
                {"due": "2026-02-10", "amount": 310.00, "paid": 310.00},
                {"due": "2026-03-10", "amount": 310.00, "paid": 0},
            ],
        },
    ],
}

DEFAULT_TIMEOUT = 5.0  # seconds; the scripted server answers at once, this is only a bound
API_KEY = "sk-scripted-test-key"
PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@dataclass
class OfflinePieces:
    settings: Settings
    policy: PolicyConfig
    embedder: Embedder
    guards: InputGuards
    templates: Templates


@dataclass
class LLMHarness:
    """One test's world: database, ledger, LLM-backed agent, conversation service."""

    db: Engine
    service: ConversationService
    agent: ServicingAgent
    server: ScriptedOpenAI
    ledger_before: Snapshot
    templates: Templates
    agent_settings: Settings
    conversation_id: str = ""
    replies: list[str] = field(default_factory=list)

    def start(self, customer_id: str | None = "C100", verified: bool = False) -> str:
        conv = self.service.start(channel="api", customer_id=customer_id, verified=verified)
        self.conversation_id = conv.id
        return conv.id

    def say(self, text: str) -> TurnOutcome:
        outcome = self.service.customer_message(self.conversation_id, text)
        self.replies.append(outcome.reply_text)
        return outcome

    def conversation(self) -> Conversation:
        return self.service.get(self.conversation_id)

    def audit(self, kind: str | None = None) -> list[AuditEvent]:
        with Session(self.db) as session:
            query = select(AuditEvent).where(AuditEvent.conversation_id == self.conversation_id)
            if kind is not None:
                query = query.where(AuditEvent.kind == kind)
            return list(session.exec(query.order_by(col(AuditEvent.id))))

    def audit_chain_ok(self) -> bool:
        with Session(self.db) as session:
            return verify_chain(session, self.conversation_id).ok

    def flags(self) -> list[Flag]:
        with Session(self.db) as session:
            return list(
                session.exec(select(Flag).where(Flag.conversation_id == self.conversation_id))
            )

    def stored_messages(self) -> list[Message]:
        with Session(self.db) as session:
            return list(
                session.exec(
                    select(Message)
                    .where(Message.conversation_id == self.conversation_id)
                    .order_by(col(Message.seq))
                )
            )

    def ledger_changes(self) -> dict[str, dict[str, int]]:
        with Session(self.db) as session:
            return changed_tables(self.ledger_before, ledger_snapshot(session))

    def safe_reply(self) -> str:
        return self.templates.render("guardrail_safe_reply")


HarnessFactory = Callable[..., LLMHarness]


def build_harness(
    pieces: OfflinePieces,
    server: ScriptedOpenAI,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    llm: BaseChatModel | None = None,
    **overrides: Any,
) -> LLMHarness:
    """A fresh in-memory database with LEDGER, an agent whose model is ``llm`` or the
    ``ChatOpenAI`` that ``openai_compatible_model`` builds for the scripted server (no
    retries, ``timeout`` seconds), and a conversation service on the clock NOW."""
    settings = pieces.settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_base_url": server.base_url,
            "llm_model": server.model,
            "llm_api_key": SecretStr(API_KEY),
            "llm_timeout_seconds": timeout,
            "llm_max_retries": 0,
            **overrides,
        }
    )
    if llm is None:
        llm = openai_compatible_model(settings)
    agent = ServicingAgent(settings, pieces.policy, pieces.embedder, InMemorySaver(), llm=llm)
    engines = Engines(
        settings,
        pieces.policy,
        pieces.embedder,
        agent,
        pieces.guards,
        agent.templates,
        retriever=None,
    )
    db = create_db_engine("sqlite://")
    create_schema(db)
    with Session(db) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
        before = ledger_snapshot(session)
    service = build_service(engines, db, clock=lambda: NOW)
    return LLMHarness(
        db=db,
        service=service,
        agent=agent,
        server=server,
        ledger_before=before,
        templates=agent.templates,
        agent_settings=settings,
    )
