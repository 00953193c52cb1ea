"""Conversation tables: conversations, messages, events, escalations, flags, staff users,
their sign-in sessions and the throttle of failed logins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from agent.db.types import UTCDateTime, utcnow


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Conversation(SQLModel, table=True):
    id: str = Field(primary_key=True)
    channel: str = "widget"  # widget | app | cli | eval | api
    state: str = Field(default="ai", index=True)  # ai | queued | human | closed
    customer_id: str | None = Field(default=None, index=True)  # known from the session
    claimed_customer_id: str | None = None  # identified by loan/phone, not yet verified
    verified: bool = False
    failed_verifications: int = 0
    verification_locked: bool = False
    language: str = "en"
    timezone: str = "America/New_York"
    disclosure_sent: bool = False
    flagged: bool = False
    priority: str | None = None
    escalation_reason: str | None = None
    assigned_staff_id: int | None = Field(default=None, foreign_key="staffuser.id")
    queued_at: datetime | None = _ts(nullable=True)
    customer_message_count: int = 0
    synced_seq: int = 0  # last transcript seq the agent's model context has seen
    rating: int | None = None
    rating_comment: str | None = None
    disposition: str | None = None
    dialogue: dict = _json()  # offline-engine dialogue state and other per-conversation data
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Message(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    seq: int
    role: str  # customer | assistant | agent | system
    author: str | None = None  # the person's display name for role=agent
    content: str
    client_message_id: str | None = Field(default=None, index=True)
    ai_drafted: bool = False
    meta: dict = _json()
    created_at: datetime = _ts()


class MessagePublic(SQLModel):
    seq: int
    role: str
    author: str | None
    content: str
    ai_drafted: bool
    created_at: datetime


class ConversationEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    kind: str  # state_changed | escalated | claimed | handed_back | closed | flagged | rated
    from_state: str | None = None
    to_state: str | None = None
    data: dict = _json()
    created_at: datetime = _ts()


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    reason: str
    priority: str
    summary: str
    packet: dict = _json()
    created_at: datetime = _ts()
    claimed_by: int | None = Field(default=None, foreign_key="staffuser.id")
    claimed_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)


class Flag(SQLModel, table=True):
    """A conversation marked for supervisor review (e.g. a reply replaced by a guardrail)."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    kind: str
    detail: str
    created_at: datetime = _ts()
    reviewed: bool = False


class StaffUser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    display_name: str
    role: str  # agent | supervisor
    password_hash: str
    # Unused since logins are throttled in LoginThrottle (kept: dropping columns is awkward
    # on SQLite and gains nothing).
    failed_logins: int = 0
    locked_until: datetime | None = _ts(nullable=True)
    online_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class StaffLogin(SQLModel, table=True):
    """One signed-in staff session. The cookie holds a random token; only its SHA-256 is
    stored (a database leak gives no usable sessions). Logging out, or a supervisor
    signing a person out everywhere, revokes it at once on every server."""

    id: str = Field(primary_key=True)  # sha256 hex of the session token
    staff_id: int = Field(foreign_key="staffuser.id", index=True)
    csrf: str
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    last_seen_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    revoked_reason: str | None = None


class LoginThrottle(SQLModel, table=True):
    """Failed staff logins counted under one key: an (address, account) pair, an address,
    or an account (see agent/conversation/login_throttle.py). Updated only by single
    atomic statements, so every server process sharing the database counts together."""

    key: str = Field(primary_key=True)
    failures: int = 0
    blocked_until: datetime | None = _ts(nullable=True)
    last_failure_at: datetime | None = _ts(nullable=True)
    # Pair keys only: the last successful login of that account from that address.
    succeeded_at: datetime | None = _ts(nullable=True)


class StaffPublic(SQLModel):
    id: int
    username: str
    display_name: str
    role: str
