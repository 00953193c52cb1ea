"""The offline engine as a LangChain chat model, so it runs in the same agent loop,
with the same tools, middleware and guardrails as any LLM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from agent.engine.offline.brain import OfflineBrain


class OfflineServicingModel(BaseChatModel):
    """A deterministic "small model": intent matching, slots, dialogue policy, templates."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    brain: OfflineBrain

    @property
    def _llm_type(self) -> str:
        return "offline-servicing-engine"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline-servicing-engine"}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable:
        # The engine knows the servicing tools by name; binding changes nothing.
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.brain.respond(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])
