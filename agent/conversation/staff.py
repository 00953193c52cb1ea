"""Staff accounts: argon2 password hashes, login with lockout after repeated failures."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from agent.conversation.models import StaffUser

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
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


def authenticate(session: Session, username: str, password: str, now: datetime) -> LoginResult:
    """Check a login; five failures in a row lock the account for fifteen minutes.

    Unknown users and wrong passwords get the same answer.
    """
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return LoginResult(None, "invalid username or password")
    if user.locked_until and user.locked_until > now:
        return LoginResult(None, "account locked after repeated failed logins; try again later")
    if not password_matches(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.add(user)
        session.commit()
        return LoginResult(None, "invalid username or password")
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.commit()
    return LoginResult(user)


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
