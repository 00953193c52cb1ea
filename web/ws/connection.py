"""One websocket with serialised sends (several tasks write to it) and tolerant receive."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState


class Disconnected(Exception):
    pass


class Connection:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()
        self.closed = False

    async def send(self, frame: dict[str, Any]) -> None:
        if self.closed:
            return
        async with self._lock:
            try:
                await self.websocket.send_text(json.dumps(frame, default=str))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.closed = True

    async def receive(self) -> str | bytes | None:
        """The next frame's payload (``None`` for an empty frame); raises Disconnected."""
        if self.closed:
            raise Disconnected
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            self.closed = True
            raise Disconnected from exc
        if message["type"] == "websocket.disconnect":
            self.closed = True
            raise Disconnected
        return message.get("text") if message.get("text") is not None else message.get("bytes")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed and self.websocket.application_state == WebSocketState.DISCONNECTED:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self.websocket.close(code=code, reason=reason[:120])


async def subscribed(task: asyncio.Task[None], ready: asyncio.Event) -> bool:
    """Wait until ``task`` has subscribed (``ready`` set); False if it failed first."""
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        return False
    return True
