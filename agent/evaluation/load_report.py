"""A load run's figures from its per-turn results, and the table that shows them (pure)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from itertools import pairwise
from typing import Any

from agent.evaluation.load_client import OK, ConversationResult

# "Steady state": while at least this share of the most conversations ever open at once
# are open (after the ramp-up of the start window, before the tail of the last ones).
STEADY_SHARE = 0.8
EVERY_SECONDS = 10  # the table's server series, from one sample a second


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank over an ascending list (as ``loan-agent bench`` reports)."""
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def steady_window(conversations: list[ConversationResult]) -> tuple[float, float, int] | None:
    """(start, end, peak): the span in which at least STEADY_SHARE of the peak number of
    open conversations were open (first reached to last left), and that peak."""
    events = sorted(
        [(c.opened_at, 1) for c in conversations if c.opened_at is not None]
        + [
            (c.closed_at, -1)
            for c in conversations
            if c.opened_at is not None and c.closed_at is not None
        ]
    )
    if not events:
        return None
    active = peak = 0
    for _, delta in events:
        active += delta
        peak = max(peak, active)
    threshold = max(1, math.ceil(STEADY_SHARE * peak))
    start = end = None
    active = 0
    for t, delta in events:
        before, active = active, active + delta
        if active >= threshold and start is None:
            start = t
        if before >= threshold > active:
            end = t
    if start is None or end is None or end <= start:
        return None
    return start, end, peak


def summarize(conversations: list[ConversationResult], duration: float) -> dict[str, Any]:
    turns = [t for c in conversations for t in c.turns]
    ok = [t for t in turns if t.outcome == OK]
    latencies = sorted(t.latency for t in ok if t.latency is not None)
    done_at = sorted(
        t.sent_at + t.latency for t in ok if t.sent_at is not None and t.latency is not None
    )
    first_send = min((t.sent_at for t in turns if t.sent_at is not None), default=0.0)
    errors = Counter(t.outcome for t in turns if t.outcome != OK)
    summary: dict[str, Any] = {
        "conversations_opened": sum(c.opened_at is not None for c in conversations),
        "turns_planned": len(turns),
        "turns_ok": len(ok),
        "failed_turns": sum(errors.values()),
        "errors_by_kind": dict(sorted(errors.items())),
        "duration_s": round(duration, 1),
        "turns_per_s_overall": (
            round(len(done_at) / (done_at[-1] - first_send), 2)
            if done_at and done_at[-1] > first_send
            else None
        ),
        "turns_per_s_steady": None,
        "steady_window_s": None,
        "peak_open_conversations": 0,
    }
    window = steady_window(conversations)
    if window is not None:
        start, end, peak = window
        inside = sum(start <= t <= end for t in done_at)
        summary["turns_per_s_steady"] = round(inside / (end - start), 2)
        summary["steady_window_s"] = [round(start, 1), round(end, 1)]
        summary["peak_open_conversations"] = peak
    if latencies:
        summary.update(
            {
                "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
                "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
                "max_ms": round(latencies[-1] * 1000, 1),
            }
        )
    else:
        summary.update(dict.fromkeys(("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")))
    return summary


def cores_between(
    samples: list[tuple[float, float, float]], start: float, end: float
) -> float | None:
    """CPU cores a process used on average from ``start`` to ``end`` (seconds), from
    (seconds, RSS, CPU seconds so far) samples: the nearest samples inside the span."""
    inside = [(t, cpu) for t, _, cpu in samples if start <= t <= end]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    (t0, cpu0), (t1, cpu1) = inside[0], inside[-1]
    return round((cpu1 - cpu0) / (t1 - t0), 2)


def cpu_per_second(samples: list[tuple[float, float, float]]) -> list[list[float]]:
    """[seconds, cores] between consecutive samples."""
    return [
        [t1, round((c1 - c0) / (t1 - t0), 2)]
        for (t0, _, c0), (t1, _, c1) in pairwise(samples)
        if t1 > t0
    ]


def turn_log(conversations: list[ConversationResult]) -> list[list[Any]]:
    """[conversation, turn, sent at (s), latency (ms), outcome] for every planned turn."""
    return [
        [
            c.index,
            t.turn,
            None if t.sent_at is None else round(t.sent_at, 3),
            None if t.latency is None else round(t.latency * 1000, 2),
            t.outcome,
        ]
        for c in conversations
        for t in c.turns
    ]


RATIO_KEYS = ("p50_ms", "p95_ms", "p99_ms", "turns_per_s_steady")
RATIO_LABELS = ("p50 ms", "p95 ms", "p99 ms", "turns/s, steady state")


def ratios(target: dict[str, Any], floor: dict[str, Any]) -> dict[str, float | None]:
    """target / floor for the latencies and the steady throughput."""
    out: dict[str, float | None] = {}
    for key in RATIO_KEYS:
        a, b = target.get(key), floor.get(key)
        out[key] = round(a / b, 1) if a is not None and b else None
    return out


def rss_growth_percent(
    rss: list[list[float]] | list[tuple[float, float]], start: float, end: float
) -> float | None:
    """How much resident memory grew (%) from the first to the last sample inside the
    steady window: growth after warm-up, the soak figure (target: at most 5 %)."""
    inside = [mb for t, mb in rss if start <= t <= end]
    if len(inside) < 2 or inside[0] <= 0:
        return None
    return round(100 * (inside[-1] - inside[0]) / inside[0], 2)


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}×" if value >= 100 else f"{value:g}×"


def _rows(run: dict[str, Any]) -> list[tuple[str, str]]:
    server, client = run["server"], run["client"]
    return [
        ("conversations opened", f"{run['conversations_opened']}/{run['conversations']}"),
        ("turns ok", f"{run['turns_ok']}/{run['turns_planned']}"),
        ("failed turns", str(run["failed_turns"])),
        ("turns/s, steady state", _num(run["turns_per_s_steady"])),
        ("turns/s, whole run", _num(run["turns_per_s_overall"])),
        ("p50 ms", _ms(run["p50_ms"])),
        ("p95 ms", _ms(run["p95_ms"])),
        ("p99 ms", _ms(run["p99_ms"])),
        ("max ms", _ms(run["max_ms"])),
        ("server peak RSS MB", _num(server.get("peak_rss_mb"))),
        ("server RSS first→last MB", _rss_span(server.get("rss_mb"))),
        ("server RSS growth, steady state %", _num(server.get("rss_growth_steady_percent"))),
        ("server CPU, cores (avg)", _num(server.get("cpu_cores_avg"))),
        ("server CPU, cores (steady)", _num(server.get("cpu_cores_steady"))),
        ("  of which server process (avg)", _num(run.get("server_process_cpu_cores_avg"))),
        ("client CPU, cores (avg)", _num(client["cpu_cores_avg"])),
        (f"machine CPU busy, of {run['cpu_cores']} cores", _num(run["machine_cpu_cores_busy_avg"])),
        (
            "client loop lag p99 / max ms",
            f"{_ms(client['loop_lag_p99_ms'])} / {_ms(client['loop_lag_max_ms'])}",
        ),
    ]


def _rss_span(samples: list[list[float]] | None) -> str:
    if not samples:
        return "—"
    return f"{samples[0][1]:g}→{samples[-1][1]:g}"


def format_report(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """The runs side by side (with the ratio of the first to the second when there are two)."""
    first = runs[0][1]
    lines = [
        f"load bench: {first['conversations']} conversations × {first['turns_per_conversation']}"
        f" turns, think {first['think_s'][0]:g}–{first['think_s'][1]:g} s, start window "
        f"{first['start_window_s']:g} s, {first['escalating']} escalating, "
        f"{first['source_addresses']} source address(es), seed {first['seed']}",
    ]
    for name, run in runs:
        lines.append(f"{name}: {run['target']} at {run['url']}")
        if run["server"].get("note"):
            lines.append(f"  ({run['server']['note']})")
        else:
            lines.append(f"  measured: pid {run['server']['pid']}, {run['server']['command']}")
    table = [_rows(run) for _, run in runs]
    headers = [name for name, _ in runs]
    if len(runs) == 2:
        ratio = ratios(runs[0][1], runs[1][1])
        headers.append("ratio")
        names = dict(zip(RATIO_LABELS, RATIO_KEYS, strict=True))
        table.append(
            [
                (label, "" if label not in names else _ratio(ratio[names[label]]))
                for label, _ in table[0]
            ]
        )
    width = max(len(label) for label, _ in table[0])
    lines.append("")
    lines.append(" " * width + "".join(f"  {h:>14}" for h in headers))
    for i, (label, _) in enumerate(table[0]):
        lines.append(f"{label:<{width}}" + "".join(f"  {col[i][1]:>14}" for col in table))
    for name, run in runs:
        if run["errors_by_kind"]:
            kinds = ", ".join(f"{k} {v}" for k, v in run["errors_by_kind"].items())
            lines.append(f"{name} failed turns by kind: {kinds}")
        if run["server"].get("rss_mb"):
            every = EVERY_SECONDS
            rss = " ".join(f"{mb:.0f}" for _, mb in run["server"]["rss_mb"][::every])
            cores = " ".join(f"{c:.2f}" for c in _averages(run["server"]["cpu_cores"], every))
            lines.append(f"{name} RSS MB every {every} s: {rss}")
            lines.append(f"{name} CPU cores, {every}-s averages: {cores}")
    return "\n".join(lines)


def _averages(series: list[list[float]], size: int) -> list[float]:
    values = [v for _, v in series]
    return [
        sum(chunk) / len(chunk)
        for i in range(0, len(values), size)
        if (chunk := values[i : i + size])
    ]
