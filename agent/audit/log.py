"""Writing and verifying the hash-chained audit log.

Every event's hash covers its content and the previous event's hash, so changing,
removing or reordering any stored event breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from agent.audit.models import AuditEvent
from agent.db.types import utcnow
from agent.db.write_gate import begin_write

GENESIS = "0" * 64
_process_lock = threading.Lock()
_PG_LOCK_KEY = 7_316_001  # advisory lock serialising appends across server instances


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def canonical(value: Any) -> Any:
    """JSON-safe, deterministic form of a payload (Decimals and dates as text)."""
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def event_hash(
    prev_hash: str,
    conversation_id: str | None,
    kind: str,
    actor: str,
    payload: dict,
    created_at: datetime,
) -> str:
    body = json.dumps(
        {
            "prev": prev_hash,
            "conversation_id": conversation_id,
            "kind": kind,
            "actor": actor,
            "payload": payload,
            "created_at": created_at.isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append_event(
    session: Session,
    kind: str,
    actor: str,
    payload: dict | None = None,
    conversation_id: str | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (committed with it)."""
    return append_events(session, [(kind, actor, payload or {}, conversation_id)])[0]


def append_events(
    session: Session, events: list[tuple[str, str, dict, str | None]]
) -> list[AuditEvent]:
    """Append events, in order, chained to the last stored one (one read, one flush)."""
    if not events:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Before the process lock: waiting for SQLite's write lock (or the write gate)
        # while holding it would deadlock with a writer that appends next.
        _sqlite_write_lock(session)
    elif dialect == "postgresql":
        # The caller's other writes go out before the chain's lock is taken: every writer
        # on the database waits for that lock until this transaction commits, so only the
        # chain's own read and insert happen under it.
        session.flush()
    with _process_lock:
        if dialect == "postgresql":
            session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_LOCK_KEY))
        last = session.exec(
            select(AuditEvent.hash, AuditEvent.created_at)
            .order_by(col(AuditEvent.id).desc())
            .limit(1)
        ).first()
        prev, last_time = (last[0], last[1]) if last else (GENESIS, None)
        written = []
        for kind, actor, payload, conversation_id in events:
            data = canonical(payload)
            created = utcnow()
            if last_time is not None and created < last_time:
                created = last_time  # keep the log's time order even if clocks step back
            digest = event_hash(prev, conversation_id, kind, actor, data, created)
            event = AuditEvent(
                conversation_id=conversation_id,
                kind=kind,
                actor=actor,
                payload=data,
                created_at=created,
                prev_hash=prev,
                hash=digest,
            )
            session.add(event)
            written.append(event)
            prev, last_time = digest, created
        session.flush()
    return written


def _sqlite_write_lock(session: Session) -> None:
    """Hold SQLite's write lock from before the chain's end is read until the caller
    commits. Without it two appends (threads or processes) read the same last hash
    and fork the chain: the process lock ends at the flush, long before the commit."""
    begin_write(session)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session, conversation_id: str | None = None) -> ChainReport:
    """Re-hash the whole log (the chain is global); report the first broken link.

    With ``conversation_id`` the whole chain is still verified (a conversation's events
    are only trustworthy if the chain through them is), and the count is that
    conversation's events.
    """
    prev = GENESIS
    checked = 0
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != prev:
            return ChainReport(
                False, checked, event.id, "prev_hash does not match the previous event"
            )
        expected = event_hash(
            prev, event.conversation_id, event.kind, event.actor, event.payload, event.created_at
        )
        if expected != event.hash:
            return ChainReport(False, checked, event.id, "content does not match its hash")
        prev = event.hash
        if conversation_id is None or event.conversation_id == conversation_id:
            checked += 1
    return ChainReport(True, checked)
