"""The agent loop of the offline engine, run directly: the same model, tools, middleware
and checkpoint as the LangGraph agent (:func:`langchain.agents.create_agent`), without
the graph runtime around them.

Why: the offline engine answers in about a millisecond, and LangGraph's machinery around
it (channels, tasks, a thread pool created for every tool step and every run) cost about
ten times that per turn — at 1,000 live conversations on two cores, the difference
between answering in 60 ms and queueing for seconds (README, "Load").

What stays the same, by construction rather than by copy:

- the middleware are the agent's own instances: every model call goes through their
  ``wrap_model_call`` in the agent's order (first = outermost), and the call caps are the
  same hooks (``before_model`` of the model-call cap, ``after_model`` of the tool-call
  cap) reading and returning the same state keys;
- the tools are the same LangChain tools, invoked with the same injected
  :class:`~langchain.tools.ToolRuntime` (the conversation's context) and their arguments
  validated by their schemas; an unknown tool or invalid arguments answer with an error
  tool message, as LangGraph's ``ToolNode`` does;
- the conversation's history is read from the checkpoint and the turn is written back
  through the graph (``update_state``), so the checkpoint is the one LangGraph keeps (an
  LLM configured later continues the same thread) and :class:`TurnCheckpoints` holds it
  until the transcript has stored the turn.

With an LLM the graph runs as it is (streaming, fallback, network waits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.tools import ToolRuntime
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent.tools.context import ConversationContext

ModelHandler = Callable[[ModelRequest], Any]
# A backstop like LangGraph's recursion limit; the agent's model-call cap ends turns first.
MAX_MODEL_CALLS = 20


class DirectAgentLoop:
    """Runs one turn: model → tools → model … until the model answers without a tool call
    or a cap ends the turn (see the module doc)."""

    def __init__(
        self,
        graph: Any,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        middleware: Sequence[AgentMiddleware],
    ) -> None:
        self.graph = graph
        self.model = model
        self.tools = {tool.name: tool for tool in tools}
        self._tool_list = list(tools)
        self._before_model = [m for m in middleware if _overrides(m, "before_model")]
        # After-model hooks run last middleware first, as in LangGraph's agent (the model
        # call cap counts the call there).
        self._after_model = [m for m in reversed(middleware) if _overrides(m, "after_model")]
        self._call_model = _chained(
            [m for m in middleware if _overrides(m, "wrap_model_call")], self._invoke_model
        )

    def invoke(
        self, thread_id: str, messages: list[BaseMessage], ctx: ConversationContext
    ) -> list[BaseMessage]:
        """The turn's messages after the history: ``messages`` (the input), then every
        model answer and tool result. The checkpoint update is held by the checkpointer
        until the turn is kept or forgotten."""
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
        state = self._saved_state(config)
        history: list[BaseMessage] = list(state.get("messages", []))
        state.update(messages=[*history, *messages], run_model_call_count=0, run_tool_call_count={})
        runtime = Runtime(context=ctx)
        for _step in range(MAX_MODEL_CALLS):
            if self._run_hooks(self._before_model, "before_model", state, runtime):
                break
            request = ModelRequest(
                model=self.model,
                messages=list(state["messages"]),
                system_message=None,
                tool_choice=None,
                tools=self._tool_list,
                response_format=None,
                state=state,  # type: ignore[arg-type]
                runtime=runtime,
            )
            answer = _messages_of(self._call_model(request))
            state["messages"] = [*state["messages"], *answer]
            if self._run_hooks(self._after_model, "after_model", state, runtime):
                break
            calls = _calls_of_last_answer(state["messages"])
            if calls is None:
                break  # an answer without tool calls ends the turn
            # Calls a cap already answered (with an error) do not run; when it answered
            # all of them, the model is asked again, as LangGraph's agent does.
            results = [self._run_tool(call, state, ctx) for call in calls]
            state["messages"] = [*state["messages"], *results]
        new = state["messages"][len(history) :]
        self.graph.update_state(
            config,
            {
                "messages": new,
                "thread_model_call_count": state.get("thread_model_call_count", 0),
                "thread_tool_call_count": state.get("thread_tool_call_count", {}),
            },
            as_node="model",
        )
        return new

    # --- the pieces of a step ------------------------------------------------------------

    def _saved_state(self, config: dict[str, Any]) -> dict[str, Any]:
        saved = self.graph.checkpointer.get_tuple(
            {"configurable": {**config["configurable"], "checkpoint_ns": ""}}
        )
        if saved is None:
            return {}
        values = saved.checkpoint.get("channel_values", {})
        return {
            key: values[key]
            for key in ("messages", "thread_model_call_count", "thread_tool_call_count")
            if key in values
        }

    @staticmethod
    def _run_hooks(
        hooks: list[AgentMiddleware], name: str, state: dict[str, Any], runtime: Runtime
    ) -> bool:
        """Run a stage's hooks in order, applying their updates; True when one ends the
        turn (``jump_to: end``)."""
        for middleware in hooks:
            update = getattr(middleware, name)(state, runtime)
            if not update:
                continue
            for key, value in update.items():
                if key == "messages":
                    state["messages"] = [*state["messages"], *value]
                elif key != "jump_to":
                    state[key] = value
            if update.get("jump_to") == "end":
                return True
        return False

    def _invoke_model(self, request: ModelRequest) -> ModelResponse:
        messages = request.messages
        if request.system_message is not None:
            messages = [request.system_message, *messages]
        return ModelResponse(result=[request.model.invoke(messages)])

    def _run_tool(
        self, call: dict[str, Any], state: dict[str, Any], ctx: ConversationContext
    ) -> ToolMessage:
        name, call_id = call["name"], call["id"]
        tool = self.tools.get(name)
        if tool is None:
            return _tool_error(
                call,
                f"Error: {name} is not a valid tool, try one of [{', '.join(self.tools)}].",
            )
        runtime = ToolRuntime(
            state=state,
            context=ctx,
            config={},
            stream_writer=lambda _chunk: None,
            tool_call_id=call_id,
            store=None,
            tools=self._tool_list,
        )
        try:
            result = tool.invoke(
                {
                    "type": "tool_call",
                    "name": name,
                    "id": call_id,
                    "args": {**call["args"], "runtime": runtime},
                }
            )
        except ValidationError as exc:
            return _tool_error(
                call,
                f"Error invoking tool '{name}' with kwargs {call['args']} with error:\n"
                f"{exc}\n Please fix the error and try again.",
            )
        if isinstance(result, ToolMessage):
            return result
        return ToolMessage(content=str(result), tool_call_id=call_id, name=name)


def _overrides(middleware: AgentMiddleware, name: str) -> bool:
    return getattr(type(middleware), name) is not getattr(AgentMiddleware, name)


def _chained(wrappers: list[AgentMiddleware], core: ModelHandler) -> ModelHandler:
    """``core`` wrapped by each middleware's ``wrap_model_call``, the first outermost."""
    handler = core
    for middleware in reversed(wrappers):
        handler = _wrapped(middleware, handler)
    return handler


def _wrapped(middleware: AgentMiddleware, inner: ModelHandler) -> ModelHandler:
    return lambda request: middleware.wrap_model_call(request, inner)


def _messages_of(response: Any) -> list[BaseMessage]:
    if isinstance(response, ModelResponse):
        return list(response.result)
    if isinstance(response, BaseMessage):
        return [response]
    raise TypeError(f"a model call returned {type(response).__name__}")


def _calls_of_last_answer(messages: list[BaseMessage]) -> list[dict[str, Any]] | None:
    """The last model answer's tool calls that no tool message after it answers yet (a cap
    may have answered some with an error); None when that answer called no tool."""
    index = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AIMessage)), None
    )
    if index is None or not messages[index].tool_calls:
        return None
    # Only the answers after it count: the engine's call ids repeat from turn to turn.
    answered = {m.tool_call_id for m in messages[index + 1 :] if isinstance(m, ToolMessage)}
    return [call for call in messages[index].tool_calls if call["id"] not in answered]


def _tool_error(call: dict[str, Any], content: str) -> ToolMessage:
    return ToolMessage(content=content, tool_call_id=call["id"], name=call["name"], status="error")
