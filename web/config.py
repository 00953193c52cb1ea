"""Limits of the web channel (frame sizes, rate limits, cookie lifetimes).

They are properties of the transport, not of the lending policy, so they live here;
``create_app(limits=...)`` overrides them (tests use small windows).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebLimits:
    # Customer socket: at most ``messages_per_window`` chat frames (message,
    # request_human, end, rate) per conversation in any ``window_seconds``.
    messages_per_window: int = 8
    window_seconds: float = 10.0
    # A frame larger than this is refused before it is parsed (the text itself is
    # capped by ``Settings.max_message_chars`` in the service).
    max_frame_bytes: int = 16_384
    # The first frame must be ``hello``, within this many seconds.
    hello_timeout_seconds: float = 10.0
    # A conversation's resume token (kept by the widget) stays valid this long.
    resume_ttl_seconds: int = 24 * 3600
    # Staff sessions (signed cookie) and how often an open console counts as online.
    staff_session_seconds: int = 8 * 3600
    staff_heartbeat_seconds: float = 30.0
    # While a customer waits in the queue, their position is refreshed this often.
    queue_refresh_seconds: float = 15.0
    # Customer sockets allowed per conversation at once (several tabs, reconnects).
    sockets_per_conversation: int = 5
    # New conversations one client address may start per minute (resumes don't count).
    new_conversations_per_minute: int = 30
