"""The FastAPI app: ``create_app`` builds it (``uvicorn web.app:create_app --factory``).

Tests inject ``engines`` (built once per test session) and a ``db_engine`` per test; the
server builds both from settings in the lifespan, before it accepts connections.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from agent import turn_workers
from agent.conversation.broker import Broker
from agent.runtime import (
    Engines,
    build_engines,
    database_engine,
    register_instance,
    settle_heap,
)
from agent.seeding import refuse_unsafe_start
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
            database = db_engine or database_engine(settings)
            await run_in_threadpool(refuse_unsafe_start, settings, database)
            log.info("loading engines (embedder, classifier, retriever)...")
            built = engines or await run_in_threadpool(build_engines, settings)
            app.state.web = build_context(settings, built, database, limits, clock, broker)
            if engines is None and turn_workers.wanted(settings, uses_llm=built.agent.streams):
                log.info("starting %d turn workers...", settings.turn_workers)
                workers = turn_workers.TurnWorkers(settings, settings.turn_workers)
                await run_in_threadpool(workers.start)
                app.state.web.use_turn_workers(workers, settings.turn_workers)
            if engines is None:
                settle_heap()
            log.info("ready")
        registration = await run_in_threadpool(register_instance, settings)
        try:
            yield
        finally:
            service = app.state.web.service
            runner = getattr(service, "turn_runner", None)
            if runner is not None:
                await run_in_threadpool(runner.close)
            await run_in_threadpool(service.broker.close)
            await run_in_threadpool(service.order.close)
            if registration is not None:
                await run_in_threadpool(registration.close)

    app = FastAPI(
        title="Harbor Consumer Finance — servicing chat",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    if engines is not None and db_engine is not None:
        refuse_unsafe_start(settings, db_engine)
        app.state.web = build_context(settings, engines, db_engine, limits, clock, broker)
    errors.install(app)
    app.middleware("http")(_security_headers(settings))
    routers = [pages, staff, supervisor, pay, sockets] + ([demo] if settings.demo else [])
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


# The customer pages a lender may embed in a frame, by the sites named in
# LOAN_AGENT_FRAME_ANCESTORS; the staff pages never (a framed console could be clickjacked).
EMBEDDABLE = re.compile(r"/(?:pay/[^/]*)?")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def security_headers(settings: Settings, path: str, content_type: str, host: str) -> dict[str, str]:
    """The security headers of one response (a pure function of its path and type)."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        # Payment tokens travel in URLs: never leak them to other sites.
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.environment == "production":
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if not content_type.startswith("text/html"):
        # Nothing but a page is ever rendered: an API answer opened as a document runs nothing.
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"
        return headers
    ancestors = settings.frame_ancestors if EMBEDDABLE.fullmatch(path) else []
    # The socket is same-origin; 'self' covers ws: only in newer browsers, so the host is
    # named too (when it is a plain host, never a header someone crafted).
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    framers = " ".join(ancestors) or "'none'"
    headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {framers}"
    )
    if not ancestors:
        # X-Frame-Options cannot name several sites: it is sent only when none may frame.
        headers["X-Frame-Options"] = "DENY"
    return headers


def _security_headers(
    settings: Settings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in security_headers(
            settings,
            request.url.path,
            response.headers.get("content-type", ""),
            request.headers.get("host", ""),
        ).items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware
