"""Agent middleware: session facts into the prompt, output guardrails, logged fallback.

Order in the agent (outermost first): caps → session facts → output guard → fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    ModelFallbackMiddleware,
    ModelRequest,
    ModelResponse,
)
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage

from agent.engine import session_facts
from agent.engine.templates import Templates
from agent.guardrails import output_checks
from agent.ledger.repository import customer_loans
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


def reply_violations(ctx: ConversationContext, history: list[Any], reply: str,
                     prohibited: Callable[[str], list[Any]] | None) -> list[output_checks.Violation]:
    evidence = [str(m.content) for m in history if isinstance(m, ToolMessage)]
    policy = ctx.policy
    violations = list(output_checks.check_disclosure_before_verification(reply, ctx.verified,
                                                                         policy))
    violations += output_checks.check_grounding(reply, evidence, policy, ctx.today)
    own = {loan.id for loan in customer_loans(ctx.session, ctx.customer_id)} \
        if ctx.verified and ctx.customer_id else set()
    violations += output_checks.check_foreign_loans(reply, own)
    if prohibited is not None:
        violations += [output_checks.Violation(f"prohibited:{v.kind}", str(v.evidence))
                       for v in prohibited(reply)]
    return violations


class OutputGuardMiddleware(AgentMiddleware):
    """Checks every final reply; regenerates once with the reason, then replaces it with a
    safe reply and flags the conversation for supervisors."""

    def __init__(self, templates: Templates,
                 prohibited: Callable[[str], list[Any]] | None = None) -> None:
        super().__init__()
        self.templates = templates
        self.prohibited = prohibited

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> Any:
        ctx: ConversationContext = request.runtime.context
        response = handler(request)
        message = _final_message(response)
        if message is None or message.tool_calls or not str(message.content).strip():
            return response
        violations = reply_violations(ctx, request.messages, str(message.content), self.prohibited)
        if not violations:
            return response
        detail = "; ".join(f"{v.kind}: {v.detail}" for v in violations)
        ctx.audit("guardrail", {"stage": "output", "verdict": "regenerate", "violations": detail})
        note = SystemMessage(
            "Your last reply was blocked by a compliance check: "
            f"{detail}. Write it again using only figures and dates from tool results of this "
            "conversation, nothing about an account before verification, and a respectful tone."
        )
        retry = handler(request.override(messages=[*request.messages, note]))
        retried = _final_message(retry)
        if retried is not None and (retried.tool_calls or not reply_violations(
                ctx, request.messages, str(retried.content), self.prohibited)):
            ctx.audit("guardrail", {"stage": "output", "verdict": "regenerated_ok"})
            return retry
        ctx.audit("guardrail", {"stage": "output", "verdict": "replaced", "violations": detail})
        ctx.flags.append(("guardrail_replaced_reply", detail))
        safe = AIMessage(content=self.templates.render("guardrail_safe_reply"),
                         additional_kwargs={"guardrail": "replaced"})
        return ModelResponse(result=[safe])


class LoggedModelFallback(ModelFallbackMiddleware):
    """LangChain's model fallback, with every switch recorded in the audit trail."""

    def wrap_model_call(self, request: ModelRequest, handler: Callable) -> Any:
        failures: list[str] = []

        def tracking(req: ModelRequest) -> Any:
            try:
                return handler(req)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                raise

        response = super().wrap_model_call(request, tracking)
        if failures:
            ctx: ConversationContext = request.runtime.context
            event = {"event": "model_fallback", "errors": failures}
            ctx.model_events.append(event)
            ctx.audit("model_fallback", event)
            log.warning("model fallback used: %s", failures)
        return response
