"""The server a load run talks to: started here as a subprocess, or an existing one by URL.

Started here, it is ``loan-agent serve`` on the embedded default (SQLite file, offline
engine, embedded Chroma) with a fresh data directory and demo mode on, or the echo floor
(``web.echo_server``); both on a free loopback port, both answering
``/healthz`` and ``/api/demo/customer-token``, which is where the run's tokens come from.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Kind = Literal["product", "floor"]
LABELS: dict[Kind, str] = {
    "product": "loan-agent serve (embedded default: SQLite, offline engine)",
    "floor": "echo floor (bare FastAPI echo of the protocol)",
}
START_TIMEOUT_SECONDS = 300.0  # the server and its turn workers load the engines
MAKE_RUN_TURN_WORKERS = 2  # LOAN_AGENT_TURN_WORKERS in the Makefile's `run`
STOP_TIMEOUT_SECONDS = 20.0
# Loopback only, whatever the environment says about proxies.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LoadBenchError(Exception):
    """A run that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    base_url: str  # http://host:port
    label: str
    pid: int | None  # the server process, when its memory can be read

    @property
    def ws_url(self) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}/ws/chat"

    @property
    def on_loopback(self) -> bool:
        host = urlsplit(self.base_url).hostname or ""
        return host == "localhost" or host.startswith("127.")


def target_from_url(url: str, pid: int | None) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise LoadBenchError(f"--url must look like http://127.0.0.1:8000, not {url!r}")
    scheme = "https" if parts.scheme in ("https", "wss") else "http"
    return Target(f"{scheme}://{parts.netloc}", url, pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(kind: Kind, port: int) -> list[str]:
    head = [sys.executable, "-m", "agent.cli", "serve"]
    if kind == "floor":
        head = [sys.executable, "-m", "web.echo_server"]
    return [*head, "--host", "127.0.0.1", "--port", str(port)]


def server_environment(
    base: dict[str, str], data_dir: Path, turn_workers: int = MAKE_RUN_TURN_WORKERS
) -> dict[str, str]:
    """``base`` without any LOAN_AGENT_ setting (the embedded default, with ``make run``'s
    turn workers), in demo mode, on a fresh data directory (its database, Chroma and
    secret key)."""
    env = {k: v for k, v in base.items() if not k.startswith("LOAN_AGENT_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "LOAN_AGENT_DEMO": "1",
            "LOAN_AGENT_DATA_DIR": str(data_dir),
            "LOAN_AGENT_LOG_LEVEL": "warning",
            "LOAN_AGENT_TURN_WORKERS": str(turn_workers),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
        }
    )
    return env


@contextmanager
def started_server(kind: Kind, turn_workers: int = MAKE_RUN_TURN_WORKERS) -> Iterator[Target]:
    """Start a server of ``kind`` and stop it afterwards; LoadBenchError if it won't start."""
    with tempfile.TemporaryDirectory(prefix=f"loan-agent-load-{kind}-") as scratch:
        data_dir = Path(scratch)
        log_path = data_dir / "server.log"
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                server_command(kind, port),
                cwd=data_dir,  # no .env of the working tree applies
                env=server_environment(dict(os.environ), data_dir, turn_workers),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            target = Target(f"http://127.0.0.1:{port}", LABELS[kind], process.pid)
            wait_ready(target.base_url, process, log_path)
            yield target
        finally:
            stop(process)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LoadBenchError(
                f"the server exited with code {process.returncode} while starting:\n"
                + _tail(log_path)
            )
        try:
            with _http.open(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise LoadBenchError(
        f"the server did not answer {base_url}/healthz within {START_TIMEOUT_SECONDS:.0f} s:\n"
        + _tail(log_path)
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no server output)"


def fetch_tokens(base_url: str, customer_ids: Iterable[str]) -> dict[str, str]:
    """A customer token for each id, from the server's demo endpoint (demo mode only)."""
    endpoint = f"{base_url}/api/demo/customer-token"
    tokens = {}
    for customer_id in sorted(set(customer_ids)):
        request = urllib.request.Request(
            endpoint,
            data=json.dumps({"customer_id": customer_id}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _http.open(request, timeout=30) as response:
                tokens[customer_id] = json.load(response)["token"]
        except urllib.error.HTTPError as exc:
            raise LoadBenchError(_token_refusal(endpoint, customer_id, exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LoadBenchError(f"cannot reach {base_url}: {reason}") from None
        except (ValueError, KeyError):
            raise LoadBenchError(f"{endpoint} did not answer with a token") from None
    return tokens


def _token_refusal(endpoint: str, customer_id: str, exc: urllib.error.HTTPError) -> str:
    try:
        code = json.loads(exc.read() or b"{}").get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if exc.code == 404 and code == "unknown_customer":
        return (
            f"{endpoint}: the server has no customer {customer_id}; the load bench talks as "
            "the demo book's customers (LOAN_AGENT_DEMO=1 seeds them on an empty database)"
        )
    if exc.code == 404:
        return (
            f"{endpoint} answered 404: that server is not in demo mode (or is not loan-agent). "
            "The load bench signs its customers in through the demo endpoint, so start the "
            "server with LOAN_AGENT_DEMO=1, or leave out --url to let the bench start one"
        )
    return f"{endpoint} answered HTTP {exc.code} for customer {customer_id}"
