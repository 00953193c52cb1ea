"""The load bench's floor: a bare echo of the chat protocol (web/PROTOCOL.md).

It answers ``hello`` with a ``welcome`` and each ``message`` at once with what the real
server sends for a turn (typing on, ack, the customer's message, an assistant message of
the same shape, typing off), on the same stack (FastAPI on uvicorn, same options as
``loan-agent serve``), with no agent, database or checks behind it. What a load run
measures against it is the cost of the transport and the client, so the real server's
figures can be read as a ratio to it.

    python -m web.echo_server --host 127.0.0.1 --port 8100
"""

from __future__ import annotations

import argparse
import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

MAX_MESSAGE_CHARS = 2000


class TokenIn(BaseModel):
    customer_id: str


def create_app() -> FastAPI:
    app = FastAPI(title="loan-agent echo floor")
    conversations = itertools.count(1)

    @app.get("/healthz")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/api/demo/customer-token")
    def customer_token(body: TokenIn) -> dict[str, Any]:
        return {
            "token": f"echo.{body.customer_id}",
            "customer_id": body.customer_id,
            "name": body.customer_id,
            "expires_in": 3600,
        }

    @app.websocket("/ws/chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await _converse(websocket, f"echo{next(conversations):08d}")
        except WebSocketDisconnect:
            return

    return app


async def _converse(websocket: WebSocket, conversation_id: str) -> None:
    async def send(frame: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(frame, default=str))

    seq = 0
    started = False
    while True:
        try:
            frame = json.loads(await websocket.receive_text())
        except ValueError:
            await send({"type": "error", "code": "bad_frame", "message": "not JSON"})
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await send({"type": "pong"})
        elif kind == "hello" and not started:
            started = True
            await send(_welcome(conversation_id, verified=bool(frame.get("token"))))
        elif kind == "message" and started:
            seq += 2
            client_id = frame.get("id")
            await send({"type": "typing", "on": True, "who": "assistant"})
            await send({"type": "ack", "id": client_id, "seq": seq - 1, "duplicate": False})
            text = str(frame.get("text", ""))
            customer = _message(seq - 1, "customer", text) | {"client_id": client_id}
            await send({"type": "message", "conversation_id": conversation_id, "message": customer})
            reply = _message(seq, "assistant", f"You said: {text}")
            await send({"type": "message", "conversation_id": conversation_id, "message": reply})
            await send({"type": "typing", "on": False, "who": "assistant"})
        elif isinstance(frame, dict) and frame.get("id"):
            await send({"type": "ack", "id": frame["id"], "seq": None, "duplicate": False})


def _welcome(conversation_id: str, verified: bool) -> dict[str, Any]:
    return {
        "type": "welcome",
        "v": 1,
        "conversation_id": conversation_id,
        "resume": uuid.uuid4().hex,
        "resumed": False,
        "state": "ai",
        "verified": verified,
        "rating": None,
        "last_seq": 0,
        "max_message_chars": MAX_MESSAGE_CHARS,
        "link_domains": [],
    }


def _message(seq: int, role: str, content: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "role": role,
        "author": None,
        "content": content,
        "created_at": datetime.now(UTC).isoformat(),
        "ai_drafted": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_level="warning",
        proxy_headers=False,  # as `loan-agent serve`
    )


if __name__ == "__main__":
    main()
