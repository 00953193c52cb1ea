"""The agent loop: LangChain ``create_agent`` with middleware; the model inside is the
offline engine (small models) or any OpenAI-compatible LLM."""
