"""Event fan-out: in-process, and through Redis between two server instances."""

import asyncio

import pytest

from agent.conversation.broker import InProcessBroker, RedisBroker


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
