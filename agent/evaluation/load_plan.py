"""What a load run will do, decided before it starts: who talks, from where, when, saying what.

Pure and seeded: the same options give the same plan, so two runs (the server and the
echo floor) offer exactly the same traffic.
"""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass

from agent.ledger.demo_book import CUSTOMERS

# Routine questions a verified customer asks; each has an answer in the demo book.
ROUTINE = (
    "what do I owe",
    "when is my next payment due",
    "how can I pay",
    "send me a payment link",
    "what's my current balance",
    "how much is my next payment",
    "what's my payoff amount",
    "is anything past due on my account",
    "what's my due date",
    "how many payments do I have left",
)

# Messages that hand the conversation to a person (hardship, an explicit request).
ESCALATING = (
    "I lost my job and can't pay for a while",
    "I want to talk to a real person",
    "I'm going through a hardship and can't make my payments",
    "can I speak to a human please",
)

RATE_WINDOW_SECONDS = 60.0  # web/config.py counts new conversations per address per minute
SERVER_NEW_CONVERSATIONS_PER_MINUTE = 30  # web/config.py WebLimits.new_conversations_per_minute
# What the plan allows itself per address: headroom for starts that bunch up when the
# server accepts connections late.
ADDRESS_BUDGET = 24
FIRST_SOURCE_ADDRESS = ipaddress.IPv4Address("127.0.0.2")


@dataclass(frozen=True)
class LoadOptions:
    conversations: int
    turns: int = 4
    think: tuple[float, float] = (10.0, 30.0)
    start_window: float = 60.0
    escalating_share: float = 0.1
    turn_timeout: float = 60.0
    seed: int = 12
    address_budget: int = ADDRESS_BUDGET


@dataclass(frozen=True)
class PlannedConversation:
    index: int
    customer_id: str
    source_address: str | None  # None: the system's default address
    start_at: float  # seconds after the run starts
    messages: tuple[str, ...]
    thinks: tuple[float, ...]  # the pause after each reply but the last
    escalating: bool


def starts_per_address_per_minute(conversations: int, addresses: int, window: float) -> int:
    """Most hellos one address sends in any minute when ``conversations`` start evenly
    over ``window`` seconds and are dealt to ``addresses`` in turn."""
    per_address = math.ceil(conversations / addresses)
    if window <= 0:
        return per_address
    gap = addresses * window / conversations  # between two starts of one address
    return min(per_address, math.floor(RATE_WINDOW_SECONDS / gap) + 1)


def addresses_needed(conversations: int, window: float, budget: int = ADDRESS_BUDGET) -> int:
    """The fewest source addresses that keep each under ``budget`` starts a minute."""
    addresses = 1
    while starts_per_address_per_minute(conversations, addresses, window) > budget:
        addresses += 1
    return addresses


def source_addresses(count: int) -> list[str]:
    """127.0.0.2, 127.0.0.3, …: all of 127.0.0.0/8 is loopback on Linux."""
    return [str(FIRST_SOURCE_ADDRESS + i) for i in range(count)]


def plan_conversations(
    options: LoadOptions, spread_addresses: bool = True
) -> list[PlannedConversation]:
    """The run's conversations, in start order. Without ``spread_addresses`` every
    conversation uses the default source address (a server that is not on loopback)."""
    n = options.conversations
    if n < 1 or options.turns < 1:
        raise ValueError("a load run needs at least one conversation of at least one turn")
    low, high = options.think
    if not 0 <= low <= high:
        raise ValueError(f"think time must be 0 <= A <= B, not {low} {high}")
    rng = random.Random(options.seed)
    customers = [row[0] for row in CUSTOMERS]
    escalating = set(rng.sample(range(n), round(options.escalating_share * n)))
    count = addresses_needed(n, options.start_window, options.address_budget)
    addresses = source_addresses(count) if spread_addresses else [None]
    plan = []
    for i in range(n):
        routine = options.turns - 1 if i in escalating else options.turns
        if routine <= len(ROUTINE):
            messages = rng.sample(ROUTINE, routine)
        else:
            messages = rng.choices(ROUTINE, k=routine)
        if i in escalating:
            messages.append(rng.choice(ESCALATING))  # last: no reply comes after a handoff
        plan.append(
            PlannedConversation(
                index=i,
                customer_id=rng.choice(customers),
                source_address=addresses[i % len(addresses)],
                start_at=options.start_window * i / n,
                messages=tuple(messages),
                thinks=tuple(rng.uniform(low, high) for _ in range(options.turns - 1)),
                escalating=i in escalating,
            )
        )
    return plan
