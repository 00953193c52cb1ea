"""``loan-agent bench --conversations N``: many real websocket conversations at once.

Plans the traffic (``load_plan``), starts the server as a subprocess unless a URL is
given (``load_server``), plays every conversation from one asyncio loop in this process
(``load_client``) while sampling the server's memory and CPU and this process's own cost
(``process_metrics``), and reports (``load_report``). With the floor, the same plan runs
against a bare echo of the protocol.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from typing import Any

from agent.evaluation import process_metrics as pm
from agent.evaluation.load_client import Clock, run_conversations
from agent.evaluation.load_plan import (
    SERVER_NEW_CONVERSATIONS_PER_MINUTE,
    LoadOptions,
    PlannedConversation,
    plan_conversations,
    starts_per_address_per_minute,
)
from agent.evaluation.load_report import (
    cores_between,
    cpu_per_second,
    format_report,
    percentile,
    ratios,
    rss_growth_percent,
    summarize,
    turn_log,
)
from agent.evaluation.load_server import (
    MAKE_RUN_TURN_WORKERS,
    Kind,
    LoadBenchError,
    Target,
    fetch_tokens,
    started_server,
    target_from_url,
)

Echo = Callable[[str], None]


def run_load_bench(
    options: LoadOptions,
    url: str | None = None,
    server_pid: int | None = None,
    floor: bool = False,
    compare_floor: bool = False,
    echo: Echo = print,
    turn_workers: int = MAKE_RUN_TURN_WORKERS,
) -> dict[str, Any]:
    """Run the load bench and print its table; the result is what ``--json`` writes: one
    run's figures, or with ``compare_floor`` ``{"target", "floor", "ratio"}``."""
    if floor and url:
        raise LoadBenchError("--floor starts its own echo server: leave out --url")
    first: Kind = "floor" if floor else "product"
    _allow_open_files(2 * options.conversations + 256)  # before the server inherits it
    result = _one_run(options, first, url, server_pid, echo, turn_workers)
    runs = [("floor" if floor else "server", result)]
    if compare_floor and not floor:
        runs.append(("floor", _one_run(options, "floor", None, None, echo, 0)))
    echo(format_report(runs))
    if len(runs) == 1:
        return result
    return {"target": runs[0][1], "floor": runs[1][1], "ratio": ratios(runs[0][1], runs[1][1])}


def _one_run(
    options: LoadOptions,
    kind: Kind,
    url: str | None,
    server_pid: int | None,
    echo: Echo,
    turn_workers: int,
) -> dict[str, Any]:
    server: AbstractContextManager[Target] = (
        nullcontext(target_from_url(url, server_pid)) if url else started_server(kind, turn_workers)
    )
    with server as target:
        echo(f"running {options.conversations} conversations against {target.label} …")
        plan = plan_conversations(options, spread_addresses=target.on_loopback)
        per_address = _per_address(plan, options)
        if per_address > SERVER_NEW_CONVERSATIONS_PER_MINUTE:
            echo(
                f"warning: {target.base_url} is not on loopback, so every conversation comes "
                f"from one address ({per_address} starts a minute, the server allows "
                f"{SERVER_NEW_CONVERSATIONS_PER_MINUTE}): expect refused:hello:rate_limited"
            )
        tokens = fetch_tokens(target.base_url, {p.customer_id for p in plan})
        result = asyncio.run(_measure(plan, target, tokens, options))
    result.update(
        {
            "source_addresses": len({p.source_address for p in plan}),
            "per_address_starts_per_minute": per_address,
        }
    )
    if not result["conversations_opened"]:
        kinds = ", ".join(f"{k} ×{v}" for k, v in result["errors_by_kind"].items())
        raise LoadBenchError(f"no conversation could open on {target.ws_url}: {kinds}")
    return result


def _per_address(plan: list[PlannedConversation], options: LoadOptions) -> int:
    addresses = len({p.source_address for p in plan})
    return starts_per_address_per_minute(len(plan), addresses, options.start_window)


async def _measure(
    plan: list[PlannedConversation], target: Target, tokens: dict[str, str], options: LoadOptions
) -> dict[str, Any]:
    samples: list[tuple[float, float, float]] = []
    lags: list[float] = []

    async def samplers(clock: Clock) -> None:
        tasks = [pm.sample_loop_lag(lags)]
        if target.pid is not None:
            tasks.append(pm.sample_process(target.pid, clock, samples))
        await asyncio.gather(*tasks)

    client_cpu = _own_cpu_seconds()
    machine_busy = pm.machine_busy_seconds()
    own_cpu = pm.cpu_seconds(target.pid) if target.pid is not None else None
    conversations, duration = await run_conversations(
        plan, target.ws_url, tokens, options.turn_timeout, samplers
    )
    own_cpu_after = pm.cpu_seconds(target.pid) if target.pid is not None else None
    client_cpu = _own_cpu_seconds() - client_cpu
    machine_after = pm.machine_busy_seconds()
    summary = summarize(conversations, duration)
    result: dict[str, Any] = {
        "target": target.label,
        "url": target.base_url,
        **_options_fields(options),
        "escalating": sum(p.escalating for p in plan),
        **summary,
        "server": _server_figures(target.pid, samples, summary["steady_window_s"]),
        # The server process alone (sockets, order, announcements), without its workers.
        "server_process_cpu_cores_avg": (
            round((own_cpu_after - own_cpu) / duration, 3)
            if own_cpu is not None and own_cpu_after is not None and duration
            else None
        ),
        "client": {
            "cpu_seconds": round(client_cpu, 2),
            "cpu_cores_avg": round(client_cpu / duration, 3) if duration else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "loop_lag_p99_ms": round(percentile(sorted(lags), 0.99) * 1000, 1) if lags else None,
            "loop_lag_max_ms": round(max(lags) * 1000, 1) if lags else None,
        },
        # Every process on the machine (server, client and anything else running).
        "machine_cpu_cores_busy_avg": (
            round((machine_after - machine_busy) / duration, 2)
            if machine_busy is not None and machine_after is not None and duration
            else None
        ),
        "cpu_cores": os.cpu_count(),
        "turn_log": turn_log(conversations),
    }
    return result


def _server_figures(
    pid: int | None, samples: list[tuple[float, float, float]], steady: list[float] | None
) -> dict[str, Any]:
    if pid is None:
        return {"note": "server memory not measured: give --server-pid with --url"}
    return {
        "pid": pid,
        "command": pm.command_line(pid),
        "peak_rss_mb": max((rss for _, rss, _ in samples), default=None),
        "lifetime_peak_rss_mb": pm.peak_rss_mb(pid),  # the server process alone
        "processes": len(pm.process_tree(pid)),
        "rss_mb": [[t, rss] for t, rss, _ in samples],
        "cpu_cores": cpu_per_second(samples),
        "cpu_cores_avg": cores_between(samples, samples[0][0], samples[-1][0]) if samples else None,
        "cpu_cores_steady": cores_between(samples, *steady) if samples and steady else None,
        "rss_growth_steady_percent": (
            rss_growth_percent([(t, rss) for t, rss, _ in samples], *steady) if steady else None
        ),
    }


def _options_fields(options: LoadOptions) -> dict[str, Any]:
    fields = asdict(options)
    return {
        "conversations": fields["conversations"],
        "turns_per_conversation": fields["turns"],
        "think_s": list(fields["think"]),
        "start_window_s": fields["start_window"],
        "escalating_share": fields["escalating_share"],
        "turn_timeout_s": fields["turn_timeout"],
        "seed": fields["seed"],
    }


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _allow_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise_to = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))
