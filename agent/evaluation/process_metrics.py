"""Memory and CPU of a process and its workers from /proc (Linux), and this process's
event-loop lag.

The load bench samples the server it talks to with these and measures its own cost, so a
figure can be told apart from a client that could not keep up.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> str | None:
    """The process's command line, to show which process was measured."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _status_kib(pid: int, field: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # "VmRSS:   123456 kB"
    return None


def rss_mb(pid: int) -> float | None:
    """Resident memory now (VmRSS), None when the process is gone."""
    kib = _status_kib(pid, "VmRSS")
    return None if kib is None else round(kib / 1024, 1)


def peak_rss_mb(pid: int) -> float | None:
    """The highest resident memory the process has had (VmHWM)."""
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else round(kib / 1024, 1)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_busy_seconds() -> float | None:
    """CPU time all cores have spent busy (not idle or waiting on I/O) since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in first.split()[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server and its turn workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_figures(pid: int) -> tuple[float, float] | None:
    """(resident MB, CPU seconds so far) of ``pid`` and its descendants together; None
    when ``pid`` is gone. A descendant that exited takes its CPU time with it."""
    rss, cpu = rss_mb(pid), cpu_seconds(pid)
    if rss is None or cpu is None:
        return None
    for child in process_tree(pid)[1:]:
        child_rss, child_cpu = rss_mb(child), cpu_seconds(child)
        if child_rss is not None and child_cpu is not None:
            rss, cpu = rss + child_rss, cpu + child_cpu
    return round(rss, 1), cpu


async def sample_process(
    pid: int,
    clock: Callable[[], float],
    samples: list[tuple[float, float, float]],
    every: float = 1.0,
) -> None:
    """Append (seconds, resident MB, CPU seconds so far) of the process and its descendants
    every ``every`` s until cancelled."""
    while True:
        figures = tree_figures(pid)
        if figures is not None:
            samples.append((round(clock(), 2), *figures))
        await asyncio.sleep(every)


async def sample_loop_lag(lags: list[float], every: float = 0.1) -> None:
    """Append how late (seconds) each ``every``-second sleep of this loop woke up."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        lags.append(max(0.0, loop.time() - due))
