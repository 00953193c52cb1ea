"""Staff accounts: argon2 password hashes, logins throttled with growing delays
(agent/conversation/login_throttle.py) and audited, and revocable sign-in sessions."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from agent.audit.log import append_event
from agent.conversation import login_throttle
from agent.conversation.models import StaffLogin, StaffUser

INVALID_LOGIN = "invalid username or password"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    error: str | None = None
    retry_after: float | None = None  # seconds, when the attempt was throttled (not checked)


def authenticate(
    session: Session, username: str, password: str, address: str, now: datetime
) -> LoginResult:
    """Check a login from a client ``address`` unless its throttle holds it back.

    Unknown users and wrong passwords get the same answer and count the same way. Every
    outcome is audited (never the password); the caller audits a success with the
    session it opens. Call with no transaction open (the throttle commits its count).
    """
    admission = login_throttle.admit(session, username, address, now)
    who = {"username": username, "address": address}
    if not admission.admitted:
        append_event(
            session,
            "staff_login_throttled",
            "anonymous",
            {**who, "throttle": admission.scope, "retry_after": admission.retry_after},
        )
        session.commit()
        return LoginResult(
            None,
            f"too many failed logins; try again in {_duration(admission.retry_after)}",
            admission.retry_after,
        )
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
    if user is None or not password_matches(user.password_hash, password):
        append_event(session, "staff_login_failed", "anonymous", who)
        session.commit()
        return LoginResult(None, INVALID_LOGIN)
    login_throttle.succeeded(session, admission, now)
    login_throttle.prune(session, now)
    session.commit()
    return LoginResult(user)


def _duration(seconds: float) -> str:
    if seconds >= 120:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minutes"
    whole = math.ceil(seconds)
    return f"{whole} second{'s' if whole != 1 else ''}"


def ensure_staff_user(
    session: Session, username: str, display_name: str, role: str, password: str | None
) -> tuple[StaffUser, str | None]:
    """Create the user if missing; returns it and the generated password, if one was made."""
    existing = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if existing is not None:
        return existing, None
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user, generated


# --- sign-in sessions ---------------------------------------------------------------------

# A session's last_seen_at is written at most this often (not on every request).
LAST_SEEN_EVERY = timedelta(minutes=1)


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_staff_session(
    session: Session, staff_id: int, now: datetime, lifetime: timedelta
) -> tuple[str, StaffLogin]:
    """A new session for a person who just logged in: the token (for the cookie only) and
    its stored record (committed by the caller)."""
    token = secrets.token_urlsafe(32)
    record = StaffLogin(
        id=_token_id(token),
        staff_id=staff_id,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(record)
    return token, record


def active_staff_session(session: Session, token: str, now: datetime) -> StaffLogin | None:
    """The session this token opened, if it is neither revoked nor expired."""
    record = session.get(StaffLogin, _token_id(token))
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    if record.last_seen_at is None or now - record.last_seen_at >= LAST_SEEN_EVERY:
        record.last_seen_at = now
        session.add(record)
        session.commit()
    return record


def revoke_staff_session(session: Session, session_id: str, now: datetime, reason: str) -> bool:
    record = session.get(StaffLogin, session_id)
    if record is None or record.revoked_at is not None:
        return False
    record.revoked_at, record.revoked_reason = now, reason
    session.add(record)
    return True


def revoke_all_staff_sessions(
    session: Session, staff_id: int, now: datetime, reason: str
) -> list[str]:
    """Sign a person out everywhere; returns the ids of the sessions that ended."""
    live = session.exec(
        select(StaffLogin).where(
            StaffLogin.staff_id == staff_id,
            col(StaffLogin.revoked_at).is_(None),
            col(StaffLogin.expires_at) > now,
        )
    ).all()
    for record in live:
        record.revoked_at, record.revoked_reason = now, reason
        session.add(record)
    return [record.id for record in live]
