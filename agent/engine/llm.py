"""The LLM path: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama) by settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from agent.settings import Settings

# response_metadata key: tool call id → the argument text exactly as the model streamed it.
RAW_TOOL_ARGUMENTS = "raw_tool_arguments"


class ServicingChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` that keeps the raw argument text of streamed tool calls.

    Streamed tool-call arguments are merged with a *partial* JSON parser, which reads
    ``{oops`` as ``{}`` and a cut-off ``{"amount": 50, "confi`` as ``{"amount": 50}``: a
    malformed call would run with arguments the model never wrote. The raw text rides
    along in the message's metadata so the tool-call check can refuse what is not a
    complete JSON object, exactly as for an answer that came whole.
    """

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        calls: dict[int, dict[str, str]] = {}
        for chunk in super()._stream(*args, **kwargs):
            for part in getattr(chunk.message, "tool_call_chunks", None) or []:
                entry = calls.setdefault(int(part.get("index") or 0), {"id": "", "args": ""})
                entry["id"] = part.get("id") or entry["id"]
                entry["args"] += part.get("args") or ""
            yield chunk
        if calls:
            raw = {entry["id"]: entry["args"] for entry in calls.values() if entry["id"]}
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", response_metadata={RAW_TOOL_ARGUMENTS: raw})
            )


def openai_compatible_model(settings: Settings) -> ChatOpenAI:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return ServicingChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        streaming=settings.llm_streaming,
    )
