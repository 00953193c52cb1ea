"""Rate limits: the in-process sliding window, and the one shared through Redis by
every server instance (with its in-process fallback while Redis is down)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from web_testkit import ChatSocket

from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.config import WebLimits
from web.ratelimit import KEY_PREFIX, RateLimiter, RedisRateLimiter, rate_limiter

UNUSED_REDIS = "redis://127.0.0.1:1/0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- in process ------------------------------------------------------------------------


def test_in_process_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock)
    assert [limiter.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 4.0
    assert limiter.hit("a") == pytest.approx(6.0)  # the first hit leaves in 6 s
    assert limiter.hit("b") == 0.0  # keys are independent


def test_in_process_window_slides_and_refusals_record_nothing() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock)
    limiter.hit("a")
    clock.now += 5.0
    limiter.hit("a")
    for _ in range(5):  # refused hits must not extend the wait
        assert limiter.hit("a") == pytest.approx(5.0)
    clock.now += 5.0  # the first hit has left the window, the second has not
    assert limiter.hit("a") == 0.0
    assert limiter.hit("a") == pytest.approx(5.0)
    clock.now += 10.0
    assert limiter.hit("a") == 0.0


def test_factory_picks_redis_only_when_a_url_is_set() -> None:
    assert type(rate_limiter("messages", 8, 10.0, None)) is RateLimiter
    assert type(rate_limiter("messages", 8, 10.0, "")) is RateLimiter
    shared = rate_limiter("messages", 8, 10.0, UNUSED_REDIS)  # connects lazily
    assert isinstance(shared, RedisRateLimiter)
    assert (shared.name, shared.limit, shared.window) == ("messages", 8, 10.0)
    shared.close()


# --- shared through Redis ----------------------------------------------------------------


@pytest.fixture
def name(redis_available: str) -> Iterator[str]:
    """A limiter name unique to the test; its keys are deleted afterwards."""
    import redis

    unique = f"test-{uuid.uuid4().hex[:12]}"
    yield unique
    client = redis.Redis.from_url(redis_available)
    keys = list(client.scan_iter(f"{KEY_PREFIX}{unique}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def servers(redis_available: str, name: str) -> Iterator[list[RedisRateLimiter]]:
    """Two "server instances" limiting the same budget: 3 hits per 0.5 s."""
    pair = [RedisRateLimiter(name, 3, 0.5, redis_available) for _ in range(2)]
    yield pair
    for limiter in pair:
        limiter.close()


@pytest.mark.redis
def test_two_instances_share_one_budget(servers: list[RedisRateLimiter]) -> None:
    a, b = servers
    assert [a.hit("conv-1"), b.hit("conv-1"), a.hit("conv-1")] == [0.0, 0.0, 0.0]
    for limiter in (b, a):  # the 4th hit is refused wherever it lands
        wait = limiter.hit("conv-1")
        assert 0.0 < wait <= 0.5
    assert a.fallback.hit("probe") == 0.0  # nothing was counted in process


@pytest.mark.redis
def test_keys_are_independent(servers: list[RedisRateLimiter]) -> None:
    a, b = servers
    for _ in range(3):
        assert a.hit("conv-1") == 0.0
    assert b.hit("conv-1") > 0.0
    assert [b.hit("conv-2"), a.hit("conv-2"), b.hit("conv-2")] == [0.0, 0.0, 0.0]
    assert a.hit("conv-2") > 0.0


@pytest.mark.redis
def test_names_are_independent(redis_available: str, name: str) -> None:
    messages = RedisRateLimiter(name, 1, 0.5, redis_available)
    other = RedisRateLimiter(f"{name}-other", 1, 0.5, redis_available)
    try:
        assert messages.hit("k") == 0.0
        assert other.hit("k") == 0.0  # same key, other limiter
        assert messages.hit("k") > 0.0
    finally:
        messages.close()
        other.close()
        other._client.delete(other.key("k"))


@pytest.mark.redis
def test_hits_are_allowed_again_once_the_window_has_passed(
    servers: list[RedisRateLimiter],
) -> None:
    a, b = servers
    for limiter in (a, b, a):
        assert limiter.hit("conv-1") == 0.0
    wait = b.hit("conv-1")
    assert 0.0 < wait <= 0.5
    time.sleep(wait + 0.05)  # the wait given is enough
    assert b.hit("conv-1") == 0.0
    time.sleep(0.55)
    assert [a.hit("conv-1"), b.hit("conv-1")] == [0.0, 0.0]


@pytest.mark.redis
def test_keys_are_namespaced_and_expire(servers: list[RedisRateLimiter], name: str) -> None:
    a, _ = servers
    a.hit("conv-1")
    assert a.key("conv-1") == f"loan-agent:ratelimit:{name}:conv-1"
    ttl_ms = a._client.pttl(a.key("conv-1"))
    assert 0 < ttl_ms <= 500


@pytest.mark.redis
def test_concurrent_hits_on_two_instances_never_exceed_the_limit(
    redis_available: str, name: str
) -> None:
    a = RedisRateLimiter(name, 5, 30.0, redis_available)
    b = RedisRateLimiter(name, 5, 30.0, redis_available)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            waits = list(pool.map(lambda i: (a, b)[i % 2].hit("busy"), range(40)))
    finally:
        a.close()
        b.close()
    assert sum(1 for w in waits if w == 0.0) == 5
    assert all(0.0 < w <= 30.0 for w in waits if w)


@pytest.mark.redis
def test_two_apps_with_redis_configured_share_a_conversation_budget(
    redis_available: str, web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    """build_context wires the shared limiters from ``settings.redis_url``: two frames
    on instance A and a reconnect to instance B leaves that conversation no budget."""
    settings = web_settings.model_copy(update={"redis_url": redis_available})
    limits = WebLimits(messages_per_window=2, window_seconds=30.0)
    instance_a = create_app(settings, engines, db_engine, limits=limits)
    instance_b = create_app(settings, engines, db_engine, limits=limits)
    for app in (instance_a, instance_b):
        ctx = app.state.web
        assert isinstance(ctx.limiter, RedisRateLimiter) and ctx.limiter.name == "messages"
        assert isinstance(ctx.new_conversations, RedisRateLimiter)
        assert ctx.new_conversations.name == "new_conversations"
    conversation_id = None
    try:
        with TestClient(instance_a) as a, a.websocket_connect("/ws/chat") as ws:
            chat = ChatSocket(ws)
            welcome = chat.hello()
            conversation_id = welcome["conversation_id"]
            chat.say("one", "1")
            chat.say("two", "2")
        with TestClient(instance_b) as b, b.websocket_connect("/ws/chat") as ws:
            chat = ChatSocket(ws)
            chat.hello(resume=welcome["resume"], last_seq=4)
            limited = chat.say("three", "3")[-1]
        assert limited["code"] == "rate_limited"
        assert 0 < limited["retry_after"] <= 30.0
    finally:
        limiter = instance_a.state.web.limiter
        if conversation_id:
            limiter._client.delete(limiter.key(conversation_id))
        limiter._client.delete(instance_a.state.web.new_conversations.key("testclient"))
        for app in (instance_a, instance_b):
            app.state.web.limiter.close()
            app.state.web.new_conversations.close()


# --- Redis down: fall back to counting in process ----------------------------------------


def test_unreachable_redis_falls_back_in_process_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter("messages", 2, 10.0, UNUSED_REDIS, retry_after_error=0.0)
    try:
        with caplog.at_level(logging.WARNING, logger="web.ratelimit"):
            assert [limiter.hit("conv-1"), limiter.hit("conv-1")] == [0.0, 0.0]
            assert 0.0 < limiter.hit("conv-1") <= 10.0  # still limited, no exception
            assert limiter.hit("conv-2") == 0.0
    finally:
        limiter.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis unavailable" in warnings[0].getMessage()


def test_after_an_error_redis_is_left_alone_for_a_while() -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter(
        "messages", 5, 10.0, UNUSED_REDIS, retry_after_error=5.0, clock=clock
    )
    calls = 0
    script = limiter._script

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return script(*args, **kwargs)

    limiter._script = counting
    try:
        limiter.hit("k")
        limiter.hit("k")
        assert calls == 1  # the second hit did not wait on a dead Redis
        clock.now += 5.0
        limiter.hit("k")
        assert calls == 2
    finally:
        limiter.close()
