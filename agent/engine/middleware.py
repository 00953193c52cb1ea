"""Agent middleware: session facts into the prompt, output guardrails, logged fallback.

Order in the agent (outermost first): caps → session facts → output guard → tool-call
check → fallback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    ModelCallLimitMiddleware,
    ModelFallbackMiddleware,
    ModelRequest,
    ModelResponse,
    hook_config,
)
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import invalid_tool_call

from agent.engine import session_facts
from agent.engine.llm import RAW_TOOL_ARGUMENTS
from agent.engine.streaming import ReplyDraft
from agent.engine.templates import Templates
from agent.guardrails import output_checks
from agent.language.localized import english_dates
from agent.tools.context import ConversationContext

log = logging.getLogger(__name__)


class SessionFactsMiddleware(AgentMiddleware):
    """Appends the current session facts to the system prompt on every model call."""

    def __init__(self, base_prompt: str) -> None:
        super().__init__()
        self.base_prompt = base_prompt

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> ModelResponse:
        ctx: ConversationContext = request.runtime.context
        text = f"{self.base_prompt}\n\n{session_facts.render(session_facts.session_facts(ctx))}"
        return handler(request.override(system_message=SystemMessage(text)))


def _final_message(response: Any) -> AIMessage | None:
    messages = response.result if isinstance(response, ModelResponse) else [response]
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return message
    return None


def reply_violations(
    ctx: ConversationContext,
    history: list[Any],
    reply: str,
    prohibited: Callable[[str], list[Any]] | None,
    lender_domains: tuple[str, ...] = (),
) -> list[output_checks.Violation]:
    # Evidence is what the tools answered in this conversation; a tool call the framework
    # could not run answers with an error that echoes the model's own arguments.
    evidence = [
        str(m.content)
        for m in history
        if isinstance(m, ToolMessage) and getattr(m, "status", "success") != "error"
    ]
    policy = ctx.policy
    own_contact = ctx.own_contact_details()
    violations = list(
        output_checks.check_disclosure_before_verification(reply, ctx.verified, policy)
    )
    violations += output_checks.check_grounding(
        english_dates(reply, ctx.language), evidence, policy, ctx.today
    )
    violations += output_checks.check_foreign_loans(reply, set(ctx.own_loan_ids()))
    violations += output_checks.check_links(
        reply, lender_domains, output_checks.issued_urls(evidence), own_contact
    )
    violations += output_checks.check_phones(
        reply, [*output_checks.policy_phones(policy), *own_contact]
    )
    if prohibited is not None:
        violations += [
            output_checks.Violation(f"prohibited:{v.kind}", str(v.evidence))
            for v in prohibited(reply)
        ]
    return violations


class OutputGuardMiddleware(AgentMiddleware):
    """Checks every final reply; regenerates once with the reason, then replaces it with a
    safe reply and flags the conversation for supervisors."""

    def __init__(
        self,
        templates: Templates,
        prohibited: Callable[[str], list[Any]] | None = None,
        lender_domains: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.templates = templates
        self.prohibited = prohibited
        self.lender_domains = lender_domains  # links a reply may carry besides tool-issued ones

    def violations(
        self, ctx: ConversationContext, history: list[Any], reply: str
    ) -> list[output_checks.Violation]:
        return reply_violations(ctx, history, reply, self.prohibited, self.lender_domains)

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> Any:
        ctx: ConversationContext = request.runtime.context
        response, draft = self._streamed(ctx, request, handler)
        message = _final_message(response)
        if message is None or message.tool_calls or not str(message.content).strip():
            if draft is not None:
                draft.withdraw()
            return response
        violations = self.violations(ctx, request.messages, str(message.content))
        if not violations:
            if draft is not None:
                draft.finish()
            return response
        if draft is not None:
            draft.withdraw()
        detail = "; ".join(f"{v.kind}: {v.detail}" for v in violations)
        ctx.audit("guardrail", {"stage": "output", "verdict": "regenerate", "violations": detail})
        note = SystemMessage(
            "Your last reply was blocked by a compliance check: "
            f"{detail}. Write it again using only figures and dates from tool results of this "
            "conversation, no link but one a tool gave in this conversation or on the lender's "
            "own site, no phone number but the lender's or the customer's own, nothing about "
            "an account before verification, and a respectful tone."
        )
        retry, retry_draft = self._streamed(
            ctx, request.override(messages=[*request.messages, note]), handler
        )
        retried = _final_message(retry)
        if retried is not None and (
            retried.tool_calls or not self.violations(ctx, request.messages, str(retried.content))
        ):
            ctx.audit("guardrail", {"stage": "output", "verdict": "regenerated_ok"})
            if retry_draft is not None:
                if retried.tool_calls:
                    retry_draft.withdraw()
                else:
                    retry_draft.finish()
            return retry
        if retry_draft is not None:
            retry_draft.withdraw()
        ctx.audit("guardrail", {"stage": "output", "verdict": "replaced", "violations": detail})
        ctx.flags.append(("guardrail_replaced_reply", detail))
        safe = AIMessage(
            content=self.templates.render("guardrail_safe_reply"),
            additional_kwargs={"guardrail": "replaced"},
        )
        return ModelResponse(result=[safe])

    def _streamed(
        self, ctx: ConversationContext, request: ModelRequest, handler: Callable
    ) -> tuple[Any, ReplyDraft | None]:
        """Call the model; when the turn streams, its tokens pass a draft gate that shows
        the customer only text that already passes this guard's checks."""
        if ctx.draft_sink is None:
            return handler(request), None
        history = request.messages
        draft = ReplyDraft(
            passes=lambda text: not self.violations(ctx, history, text),
            sink=ctx.draft_sink,
        )
        ctx.reply_draft = draft
        try:
            return handler(request), draft
        except BaseException:
            draft.withdraw()
            raise
        finally:
            ctx.reply_draft = None


class TurnModelCallLimit(ModelCallLimitMiddleware):
    """LangChain's per-run model call limit, ending the turn with a reply for the customer.

    The stock middleware ends the run with an AI message of its own ("Model call limits
    exceeded: run limit (6/6)"), which would be the reply the customer sees. This one ends
    it with ``reply`` instead, and records the event for supervisors.
    """

    def __init__(self, run_limit: int, reply: str) -> None:
        super().__init__(run_limit=run_limit, exit_behavior="end")
        self.reply = reply

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        result = super().before_model(state, runtime)
        if not result or result.get("jump_to") != "end":
            return result
        ctx: ConversationContext = runtime.context
        count = state.get("run_model_call_count", 0)
        detail = f"the turn reached the limit of {self.run_limit} model calls ({count})"
        ctx.audit(
            "guardrail",
            {
                "stage": "agent_loop",
                "verdict": "model_call_limit",
                "model_calls": count,
                "limit": self.run_limit,
            },
        )
        ctx.flags.append(("model_call_limit", detail))
        log.warning("model call limit reached in conversation %s", ctx.conversation_id)
        return {
            **result,
            "messages": [AIMessage(content=self.reply, additional_kwargs={"limit": "model_calls"})],
        }


class ToolCallCheckMiddleware(AgentMiddleware):
    """Malformed tool calls from the model (arguments that are not valid JSON) arrive as
    ``invalid_tool_calls``, and a call without a name or id is no better: nothing can run
    them, and an assistant message carrying them would be sent back to the endpoint on
    the next call without a tool result, which OpenAI-compatible endpoints reject.
    Regenerate once with the errors; if the model still gets them wrong, drop the broken
    calls (and answer with a safe reply when nothing else is left), and flag the
    conversation."""

    def __init__(self, safe_reply: str) -> None:
        super().__init__()
        self.safe_reply = safe_reply

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> Any:
        response = _unrunnable_calls_marked_invalid(handler(request))
        message = _final_message(response)
        if message is None or not message.invalid_tool_calls:
            return response
        ctx: ConversationContext = request.runtime.context
        detail = _invalid_calls_detail(message)
        ctx.audit(
            "guardrail",
            {"stage": "tool_call", "verdict": "regenerate", "invalid_tool_calls": detail},
        )
        note = SystemMessage(
            "Your last answer contained tool calls that could not be read: "
            f"{detail}. Call the tools again with the exact tool names and JSON object "
            "arguments of their schemas, or answer the customer without a tool."
        )
        retry = _unrunnable_calls_marked_invalid(
            handler(request.override(messages=[*request.messages, note]))
        )
        retried = _final_message(retry)
        if retried is None or not retried.invalid_tool_calls:
            ctx.audit("guardrail", {"stage": "tool_call", "verdict": "regenerated_ok"})
            return retry
        detail = _invalid_calls_detail(retried)
        ctx.audit(
            "guardrail", {"stage": "tool_call", "verdict": "dropped", "invalid_tool_calls": detail}
        )
        ctx.flags.append(("invalid_tool_call", detail))
        if retried.tool_calls or str(retried.content).strip():
            cleaned = retried.model_copy(update={"invalid_tool_calls": []})
        else:
            cleaned = AIMessage(
                content=self.safe_reply, additional_kwargs={"guardrail": "invalid_tool_call"}
            )
        return ModelResponse(result=[cleaned])


def _unrunnable_calls_marked_invalid(response: Any) -> Any:
    """The response with tool calls that cannot run (no name or id, or streamed arguments
    that are not a JSON object) moved to the invalid ones."""
    messages = response.result if isinstance(response, ModelResponse) else [response]
    index = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AIMessage)), None
    )
    if index is None:
        return response
    message: AIMessage = messages[index]
    raw_arguments = message.response_metadata.get(RAW_TOOL_ARGUMENTS) or {}
    problems = {
        id(c): problem for c in message.tool_calls if (problem := _call_problem(c, raw_arguments))
    }
    if not problems:
        return response
    bad = [c for c in message.tool_calls if id(c) in problems]
    invalid = [
        invalid_tool_call(
            name=c.get("name") or None,
            args=raw_arguments.get(c.get("id") or "", json.dumps(c.get("args"))),
            id=c.get("id") or None,
            error=problems[id(c)],
        )
        for c in bad
    ]
    fixed = message.model_copy(
        update={
            "tool_calls": [c for c in message.tool_calls if c not in bad],
            "invalid_tool_calls": [*message.invalid_tool_calls, *invalid],
        }
    )
    result = [*messages[:index], fixed, *messages[index + 1 :]]
    if isinstance(response, ModelResponse):
        return ModelResponse(result=result, structured_response=response.structured_response)
    return fixed


def _call_problem(call: Any, raw_arguments: dict[str, str]) -> str | None:
    """Why a parsed tool call cannot run, or None.

    ``raw_arguments`` holds the argument text of streamed calls (see engine/llm.py):
    streaming parses it leniently, so it is checked here as a whole answer's would be.
    """
    if not call.get("name") or not call.get("id"):
        return "a tool call needs a tool name and an id"
    raw = raw_arguments.get(call["id"])
    if raw is None or not raw.strip():
        return None  # no arguments at all mean an empty object
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        return f"the arguments are not valid JSON ({exc})"
    if not isinstance(parsed, dict):
        return "the arguments are not a JSON object"
    return None


def _invalid_calls_detail(message: AIMessage) -> str:
    return "; ".join(
        f"{call.get('name') or '(no name)'}: {str(call.get('error') or 'unreadable')[:160]}"
        for call in message.invalid_tool_calls
    )[:1000]


class LoggedModelFallback(ModelFallbackMiddleware):
    """LangChain's model fallback, with every switch recorded in the audit trail.

    Once the primary model failed in a turn, the rest of that turn's model calls go
    straight to the fallback: a slow or broken endpoint costs one timeout per turn, not
    one per call, and the offline engine finishes the turn it planned.
    """

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> Any:
        ctx: ConversationContext = request.runtime.context
        if any(e.get("event") == "model_fallback" for e in ctx.model_events):
            return handler(request.override(model=self.models[0]))
        failures: list[str] = []

        def tracking(req: ModelRequest) -> Any:
            try:
                return handler(req)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                if ctx.reply_draft is not None:
                    ctx.reply_draft.restart()  # what the failed model streamed is void
                raise

        response = super().wrap_model_call(request, tracking)
        if failures:
            event = {"event": "model_fallback", "errors": failures, "scope": "rest_of_turn"}
            ctx.model_events.append(event)
            ctx.audit("model_fallback", event)
            log.warning("model fallback used: %s", failures)
        return response
