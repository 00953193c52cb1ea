"""Frames of the chat socket (see web/PROTOCOL.md): parsing and the server's replies.

Every client frame is a JSON object with a ``type``. Frames that change something
carry a client message ``id`` that the server acknowledges (``ack``) or refuses
(``error`` with the same ``id``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.language.normalize import clean_text

PROTOCOL_VERSION = 1
# Frames are flat objects; a little nesting is tolerated (unknown extra fields), absurd
# nesting is refused before the JSON parser recurses into it.
MAX_DEPTH = 8
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Hello(_Frame):
    type: Literal["hello"]
    v: int = PROTOCOL_VERSION
    token: str | None = Field(default=None, max_length=2048)
    resume: str | None = Field(default=None, max_length=2048)
    last_seq: int = Field(default=0, ge=0)
    # The page's language: a new conversation's, when no language is on file for the
    # customer ("en", "zh", "es"; anything else is English).
    language: str | None = Field(default=None, max_length=16)


class ChatMessage(_Frame):
    type: Literal["message"]
    id: ClientId
    # Length is the service's rule (Settings.max_message_chars); the frame cap bounds it.
    text: str


class RequestHuman(_Frame):
    type: Literal["request_human"]
    id: ClientId


class End(_Frame):
    type: Literal["end"]
    id: ClientId


class Rate(_Frame):
    type: Literal["rate"]
    id: ClientId
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class Confirm(_Frame):
    """The widget's Yes / No button under a reply that carries a proposal."""

    type: Literal["confirm"]
    id: ClientId
    proposal_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")
    answer: Literal["yes", "no"]


class Ping(_Frame):
    type: Literal["ping"]


class Watch(_Frame):
    """Console only: follow one conversation's transcript from ``last_seq``."""

    type: Literal["watch"]
    conversation_id: str = Field(min_length=1, max_length=64)
    last_seq: int = Field(default=0, ge=0)


class Typing(_Frame):
    """Console only: the agent is typing in ``conversation_id``."""

    type: Literal["typing"]
    conversation_id: str = Field(min_length=1, max_length=64)


CustomerFrame = Annotated[
    Hello | ChatMessage | Confirm | RequestHuman | End | Rate | Ping, Field(discriminator="type")
]
ConsoleFrame = Annotated[Watch | Typing | Ping, Field(discriminator="type")]
_customer = TypeAdapter(CustomerFrame)
_console = TypeAdapter(ConsoleFrame)
CUSTOMER_TYPES = frozenset({"hello", "message", "confirm", "request_human", "end", "rate", "ping"})
CONSOLE_TYPES = frozenset({"watch", "typing", "ping"})


class FrameError(ValueError):
    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.client_id = client_id

    def frame(self) -> dict[str, Any]:
        return error(self.code, str(self), self.client_id)


def parse(raw: str | bytes | None, max_bytes: int, console: bool = False) -> BaseModel:
    """One client frame, or :class:`FrameError` (bad_frame, frame_too_large, unknown_type).

    Size and nesting are checked before parsing; every string in the frame is cleaned
    (``clean_text``) before it is validated, so nothing unstorable gets further.
    """
    if raw is None or isinstance(raw, bytes):
        raise FrameError("bad_frame", "frames are JSON text, not binary")
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError("frame_too_large", f"a frame may be at most {max_bytes} bytes")
    if nesting_depth(raw) > MAX_DEPTH:
        raise FrameError("bad_frame", f"a frame may nest at most {MAX_DEPTH} levels deep")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise FrameError("bad_frame", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object with a 'type'")
    data = _cleaned(data)
    client_id = data.get("id") if isinstance(data.get("id"), str) else None
    kind = data.get("type")
    known = CONSOLE_TYPES if console else CUSTOMER_TYPES
    if kind not in known:
        raise FrameError(
            "unknown_type",
            f"unknown frame type {str(kind)[:40]!r}; expected one of {', '.join(sorted(known))}",
            client_id,
        )
    try:
        return (_console if console else _customer).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise FrameError("bad_frame", f"{kind}: {where}: {first['msg']}", client_id) from None


def nesting_depth(raw: str) -> int:
    """How deep arrays and objects nest in JSON text (brackets inside strings don't count;
    the text need not be valid JSON). One linear pass: no regular expression that could
    backtrack on crafted input."""
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _cleaned(value: Any) -> Any:
    """Every string in a parsed frame made storable (agent.language.normalize.clean_text):
    no lone surrogate, NUL or other control character reaches the core or a database."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def error(code: str, message: str, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["id"] = client_id
    frame.update(extra)
    return frame
