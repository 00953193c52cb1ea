"""Signed, expiring tokens (itsdangerous) for the three kinds of web session.

- customer tokens: minted by the lender's site for a logged-in customer; the widget
  passes one in ``hello`` and the conversation starts verified;
- resume tokens: handed to the widget in ``welcome``; they let the same browser
  reattach to its conversation after a network drop or a server restart (and nobody
  else: a conversation id alone is not enough);
- staff sessions: the payload of the console's HttpOnly, SameSite=Strict cookie,
  carrying the CSRF token that every state-changing request must echo in a header.

Each kind has its own salt, so one can never be replayed as another.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CUSTOMER_SALT = "harbor.customer-session.v1"
RESUME_SALT = "harbor.conversation-resume.v1"
STAFF_SALT = "harbor.staff-session.v1"

STAFF_COOKIE = "hcf_staff"
CSRF_HEADER = "X-CSRF-Token"


class TokenError(ValueError):
    """A token that is malformed, forged, or expired (``code`` says which)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def _load(secret: str, salt: str, token: str, max_age: int | None, what: str) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > 2048:
        raise TokenError("bad_token", f"the {what} is not valid")
    try:
        data = _serializer(secret, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError("token_expired", f"the {what} has expired") from exc
    except BadSignature as exc:
        raise TokenError("bad_token", f"the {what} is not valid") from exc
    if not isinstance(data, dict):
        raise TokenError("bad_token", f"the {what} is not valid")
    return data


# --- customers (the lender's site) -------------------------------------------------------


def mint_customer_token(secret: str, customer_id: str) -> str:
    """What the lender's back end does for a logged-in customer (see PROTOCOL.md)."""
    return _serializer(secret, CUSTOMER_SALT).dumps({"customer_id": customer_id})


def read_customer_token(secret: str, token: str, max_age: int | None) -> str:
    """The token's customer id; ``max_age=None`` checks the signature but not the age."""
    data = _load(secret, CUSTOMER_SALT, token, max_age, "sign-in token")
    customer_id = data.get("customer_id")
    if not isinstance(customer_id, str) or not customer_id:
        raise TokenError("bad_token", "the sign-in token is not valid")
    return customer_id


# --- conversation resume -------------------------------------------------------------------


def mint_resume_token(secret: str, conversation_id: str, customer_id: str | None) -> str:
    return _serializer(secret, RESUME_SALT).dumps({"c": conversation_id, "u": customer_id})


@dataclass(frozen=True)
class ResumeGrant:
    conversation_id: str
    customer_id: str | None  # the token's customer when the session was authenticated


def read_resume_token(secret: str, token: str, max_age: int) -> ResumeGrant:
    data = _load(secret, RESUME_SALT, token, max_age, "resume token")
    conversation_id = data.get("c")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise TokenError("bad_token", "the resume token is not valid")
    customer_id = data.get("u")
    return ResumeGrant(conversation_id, customer_id if isinstance(customer_id, str) else None)


# --- staff sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSession:
    staff_id: int
    csrf: str
    session_id: str  # the stored StaffLogin's id (revocable)


def signed_out_channel(staff_id: int) -> str:
    """Where the end of a person's sessions is announced (logout, a supervisor's sign-out):
    their open consoles close at once, on every server."""
    return f"staff:{staff_id}"


def seal_staff_token(secret: str, token: str) -> str:
    """The cookie value: the session's random token, signed and timestamped."""
    return _serializer(secret, STAFF_SALT).dumps({"t": token})


def open_staff_cookie(secret: str, cookie: str, max_age: int) -> str:
    """The session token inside a staff cookie (its stored session decides the rest)."""
    data = _load(secret, STAFF_SALT, cookie, max_age, "staff session")
    token = data.get("t")
    if not isinstance(token, str) or not token:
        raise TokenError("bad_token", "the staff session is not valid")
    return token


def csrf_matches(session: StaffSession, header_value: str | None) -> bool:
    return bool(header_value) and secrets.compare_digest(session.csrf, header_value or "")
