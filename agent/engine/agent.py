"""One agent loop for every conversation: ``create_agent`` with the servicing tools and
middleware; the model is the offline engine or an OpenAI-compatible LLM (with the
offline engine as its fallback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ToolCallLimitMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.engine.checkpoint import TurnCheckpoints
from agent.engine.direct_loop import DirectAgentLoop
from agent.engine.middleware import (
    LoggedModelFallback,
    OutputGuardMiddleware,
    SessionFactsMiddleware,
    ToolCallCheckMiddleware,
    TurnModelCallLimit,
)
from agent.engine.offline.brain import OfflineBrain
from agent.engine.offline.intents import IntentMatcher
from agent.engine.offline.language_intents import LanguageIntentModel
from agent.engine.offline.language_intents import available_languages as intent_languages
from agent.engine.offline.model import OfflineServicingModel
from agent.engine.offline.understanding import ACCOUNT_INTENTS
from agent.engine.streaming import TokenRelay
from agent.engine.templates import Templates
from agent.guardrails.availability import load_guardrail, probe_prohibited
from agent.knowledge.embeddings import Embedder
from agent.language.normalize import normalize
from agent.policy.config import PolicyConfig
from agent.settings import Settings
from agent.tools.context import ConversationContext
from agent.tools.registry import servicing_tools


@dataclass
class AgentReply:
    text: str
    new_messages: list[BaseMessage] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    model: str = "offline"


def build_offline_model(
    embedder: Embedder, prompts_dir: Path, policy: PolicyConfig
) -> OfflineServicingModel:
    matcher = IntentMatcher(embedder, prompts_dir / "intents.yaml")
    language_intents = {
        language: LanguageIntentModel.load(language) for language in intent_languages()
    }
    brain = OfflineBrain(matcher, Templates(prompts_dir / "replies.yaml"), policy, language_intents)
    return OfflineServicingModel(brain=brain)


def routine_probability(matcher: IntentMatcher, text: str) -> float:
    ranked = matcher.rank(normalize(text))
    return float(sum(s.probability for s in ranked if s.intent in ACCOUNT_INTENTS))


def _prohibited_checker() -> Callable[[str], list[Any]]:
    """The prohibited-content check of every reply; it fails closed: without it the agent
    does not start (:class:`GuardrailUnavailable`)."""

    def load() -> Callable[[str], list[Any]]:
        from agent.guardrails.output_content import check_prohibited

        return check_prohibited

    check = load_guardrail("prohibited-content check", load)
    probe_prohibited(check)
    return check


class ServicingAgent:
    """The agent loop (offline engine or an OpenAI-compatible model, with the offline
    engine as fallback)."""

    def __init__(
        self,
        settings: Settings,
        policy: PolicyConfig,
        embedder: Embedder,
        checkpointer: Any,
        llm: BaseChatModel | None = None,
        direct_loop: bool = True,
    ) -> None:
        """``direct_loop``: the offline engine's turns run in :class:`DirectAgentLoop`
        (the same middleware, tools and checkpoint without the graph runtime); False runs
        them through the LangGraph graph (the parity tests compare the two)."""
        prompts = settings.prompts_dir
        # A turn's checkpoint is kept only once the transcript has stored the turn.
        self.checkpoints = TurnCheckpoints(checkpointer)
        self.templates = Templates(prompts / "replies.yaml")
        self.offline = build_offline_model(embedder, prompts, policy)
        self.model_name = "offline"
        middleware: list[Any] = [
            TurnModelCallLimit(
                settings.max_model_calls_per_turn, self.templates.render("tool_error")
            ),
            ToolCallLimitMiddleware(
                run_limit=settings.max_tool_calls_per_turn, exit_behavior="continue"
            ),
            SessionFactsMiddleware((prompts / "system.md").read_text(encoding="utf-8")),
            OutputGuardMiddleware(
                self.templates, _prohibited_checker(), tuple(settings.lender_domains)
            ),
            ToolCallCheckMiddleware(self.templates.render("tool_error")),
        ]
        model: BaseChatModel = self.offline
        self.streams = False  # the offline engine answers at once; nothing to stream
        if llm is not None:
            self.streams = True
            model = llm
            self.model_name = getattr(llm, "model_name", None) or "llm"
            middleware.append(LoggedModelFallback(self.offline))
        tools = servicing_tools()
        self.graph = create_agent(
            model,
            tools=tools,
            middleware=middleware,
            context_schema=ConversationContext,
            checkpointer=self.checkpoints,
        )
        self.direct = (
            DirectAgentLoop(self.graph, model, tools, middleware)
            if direct_loop and llm is None
            else None
        )

    def routine_probability(self, text: str) -> float:
        """How sure the intent model is that ``text`` is a routine account request
        (balance, payment, promise, due date, contact preferences…): the second opinion
        the escalation classifier asks before escalating on its own model's word alone."""
        return routine_probability(self.offline.brain.matcher, text)

    def run(self, ctx: ConversationContext, messages: list[BaseMessage]) -> AgentReply:
        all_messages = (
            self.direct.invoke(ctx.conversation_id, messages, ctx)
            if self.direct is not None
            else self._run_graph(ctx, messages)
        )
        return self._reply(ctx, all_messages)

    def _run_graph(
        self, ctx: ConversationContext, messages: list[BaseMessage]
    ) -> list[BaseMessage]:
        # max_concurrency=1: the tools of one model answer run one after the other, in
        # order. LangGraph's ToolNode otherwise runs them in parallel threads, and they
        # share this turn's database session and context (a model that sends the same
        # write three times at once got three writes and "Session is already flushing").
        config: dict[str, Any] = {
            "configurable": {"thread_id": ctx.conversation_id},
            "recursion_limit": 40,
            "max_concurrency": 1,
        }
        if self.streams and ctx.draft_sink is not None:
            config["callbacks"] = [TokenRelay(ctx)]
        # durability="exit": the checkpoint is written once, when the turn ends, and held
        # by ``self.checkpoints`` until the conversation service keeps or forgets the turn.
        state = self.graph.invoke(
            {"messages": messages}, config=config, context=ctx, durability="exit"
        )
        return list(state["messages"])

    def _reply(self, ctx: ConversationContext, all_messages: list[BaseMessage]) -> AgentReply:
        last_human = max(i for i, m in enumerate(all_messages) if isinstance(m, HumanMessage))
        new = all_messages[last_human + 1 :]
        tool_calls = [call for m in new if isinstance(m, AIMessage) for call in m.tool_calls]
        final = new[-1] if new else None
        if not isinstance(final, AIMessage) or final.tool_calls or not str(final.content).strip():
            text = self.templates.render("tool_error")
            ctx.flags.append(("no_final_reply", "the agent loop ended without a reply"))
        else:
            text = _text_of(final)
        model = "offline-fallback" if ctx.model_events else self.model_name
        if ctx.model_events:  # an incident supervisors see (flags), not only in the audit
            errors = [e for event in ctx.model_events for e in event.get("errors", [])]
            ctx.flags.append(
                (
                    "llm_fallback",
                    "the LLM failed, the offline engine answered: " + "; ".join(errors),
                )
            )
        return AgentReply(text=text, new_messages=new, tool_calls=tool_calls, model=model)

    def keep_turn(self, conversation_id: str) -> None:
        """The transcript has stored the turn: its checkpoint is written now."""
        self.checkpoints.keep(conversation_id)

    def forget_turn(self, conversation_id: str) -> None:
        """The turn was not stored: the model does not remember it either."""
        self.checkpoints.forget(conversation_id)


def _text_of(message: AIMessage) -> str:
    content = message.content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        ).strip()
    return str(content).strip()
