"""The pages: the demo lender's site, the widget script, the console, supervisor, payment."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


def _file(name: str, media_type: str | None = None) -> FileResponse:
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/")
def home() -> FileResponse:
    return _file("index.html")


@router.get("/widget.js")
def widget_js() -> FileResponse:
    return _file("widget.js", "text/javascript; charset=utf-8")


@router.get("/widget.css")
def widget_css() -> FileResponse:
    return _file("widget.css", "text/css; charset=utf-8")


@router.get("/console")
def console() -> FileResponse:
    return _file("console.html")


@router.get("/supervisor")
def supervisor() -> FileResponse:
    return _file("supervisor.html")


@router.get("/pay/{token}")
def pay_page(token: str) -> FileResponse:
    return _file("pay.html")


@router.get("/healthz")
def health() -> dict[str, bool]:
    return {"ok": True}
