"""The LLM path: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama) by settings."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from agent.settings import Settings


def openai_compatible_model(settings: Settings) -> ChatOpenAI:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
    )
