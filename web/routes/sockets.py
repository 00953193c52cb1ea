"""The two websocket endpoints (the protocol is in web/PROTOCOL.md)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from web.ws.console import serve_console
from web.ws.customer import serve_customer

router = APIRouter()


@router.websocket("/ws/chat")
async def chat(websocket: WebSocket) -> None:
    await serve_customer(websocket, websocket.app.state.web)


@router.websocket("/ws/console")
async def console(websocket: WebSocket) -> None:
    await serve_console(websocket, websocket.app.state.web)
