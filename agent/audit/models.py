"""The audit table. Each row carries the hash of the previous row (a chain over the log)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from agent.db.types import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str | None = Field(default=None, index=True)
    kind: str = Field(index=True)
    actor: str  # customer | assistant | tool | guardrail | system | staff:<username>
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    prev_hash: str
    hash: str = Field(index=True)
