"""A scripted OpenAI-compatible chat server for tests of the LLM path over real HTTP.

The server answers ``POST /v1/chat/completions`` from a queue of canned steps (a reply,
tool calls, raw malformed tool calls, an HTTP error, a delay before any of those), and
records every request it received, so a test can check both what the agent did with the
answers and what the agent sent. Streaming (``"stream": true``) is answered with
server-sent events built from the same canned completion, its text word by word
(optionally slowly, or breaking the connection mid-answer).

It runs uvicorn in a background thread on a free 127.0.0.1 port::

    with ScriptedOpenAI() as server:
        server.script(tool_calls(call("verify_identity", date_of_birth="1988-04-12",
                                      postal_code="73301")),
                      reply("Thanks, you're verified."))
        ...  # point ChatOpenAI at server.base_url
        assert server.requests[0].tool_names == [...]

When the queue is empty, the server answers HTTP 500 ``script exhausted`` and counts
the request in ``overrun`` (a test that expected no more calls can assert it is 0).

Like the real API, the server rejects (HTTP 400, counted in ``rejected``) a conversation
that breaks the tool-call protocol: an assistant message's tool calls must each be
answered by a ``tool`` message right after it, and a ``tool`` message must answer one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

_ids = itertools.count(1)


# --- what a step of the script can be ---------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """A 200 answer: an assistant message with optional text and raw tool calls."""

    content: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    finish_reason: str | None = None
    delay: float = 0.0  # seconds to wait before answering
    # Streaming only: seconds between content tokens, and a connection that breaks
    # after this many tokens (a model server dying mid-answer).
    token_delay: float = 0.0
    break_after_tokens: int | None = None

    def with_fresh_ids(self) -> Completion:
        """The same answer with new tool call ids (a model never repeats an id)."""
        calls = tuple({**c, "id": f"call_{next(_ids)}"} for c in self.tool_calls)
        return replace(self, tool_calls=calls)

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [dict(c) for c in self.tool_calls]
        return message

    def body(self, model: str) -> dict[str, Any]:
        finish = self.finish_reason or ("tool_calls" if self.tool_calls else "stop")
        return {
            "id": f"chatcmpl-scripted-{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": self.message(), "finish_reason": finish, "logprobs": None}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }


@dataclass(frozen=True)
class HttpError:
    """A non-200 answer with an OpenAI-style error body."""

    status: int = 500
    message: str = "scripted server error"
    delay: float = 0.0


@dataclass(frozen=True)
class Forever:
    """Answer this step to every request from now on (a model stuck in a loop)."""

    step: Completion | HttpError


Step = Completion | HttpError | Forever


def call(name: str, call_id: str | None = None, **args: Any) -> dict[str, Any]:
    """A well-formed tool call: JSON arguments from keyword arguments."""
    return raw_call(name, json.dumps(args), call_id)


def raw_call(
    name: str | None,
    arguments: str | None,
    call_id: str | None = None,
) -> dict[str, Any]:
    """A tool call exactly as given (arguments may be invalid JSON, name may be unknown)."""
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    return {"id": call_id or f"call_{next(_ids)}", "type": "function", "function": function}


def reply(
    text: str,
    delay: float = 0.0,
    token_delay: float = 0.0,
    break_after_tokens: int | None = None,
) -> Completion:
    return Completion(
        content=text,
        delay=delay,
        token_delay=token_delay,
        break_after_tokens=break_after_tokens,
    )


def tokens(text: str) -> list[str]:
    """How the server streams text: word by word, each word with the space after it."""
    return re.findall(r"\S+\s*|\s+", text)


def tool_calls(
    *calls: dict[str, Any], content: str | None = None, delay: float = 0.0
) -> Completion:
    return Completion(content=content, tool_calls=tuple(calls), delay=delay)


def http_error(
    status: int = 500, message: str = "scripted server error", delay: float = 0.0
) -> HttpError:
    return HttpError(status=status, message=message, delay=delay)


# --- what the server received -----------------------------------------------------------


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered_with: str = ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system_prompt(self) -> str:
        return "\n".join(
            _text(m.get("content"))
            for m in self.messages
            if m.get("role") in ("system", "developer")
        )

    @property
    def user_texts(self) -> list[str]:
        return [_text(m.get("content")) for m in self.messages if m.get("role") == "user"]

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("role") == "tool"]

    @property
    def tool_names(self) -> list[str]:
        return [
            t["function"]["name"] for t in self.body.get("tools", []) if t.get("type") == "function"
        ]

    def tool_schema(self, name: str) -> dict[str, Any]:
        for t in self.body.get("tools", []):
            if t.get("function", {}).get("name") == name:
                return dict(t["function"])
        raise KeyError(name)

    def agent_supplied(self) -> str:
        """The text of every message but the model's own (system, user and tool messages)."""
        return "\n".join(
            _text(m.get("content")) for m in self.messages if m.get("role") != "assistant"
        )

    def everything_sent(self) -> str:
        """The whole request body as text (to check that something never left)."""
        return json.dumps(self.body, ensure_ascii=False)


def protocol_errors(messages: list[dict[str, Any]]) -> list[str]:
    """What the OpenAI API would reject in this message list's tool-call protocol."""
    errors: list[str] = []
    pending: list[str] = []
    for index, m in enumerate(messages):
        role = m.get("role")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in pending:
                errors.append(
                    f"messages[{index}]: a 'tool' message must answer a preceding "
                    f"tool call (tool_call_id {call_id!r})"
                )
            else:
                pending.remove(call_id)
            continue
        if pending:
            errors.append(
                f"messages[{index}]: the tool calls {pending} are not followed by "
                "tool messages answering each of them"
            )
            pending = []
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                function = call.get("function") or {}
                if (
                    not call.get("id")
                    or not function.get("name")
                    or not isinstance(function.get("arguments"), str)
                ):
                    errors.append(f"messages[{index}]: a malformed tool call {call!r}")
                pending.append(call.get("id"))
    if pending:
        errors.append(f"the last tool calls {pending} are not answered by tool messages")
    return errors


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


# --- the server -------------------------------------------------------------------------


@dataclass
class _Script:
    steps: deque[Step] = field(default_factory=deque)
    forever: Completion | HttpError | None = None


class ScriptedOpenAI:
    """An OpenAI-compatible chat server answering from a script; see the module doc."""

    def __init__(self, model: str = "scripted-model", strict: bool = True) -> None:
        self.model = model
        self.strict = strict
        self._lock = threading.Lock()
        self._script = _Script()
        self._generation = 0  # bumped by reset() and stop(): releases pending delays
        self.requests: list[ReceivedRequest] = []
        self.overrun = 0
        self.rejected: list[str] = []
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    # scripting

    def script(self, *steps: Step | Iterable[Step]) -> None:
        """Append steps to the queue (a ``Forever`` step answers every later request)."""
        with self._lock:
            for step in steps:
                if isinstance(step, Completion | HttpError | Forever):
                    self._script.steps.append(step)
                else:
                    self._script.steps.extend(step)

    def reset(self) -> None:
        with self._lock:
            self._script = _Script()
            self._generation += 1
            self.requests = []
            self.overrun = 0
            self.rejected = []

    @property
    def remaining(self) -> int:
        """Steps not consumed yet (a ``Forever`` step counts as none)."""
        with self._lock:
            return sum(1 for s in self._script.steps if not isinstance(s, Forever))

    def _next_step(self) -> Completion | HttpError | None:
        with self._lock:
            while self._script.steps:
                step = self._script.steps.popleft()
                if isinstance(step, Forever):
                    self._script.forever = step.step
                    continue
                return step
            forever = self._script.forever
            return forever.with_fresh_ids() if isinstance(forever, Completion) else forever

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up early when the server is reset or stopped."""
        generation = self._generation
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and generation == self._generation:
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    # the app

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "the body is not JSON")
            received = ReceivedRequest(
                path=request.url.path, headers=dict(request.headers), body=body
            )
            problems = protocol_errors(list(body.get("messages", []))) if self.strict else []
            if problems:
                with self._lock:
                    self.requests.append(received)
                    self.rejected.extend(problems)
                received.answered_with = "rejected"
                return _error(400, "; ".join(problems))
            step = self._next_step()
            with self._lock:
                self.requests.append(received)
                if step is None:
                    self.overrun += 1
            if step is None:
                received.answered_with = "overrun"
                return _error(500, "script exhausted")
            received.answered_with = type(step).__name__
            if step.delay:
                await self._pause(step.delay)
            if isinstance(step, HttpError):
                return _error(step.status, step.message)
            model = str(body.get("model") or self.model)
            if body.get("stream"):
                return StreamingResponse(_sse(step, model), media_type="text/event-stream")
            return JSONResponse(step.body(model))

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "tests"}],
            }

        return app

    # lifecycle

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (ends in ``/v1``)."""
        if self._sock is None:
            raise RuntimeError("the scripted server is not started")
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedOpenAI:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        sock = self._sock
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="scripted-openai", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._generation += 1
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "error": {
                "message": message,
                "type": "server_error" if status >= 500 else "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )


async def _sse(step: Completion, model: str) -> AsyncIterator[str]:
    """The completion as chat.completion.chunk events: role, content, tool calls, finish."""
    base = {
        "id": f"chatcmpl-scripted-{next(_ids)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {
            **base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for index, token in enumerate(tokens(step.content or "")):
        if step.break_after_tokens is not None and index >= step.break_after_tokens:
            raise ConnectionError("scripted: the model server died mid-answer")
        if step.token_delay and index:
            await asyncio.sleep(step.token_delay)
        yield chunk({"content": token})
    for index, tc in enumerate(step.tool_calls):
        yield chunk({"tool_calls": [{"index": index, **tc}]})
    yield chunk({}, step.finish_reason or ("tool_calls" if step.tool_calls else "stop"))
    yield "data: [DONE]\n\n"
