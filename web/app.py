"""The FastAPI app: ``create_app`` builds it (``uvicorn web.app:create_app --factory``).

Tests inject ``engines`` (built once per test session) and a ``db_engine`` per test; the
server builds both from settings in the lifespan, before it accepts connections.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from agent.conversation.broker import Broker
from agent.runtime import Engines, build_engines, database_engine
from agent.settings import Settings, get_settings
from web import errors
from web.config import WebLimits
from web.routes import demo, pages, pay, sockets, staff, supervisor
from web.routes.pages import STATIC
from web.state import build_context

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    engines: Engines | None = None,
    db_engine: Engine | None = None,
    *,
    limits: WebLimits | None = None,
    clock: Callable[[], datetime] | None = None,
    broker: Broker | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    limits = limits or WebLimits()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "web"):
            log.info("loading engines (embedder, classifier, retriever)...")
            built = engines or await run_in_threadpool(build_engines, settings)
            database = db_engine or database_engine(settings)
            app.state.web = build_context(settings, built, database, limits, clock, broker)
            log.info("ready")
        yield

    app = FastAPI(
        title="Harbor Consumer Finance — servicing chat",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    if engines is not None and db_engine is not None:
        app.state.web = build_context(settings, engines, db_engine, limits, clock, broker)
    errors.install(app)
    app.middleware("http")(_security_headers)
    for module in (pages, staff, supervisor, demo, pay, sockets):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Payment tokens travel in URLs: never leak them to other sites.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.headers.get("content-type", "").startswith("text/html"):
        host = request.headers.get("host", "")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.url.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
