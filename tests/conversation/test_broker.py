"""Event fan-out: in-process, and through Redis between two server instances."""

import asyncio
import contextlib
import re

import pytest

from agent.conversation.broker import BrokerUnavailable, InProcessBroker, RedisBroker


async def _receive_one(broker, channel: str, publish) -> dict:
    async with broker.subscribe(channel) as events:
        await asyncio.sleep(0.2)  # let the subscription settle (Redis)
        publish()
        return await asyncio.wait_for(anext(events), timeout=5)


def test_in_process_fan_out_from_another_thread() -> None:
    broker = InProcessBroker()

    async def scenario() -> dict:
        loop = asyncio.get_running_loop()
        return await _receive_one(
            broker,
            "conversation:1",
            lambda: loop.run_in_executor(
                None, broker.publish, "conversation:1", {"type": "message", "n": 1}
            ),
        )

    assert asyncio.run(scenario()) == {"type": "message", "n": 1}


def test_other_channels_are_not_delivered() -> None:
    broker = InProcessBroker()

    async def scenario() -> None:
        async with broker.subscribe("conversation:a") as events:
            broker.publish("conversation:b", {"x": 1})
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(events), timeout=0.2)

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_delivers_between_instances(redis_available: str) -> None:
    sender, receiver = RedisBroker(redis_available), RedisBroker(redis_available)
    event = {"type": "state", "conversation_id": "c1", "state": "queued"}
    received = asyncio.run(
        _receive_one(receiver, "conversation:c1", lambda: sender.publish("conversation:c1", event))
    )
    assert received == event


def _event_connections(url: str) -> list[dict]:
    import os

    import redis

    client = redis.Redis.from_url(url)
    try:
        name = f"loan-agent-events-{os.getpid()}"
        return [c for c in client.client_list() if c.get("name") == name]
    finally:
        client.close()


def _subscribers(url: str, channel: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return dict(client.pubsub_numsub(channel))[channel.encode()]
    finally:
        client.close()


@pytest.mark.redis
def test_many_listeners_share_one_redis_connection(redis_available: str) -> None:
    receiver, sender = RedisBroker(redis_available), RedisBroker(redis_available)

    async def scenario() -> list[dict]:
        async with contextlib.AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(receiver.subscribe(f"conversation:s{i % 40}"))
                for i in range(60)
            ]
            assert len(_event_connections(redis_available)) == 1
            for i in range(40):
                sender.publish(f"conversation:s{i}", {"n": i})
            return [await asyncio.wait_for(anext(s), timeout=5) for s in streams]

    received = asyncio.run(scenario())
    # Every listener got its own channel's event, two listeners on a channel both got it.
    assert [event["n"] for event in received] == [i % 40 for i in range(60)]
    # The last listener gone, the channels are left and the connection closed.
    assert _subscribers(redis_available, "loan-agent:conversation:s1") == 0
    assert _event_connections(redis_available) == []


@pytest.mark.redis
def test_events_from_one_publisher_arrive_in_order(redis_available: str) -> None:
    receiver, sender = RedisBroker(redis_available), RedisBroker(redis_available)

    async def scenario() -> list[int]:
        async with receiver.subscribe("conversation:ordered") as events:
            for n in range(2_000):
                sender.publish("conversation:ordered", {"n": n})
            return [(await asyncio.wait_for(anext(events), 5))["n"] for _ in range(2_000)]

    assert asyncio.run(scenario()) == list(range(2_000))


@pytest.mark.redis
def test_a_lost_connection_comes_back_and_tells_listeners_to_resync(
    redis_available: str,
) -> None:
    import redis

    receiver, sender = RedisBroker(redis_available), RedisBroker(redis_available)
    admin = redis.Redis.from_url(redis_available)

    async def scenario() -> list[dict]:
        async with receiver.subscribe("conversation:r") as events:
            (connection,) = _event_connections(redis_available)
            admin.client_kill_filter(_id=connection["id"])
            resync = await asyncio.wait_for(anext(events), timeout=10)
            sender.publish("conversation:r", {"after": True})
            return [resync, await asyncio.wait_for(anext(events), timeout=5)]

    try:
        assert asyncio.run(scenario()) == [{"type": "resync"}, {"after": True}]
    finally:
        admin.close()


def test_with_redis_unreachable_publish_returns_and_subscribe_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RedisBroker("redis://127.0.0.1:9/0")  # nothing listens on the discard port

    for n in range(100):  # never raises, never waits for the network
        broker.publish("conversation:x", {"n": n})
    assert broker.flush(timeout=20)
    lost = [re.search(r"(\d+) events not published", r.getMessage()) for r in caplog.records]
    assert sum(int(m.group(1)) for m in lost if m) == 100  # each one accounted for in the log

    async def scenario() -> None:
        async with broker.subscribe("conversation:x"):
            pass

    with pytest.raises(BrokerUnavailable):
        asyncio.run(scenario())
