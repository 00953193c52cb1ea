"""Wiring: the heavy, shareable pieces (embeddings, engine, classifier, retriever) built
once per process, and light conversation services on top of a database and a clock."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from agent.conversation.broker import Broker, broker_from_url
from agent.conversation.ordering import ConversationOrder
from agent.conversation.service import ConversationService
from agent.db.advisory_lock import (
    AdvisoryLocks,
    InstanceRegistration,
    is_postgres,
    startup_lock,
)
from agent.db.engine import create_db_engine, session_factory
from agent.engine.agent import ServicingAgent
from agent.engine.checkpoint import make_checkpointer
from agent.engine.templates import Templates
from agent.guardrails.availability import load_guardrail, probe_input_guards
from agent.guardrails.escalation import EscalationClassifier
from agent.guardrails.input_pipeline import InputGuards
from agent.knowledge.embeddings import Embedder, embedder_from_settings
from agent.language.detect import preload as preload_language_detector
from agent.policy.config import PolicyConfig, load_policy
from agent.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Engines:
    settings: Settings
    policy: PolicyConfig
    embedder: Embedder
    agent: ServicingAgent
    guards: InputGuards
    templates: Templates
    retriever: Any | None


def build_retriever(settings: Settings, embedder: Embedder, ingest_if_needed: bool) -> Any:
    # No fallback when it cannot load: answers about policy are only given from the
    # policy documents, never without them.
    from agent.knowledge.retriever import PolicyRetriever

    if ingest_if_needed:
        from agent.knowledge.ingest import ingest_from_settings

        # Server processes starting together would otherwise all write the index at once.
        with startup_lock(settings.effective_database_url, settings.data_dir):
            log.info("knowledge: %s", ingest_from_settings(settings, embedder=embedder))
    return PolicyRetriever.from_settings(settings, embedder=embedder)


def build_engines(
    settings: Settings,
    *,
    checkpointer: Any | None = None,
    llm: Any | None = None,
    ingest_if_needed: bool = True,
) -> Engines:
    policy = load_policy(settings.policy_file)
    embedder = embedder_from_settings(settings)
    if llm is None and settings.llm_provider == "openai":
        from agent.engine.llm import openai_compatible_model

        llm = openai_compatible_model(settings)
    if checkpointer is None:
        checkpointer = make_checkpointer(settings.effective_database_url)
    agent = ServicingAgent(settings, policy, embedder, checkpointer, llm=llm)
    guards = build_input_guards(embedder, policy, agent.routine_probability)
    preload_language_detector()  # its models load lazily: not inside a customer's turn
    retriever = build_retriever(settings, embedder, ingest_if_needed)
    return Engines(settings, policy, embedder, agent, guards, agent.templates, retriever)


def settle_heap() -> None:
    """Put everything loaded so far (the models, tokenizer, exemplars, compiled patterns:
    about 650,000 objects) out of the garbage collector's reach. Otherwise every full
    collection walks them all: a pause of about 400 ms in the middle of whichever turn
    triggers it, the p95 of the load bench (README, "Load"). Call once a process has
    loaded its engines."""
    gc.collect()
    gc.freeze()


def build_input_guards(
    embedder: Embedder, policy: PolicyConfig, routine_check: Callable[[str], float]
) -> InputGuards:
    """The input guardrails, loaded and probed: any that fails stops the start
    (:class:`GuardrailUnavailable`), it never runs turns without them."""
    classifier = load_guardrail(
        "escalation classifier",
        lambda: EscalationClassifier(embedder, policy, routine_check=routine_check),
    )
    guards = InputGuards(classifier)
    probe_input_guards(guards)
    return guards


def build_service(
    engines: Engines,
    db: Engine,
    *,
    clock: Callable[[], datetime] | None = None,
    broker: Broker | None = None,
) -> ConversationService:
    return ConversationService(
        sessions=session_factory(db),
        settings=engines.settings,
        policy=engines.policy,
        agent=engines.agent,
        guards=engines.guards,
        templates=engines.templates,
        retriever=engines.retriever,
        broker=broker or broker_from_url(engines.settings.redis_url),
        clock=clock,
        order=conversation_order(db),
    )


def conversation_order(db: Engine) -> ConversationOrder:
    """Across processes on PostgreSQL (several servers may share it); in-process on
    SQLite, whose turn workers take turns only on the server process's order."""
    url = db.url.render_as_string(hide_password=False)
    return ConversationOrder(AdvisoryLocks(url) if is_postgres(url) else None)


def several_processes_problem(settings: Settings) -> str | None:
    """Why these settings cannot serve from several processes at once, if they cannot."""
    if not is_postgres(settings.effective_database_url):
        return (
            "several server processes need PostgreSQL "
            "(LOAN_AGENT_DATABASE_URL=postgresql+psycopg://user@host/db): on the embedded "
            "SQLite file use one process, with LOAN_AGENT_TURN_WORKERS for the cores"
        )
    if not settings.redis_url:
        return (
            "several server processes need Redis (LOAN_AGENT_REDIS_URL=redis://host:6379/0), "
            "so that a customer and the person helping them see each other live whichever "
            "process each is connected to, and rate limits count across processes"
        )
    return None


def register_instance(settings: Settings) -> InstanceRegistration | None:
    """Count this server among those on its PostgreSQL database, and warn when others run
    there without Redis: their customers and staff would not see each other live."""
    url = settings.effective_database_url
    if not is_postgres(url):
        return None
    try:
        registration = InstanceRegistration(url)
        others = registration.count() - 1
    except Exception as exc:  # the database away: serving goes on, the check is skipped
        log.warning("could not count the server instances on the database: %s", exc)
        return None
    if others > 0 and not settings.redis_url:
        log.warning(
            "%d other server instance(s) run on this database without Redis "
            "(LOAN_AGENT_REDIS_URL): a customer and the person helping them on different "
            "instances will not see each other's messages live",
            others,
        )
    return registration


def database_engine(settings: Settings) -> Engine:
    return create_db_engine(settings.effective_database_url)
