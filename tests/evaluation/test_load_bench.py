"""`loan-agent bench --conversations N`: real websocket conversations against a real server
the bench starts, the echo floor, and servers that refuse or misbehave."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from websockets.asyncio.server import ServerConnection, serve

from agent import cli
from agent.evaluation.load_client import run_conversations
from agent.evaluation.load_plan import (
    ESCALATING,
    RATE_WINDOW_SECONDS,
    SERVER_NEW_CONVERSATIONS_PER_MINUTE,
    LoadOptions,
    PlannedConversation,
    plan_conversations,
)
from agent.evaluation.load_report import rss_growth_percent
from agent.evaluation.load_server import free_port

SMALL_RUN = ["--conversations", "6", "--turns", "2", "--think", "0.1", "0.3", "--window", "2"]


def _bench(args: list[str], tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "load.json"
    result = CliRunner().invoke(cli.main, ["bench", *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text())


def _assert_every_turn_answered(run: dict[str, Any], conversations: int, turns: int) -> None:
    assert run["conversations_opened"] == conversations
    assert run["turns_ok"] == run["turns_planned"] == conversations * turns
    assert run["failed_turns"] == 0 and run["errors_by_kind"] == {}
    assert all(outcome == "ok" and latency > 0 for *_, latency, outcome in run["turn_log"])
    assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert run["turns_per_s_overall"] > 0
    assert run["client"]["cpu_seconds"] >= 0 and run["client"]["loop_lag_max_ms"] is not None


@pytest.mark.slow
def test_a_small_run_against_a_server_the_bench_starts_and_the_floor(tmp_path: Path) -> None:
    result, report = _bench([*SMALL_RUN, "--compare-floor"], tmp_path)

    server, floor = report["target"], report["floor"]
    assert server["target"].startswith("loan-agent serve")
    _assert_every_turn_answered(server, 6, 2)
    _assert_every_turn_answered(floor, 6, 2)
    assert server["escalating"] == floor["escalating"] == 1  # 10 % of 6, rounded
    # The server process was sampled while the run lasted, with the turn workers `make
    # run` starts (their memory and CPU are counted with the server's).
    assert server["server"]["peak_rss_mb"] > 100 and server["server"]["rss_mb"]
    assert server["server"]["cpu_cores_avg"] > 0
    assert server["server"]["processes"] >= 3  # the server and its two turn workers
    assert server["server"]["cpu_cores_avg"] > server["server_process_cpu_cores_avg"] > 0
    assert set(report["ratio"]) == {"p50_ms", "p95_ms", "p99_ms", "turns_per_s_steady"}
    assert report["ratio"]["p50_ms"] > 1  # the agent costs more than an echo
    assert "p95 ms" in result.output and "ratio" in result.output


def test_the_floor_alone(tmp_path: Path) -> None:
    result, report = _bench([*SMALL_RUN, "--floor"], tmp_path)
    assert report["target"].startswith("echo floor")
    _assert_every_turn_answered(report, 6, 2)
    assert "floor" in result.output


def test_a_server_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli.main, ["bench", *SMALL_RUN, "--url", url])
    assert result.exit_code == 1
    assert f"Error: cannot reach {url}" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.fixture
def not_in_demo_mode() -> Iterator[str]:
    """An HTTP server that answers 404 to everything, as a server without demo mode does."""

    class NotFound(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b'{"error": {"code": "not_found", "message": "not found"}}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_without_demo_mode_is_named_as_such(not_in_demo_mode: str) -> None:
    result = CliRunner().invoke(cli.main, ["bench", *SMALL_RUN, "--url", not_in_demo_mode])
    assert result.exit_code == 1
    assert "answered 404" in result.output and "LOAN_AGENT_DEMO=1" in result.output
    assert "Traceback" not in result.output


def test_the_options_need_load_mode() -> None:
    result = CliRunner().invoke(cli.main, ["bench", "--floor"])
    assert result.exit_code == 2 and "need --conversations" in result.output


# --- the plan -------------------------------------------------------------------------------


@pytest.mark.parametrize("conversations", [6, 300, 1000, 3000])
def test_no_source_address_goes_over_the_servers_new_conversation_limit(
    conversations: int,
) -> None:
    plan = plan_conversations(LoadOptions(conversations=conversations))
    starts: dict[str | None, list[float]] = defaultdict(list)
    for planned in plan:
        starts[planned.source_address].append(planned.start_at)
    busiest = max(
        sum(t <= s < t + RATE_WINDOW_SECONDS for s in times)
        for times in starts.values()
        for t in times
    )
    # With headroom: starts that bunch up by a few seconds still pass.
    assert busiest <= SERVER_NEW_CONVERSATIONS_PER_MINUTE - 5
    assert all(address and address.startswith("127.") for address in starts)
    assert len(starts) <= conversations


def test_the_plan_is_seeded_and_escalations_come_last() -> None:
    options = LoadOptions(conversations=200, turns=4, think=(10, 30))
    plan = plan_conversations(options)
    assert plan == plan_conversations(options)
    assert plan != plan_conversations(LoadOptions(conversations=200, seed=13))
    escalating = [p for p in plan if p.escalating]
    assert len(escalating) == 20
    assert all(p.messages[-1] in ESCALATING for p in escalating)
    assert not any(m in ESCALATING for p in plan for m in p.messages[:-1])
    assert all(len(p.messages) == 4 and len(p.thinks) == 3 for p in plan)
    assert all(10 <= t <= 30 for p in plan for t in p.thinks)
    assert [p.start_at for p in plan] == sorted(p.start_at for p in plan)
    assert plan[-1].start_at < 60


# --- outcomes --------------------------------------------------------------------------------


def _planned(index: int, messages: int) -> PlannedConversation:
    return PlannedConversation(
        index=index,
        customer_id="C100",
        source_address="127.0.0.2",
        start_at=0.0,
        messages=tuple(f"message {i}" for i in range(messages)),
        thinks=(0.0,) * (messages - 1),
        escalating=False,
    )


async def _misbehaving(ws: ServerConnection) -> None:
    """Conversation 0: a reply before the ack, then an error. Conversation 1: no answer
    (timeout). Conversation 2: dropped mid-turn. Conversation 3: refused at hello."""
    hello = json.loads(await ws.recv())
    who = hello["token"]
    if who == "refuse":
        await ws.send(json.dumps({"type": "error", "code": "rate_limited", "message": "slow"}))
        await ws.close(1008)
        return
    await ws.send(json.dumps({"type": "welcome", "state": "ai"}))
    async for raw in ws:
        frame = json.loads(raw)
        if who == "drop":
            await ws.close(1011)
            return
        if who == "silent":
            continue
        if frame["text"] == "message 0":
            for seq, role in ((1, "customer"), (2, "assistant")):
                message = {"seq": seq, "role": role, "client_id": frame["id"]}
                await ws.send(json.dumps({"type": "message", "message": message}))
            await ws.send(json.dumps({"type": "ack", "id": frame["id"], "seq": 1}))
        else:
            error = {"type": "error", "code": "internal_error", "id": frame["id"]}
            await ws.send(json.dumps(error))


def test_turn_outcomes_from_a_misbehaving_server() -> None:
    async def run() -> list[list[str]]:
        async with serve(_misbehaving, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            plan = [_planned(i, 3) for i in range(4)]
            tokens = {"C100": ""}
            results = []
            for planned, token in zip(plan, ["ok", "silent", "drop", "refuse"], strict=True):
                tokens["C100"] = token
                done, _ = await run_conversations(
                    [planned], f"ws://127.0.0.1:{port}", tokens, turn_timeout=0.5
                )
                results.append([t.outcome for t in done[0].turns])
            return results

    ok, silent, dropped, refused = asyncio.run(run())
    assert ok == ["ok", "error:internal_error", "error:internal_error"]
    assert silent == ["timeout", "abandoned", "abandoned"]
    assert dropped == ["dropped", "abandoned", "abandoned"]
    assert refused == ["refused:hello:rate_limited"] * 3


def test_memory_growth_is_read_inside_the_steady_window_only() -> None:
    rss = [(0.0, 100.0), (10.0, 500.0), (20.0, 520.0), (30.0, 530.0), (40.0, 900.0)]
    assert rss_growth_percent(rss, 10, 30) == 6.0  # 500 → 530; warm-up and tail left out
    assert rss_growth_percent(rss, 10, 12) is None  # one sample is no growth figure
