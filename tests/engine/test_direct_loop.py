"""The offline engine's direct agent loop against the LangGraph graph it replaces: the same
replies, tool calls, caps and checkpoint, turn by turn, and a checkpoint either can
continue from."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from sqlmodel import Session, select

from agent.conversation.models import Conversation, Flag
from agent.engine.agent import ServicingAgent
from agent.engine.direct_loop import DirectAgentLoop
from agent.evaluation.runner import fresh_database, scenario_clock
from agent.evaluation.scenario import Scenario, load_scenarios
from agent.ledger.loader import write_ledger
from agent.ledger.models import PromiseToPay
from agent.runtime import Engines, build_service
from agent.tools.registry import servicing_tools

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# Multi-step turns (several tools in one turn), proposals and their yes, verification of
# an anonymous chat, two loans, escalations.
PARITY_FILES = (
    "multi_intent.yaml",
    "promise_to_pay.yaml",
    "identity.yaml",
    "clarifications.yaml",
    "two_loan_inference.yaml",
    "escalation.yaml",
)


def _agent(engines: Engines, direct: bool, saver: Any | None = None, **limits: int):
    settings = engines.settings.model_copy(update=limits)
    return ServicingAgent(
        settings,
        engines.policy,
        engines.embedder,
        saver if saver is not None else InMemorySaver(),
        direct_loop=direct,
    )


def _run(engines: Engines, agent: ServicingAgent, scenario: Scenario, db: Any = None):
    """The scenario's turns on ``agent``: the replies, the conversation's flags and the
    messages its checkpoint holds."""
    if db is None:
        db = fresh_database()
        with Session(db) as session:
            write_ledger(session, scenario.ledger)
            session.commit()
    now = scenario_clock(scenario)
    service = build_service(dataclasses.replace(engines, agent=agent), db, clock=lambda: now)
    conv = service.start(
        channel="test", customer_id=scenario.customer_id, verified=scenario.verified
    )
    replies = [
        service.customer_message(conv.id, turn.customer).reply_text for turn in scenario.turns
    ]
    with Session(db) as session:
        flags = sorted(
            f.kind for f in session.exec(select(Flag).where(Flag.conversation_id == conv.id))
        )
    saved = agent.checkpoints.get_tuple(
        {"configurable": {"thread_id": conv.id, "checkpoint_ns": ""}}
    )
    messages = saved.checkpoint["channel_values"]["messages"] if saved else []
    return _without_tokens((replies, flags, [_shape(m) for m in messages]))


def _without_tokens(value: Any) -> Any:
    """Payment links carry a random token each time one is made."""
    return ast.literal_eval(re.sub(r"/pay/[\w-]+", "/pay/<token>", repr(value)))


def _shape(message: BaseMessage) -> tuple[Any, ...]:
    """What a message says, without the ids LangGraph gives it."""
    return (
        type(message).__name__,
        message.content,
        [(c["name"], c["args"], c["id"]) for c in getattr(message, "tool_calls", [])],
        getattr(message, "name", None),
        getattr(message, "status", None),
        getattr(message, "tool_call_id", None),
        {k: v for k, v in message.additional_kwargs.items()},
    )


def _scenarios() -> list[Scenario]:
    return load_scenarios([SCENARIOS / name for name in PARITY_FILES])


@pytest.fixture(scope="module")
def parity_agents(engines: Engines) -> tuple[ServicingAgent, ServicingAgent]:
    return _agent(engines, direct=True), _agent(engines, direct=False)


def test_the_direct_loop_runs_without_the_graph_runtime(engines: Engines) -> None:
    assert _agent(engines, direct=True).direct is not None
    assert _agent(engines, direct=False).direct is None


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s.id)
def test_same_replies_flags_and_checkpoint_as_the_graph(
    engines: Engines, parity_agents: tuple[ServicingAgent, ServicingAgent], scenario: Scenario
) -> None:
    direct, graph = parity_agents
    assert _run(engines, direct, scenario) == _run(engines, graph, scenario)


@pytest.mark.parametrize(
    "limits, flag",
    [({"max_model_calls_per_turn": 2}, "model_call_limit"), ({"max_tool_calls_per_turn": 1}, None)],
)
def test_the_caps_end_a_turn_the_same_way(
    engines: Engines, limits: dict[str, int], flag: str | None
) -> None:
    """A turn that needs three model calls and two tools (past due, then a link)."""
    scenario = next(s for s in _scenarios() if s.id == "mi-past-due-and-link")
    direct = _run(engines, _agent(engines, True, **limits), scenario)
    graph = _run(engines, _agent(engines, False, **limits), scenario)
    assert direct == graph
    replies, flags, messages = direct
    assert "http" not in replies[0]  # the link was never made
    if flag:
        assert flag in flags
    else:  # the second tool call was answered with the cap's error, not run
        errors = [m for m in messages if m[0] == "ToolMessage" and m[4] == "error"]
        assert errors and "create_payment_link" in {m[3] for m in errors}


def test_a_proposal_made_by_one_loop_is_confirmed_by_the_other(engines: Engines) -> None:
    """The checkpoint the direct loop writes is the graph's: an LLM configured later (the
    graph) continues the thread, and the other way round."""
    scenario = next(s for s in _scenarios() if s.id == "mi-past-due-then-ptp")
    assert [t.customer for t in scenario.turns][-1] == "yes"
    for first, second in ((True, False), (False, True)):
        saver = InMemorySaver()
        db = fresh_database()
        with Session(db) as session:
            write_ledger(session, scenario.ledger)
            session.commit()
        now = scenario_clock(scenario)
        services = [
            build_service(
                dataclasses.replace(engines, agent=_agent(engines, direct, saver)),
                db,
                clock=lambda now=now: now,
            )
            for direct in (first, second)
        ]
        conv = services[0].start(channel="test", customer_id=scenario.customer_id, verified=True)
        proposal = services[0].customer_message(conv.id, scenario.turns[0].customer)
        assert proposal.proposal is not None
        confirmed = services[1].customer_message(conv.id, "yes")
        assert "March 13, 2026" in confirmed.reply_text
        with Session(db) as session:
            promises = session.exec(select(PromiseToPay)).all()
        assert [(p.loan_id, str(p.amount)) for p in promises] == [("L100", "165.00")]


def test_a_turn_not_kept_leaves_no_checkpoint(engines: Engines) -> None:
    saver = InMemorySaver()
    agent = _agent(engines, True, saver)
    scenario = next(s for s in _scenarios() if s.id == "mi-past-due-and-link")
    db = fresh_database()
    with Session(db) as session:
        write_ledger(session, scenario.ledger)
        session.commit()
    service = build_service(dataclasses.replace(engines, agent=agent), db)
    conv = service.start(channel="test", customer_id="C100", verified=True)
    service.customer_message(conv.id, "what's my balance")
    config = {"configurable": {"thread_id": conv.id, "checkpoint_ns": ""}}
    kept = saver.get_tuple(config).checkpoint["channel_values"]["messages"]
    agent.forget_turn(conv.id)  # nothing waiting: the turn was kept after its commit
    with Session(db) as session:
        row = session.get(Conversation, conv.id)
        ctx = service._turns._context(session, row, "what's my payoff", turn=2, audits=[])
        agent.run(ctx, [HumanMessage("what's my payoff")])
    assert agent.checkpoints.waiting(conv.id) > 0
    agent.forget_turn(conv.id)  # the transcript did not store it
    assert saver.get_tuple(config).checkpoint["channel_values"]["messages"] == kept


class _Scripted(BaseChatModel):
    """A model that answers with the given messages, one per call."""

    answers: list[AIMessage]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.answers.pop(0))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _call(name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def test_unknown_tools_and_invalid_arguments_answer_with_an_error_not_an_exception() -> None:
    model = _Scripted(
        answers=[
            _call("transfer_funds", "c1", amount="500"),
            _call("change_due_date", "c2", day_of_month="the fifteenth"),
            AIMessage(content="done"),
        ]
    )
    tools = servicing_tools()
    graph = create_agent(model, tools=tools, checkpointer=InMemorySaver())
    loop = DirectAgentLoop(graph, model, tools, [])
    new = loop.invoke("t1", [HumanMessage("move my due date")], ctx=None)  # type: ignore[arg-type]
    results = [m for m in new if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.status) for m in results] == [("c1", "error"), ("c2", "error")]
    assert "not a valid tool" in str(results[0].content)
    assert "day_of_month" in str(results[1].content)
    assert new[-1].content == "done"
    saved = graph.get_state({"configurable": {"thread_id": "t1"}})
    assert [type(m).__name__ for m in saved.values["messages"]] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert saved.next == ()
