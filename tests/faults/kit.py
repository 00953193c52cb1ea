"""What the fault tests drive: a real ``loan-agent serve`` process, a websocket client that
speaks web/PROTOCOL.md, the staff HTTP API, and a TCP proxy whose link can be cut.

Every wait is bounded (generous timeouts) and ends on an outcome, never on a speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent.evaluation.load_server import free_port, server_command, server_environment, wait_ready

AGENT_PASSWORD = "faults-agent-password-1"
SUPERVISOR_PASSWORD = "faults-supervisor-password-1"
FRAME_TIMEOUT = 60.0  # seconds: a bound for anything the server should do, never a speed


# --- the server process -----------------------------------------------------------------------


@dataclass
class Server:
    """``loan-agent serve`` on the embedded default (or ``env``'s database) in demo mode,
    on a data directory that outlives the process, so it can be killed and started again."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # more options for ``serve``
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self) -> Server:
        assert self.process is None or self.process.poll() is not None
        self.port = free_port()
        env = server_environment(dict(os.environ), self.data_dir)
        env.update(
            {
                "LOAN_AGENT_STAFF_AGENT_PASSWORD": AGENT_PASSWORD,
                "LOAN_AGENT_STAFF_SUPERVISOR_PASSWORD": SUPERVISOR_PASSWORD,
                "LOAN_AGENT_LOG_LEVEL": "warning",
                **self.env,
            }
        )
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*server_command("product", self.port), *self.args],
                cwd=self.data_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1
        wait_ready(self.base_url, self.process, self.log_path)
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def customer_token(self, customer_id: str) -> str:
        answer = httpx.post(
            f"{self.base_url}/api/demo/customer-token",
            json={"customer_id": customer_id},
            timeout=FRAME_TIMEOUT,
        )
        answer.raise_for_status()
        return str(answer.json()["token"])

    def staff(self, username: str) -> Staff:
        password = SUPERVISOR_PASSWORD if username == "supervisor" else AGENT_PASSWORD
        client = httpx.Client(base_url=self.base_url, timeout=FRAME_TIMEOUT)
        answer = client.post("/api/staff/login", json={"username": username, "password": password})
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrf"]
        return Staff(client)


@dataclass
class Staff:
    client: httpx.Client

    def get(self, path: str) -> dict[str, Any]:
        answer = self.client.get(path)
        answer.raise_for_status()
        return dict(answer.json())

    def queue_ids(self) -> list[str]:
        return [item["conversation_id"] for item in self.get("/api/staff/queue")["items"]]

    def detail(self, conversation_id: str) -> dict[str, Any]:
        return self.get(f"/api/supervisor/conversations/{conversation_id}")


# --- the customer's socket --------------------------------------------------------------------


class ChatClient:
    """One widget socket: sends frames, records everything the server sends.

    ``messages`` holds the transcript as delivered (by seq); ``acks`` and ``errors`` the
    answers to client frames by id. ``delivered`` counts how often each seq arrived on this
    socket (the protocol's exactly-once rule).
    """

    def __init__(self, ws: ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.frames: list[dict[str, Any]] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.delivered: dict[int, int] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, list[dict[str, Any]]] = {}
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        resume: str | None = None,
        last_seq: int = 0,
    ) -> ChatClient:
        ws = await connect(url, open_timeout=FRAME_TIMEOUT, max_size=2**22)
        hello = {"type": "hello", "v": 1, "token": token, "resume": resume, "last_seq": last_seq}
        await ws.send(json.dumps(hello))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
            if frame["type"] == "welcome":
                return cls(ws, frame)
            if frame["type"] == "error" and frame.get("fatal", True) is not False:
                raise AssertionError(f"hello refused: {frame}")

    @property
    def conversation_id(self) -> str:
        return str(self.welcome["conversation_id"])

    @property
    def resume_token(self) -> str:
        return str(self.welcome["resume"])

    @property
    def last_seq(self) -> int:
        return max(self.messages, default=int(self.welcome.get("last_seq") or 0))

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames.append(frame)
                kind = frame.get("type")
                if kind == "message":
                    seq = int(frame["message"]["seq"])
                    self.delivered[seq] = self.delivered.get(seq, 0) + 1
                    self.messages[seq] = frame["message"]
                elif kind == "ack":
                    self.acks[frame["id"]] = frame
                elif kind == "error" and frame.get("id"):
                    self.errors.setdefault(frame["id"], []).append(frame)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def message(self, client_id: str, text: str) -> None:
        await self.send({"type": "message", "id": client_id, "text": text})

    async def confirm(self, client_id: str, proposal_id: str, answer: str = "yes") -> None:
        await self.send(
            {"type": "confirm", "id": client_id, "proposal_id": proposal_id, "answer": answer}
        )

    async def wait(self, predicate: Any, timeout: float = FRAME_TIMEOUT, what: str = "") -> Any:
        """Wait until ``predicate()`` is truthy (or the socket closed); return its value."""

        async def until() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value or self.closed.is_set():
                        return value
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what or predicate}; "
                f"last frames: {self.frames[-5:]}"
            ) from None

    async def answer(self, client_id: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The ack or the error that answers ``client_id``."""
        return dict(
            await self.wait(
                lambda: self.acks.get(client_id) or (self.errors.get(client_id) or [None])[-1],
                timeout,
                f"the answer to {client_id}",
            )
            or {"type": "closed"}
        )

    async def turn_done(self, client_id: str, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        """The answer to ``client_id`` and, once acknowledged, the messages of its turn (the
        stored customer message and whatever followed before the assistant stopped typing)."""
        answer = await self.answer(client_id, timeout)
        if answer.get("type") == "ack" and answer.get("seq"):
            seq = int(answer["seq"])
            await self.wait(lambda: seq in self.messages, timeout, f"message {seq}")
        return answer

    def replies_to(self, seq: int) -> list[dict[str, Any]]:
        """The assistant's messages between customer message ``seq`` and the next one."""
        found = []
        for s in sorted(k for k in self.messages if k > seq):
            m = self.messages[s]
            if m["role"] == "customer":
                break
            if m["role"] == "assistant":
                found.append(m)
        return found

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


async def transcript(server: Server, resume: str) -> ChatClient:
    """The whole transcript as a fresh socket replays it (``last_seq`` 0), then closed."""
    client = await ChatClient.open(server.ws_url, resume=resume, last_seq=0)
    last = int(client.welcome["last_seq"])
    await client.wait(
        lambda: max(client.messages, default=0) >= last, what=f"the replay up to {last}"
    )
    await client.close()
    return client


def assert_transcript_sound(client: ChatClient, acked: dict[str, int]) -> None:
    """Seqs 1..N each delivered once; every acknowledged client id stored exactly once, at
    the seq its ack gave; every customer message answered at most once."""
    seqs = sorted(client.messages)
    assert seqs == list(range(1, len(seqs) + 1)), f"seqs not contiguous: {seqs}"
    assert all(n == 1 for n in client.delivered.values()), client.delivered
    stored: dict[str, list[int]] = {}
    for seq, m in client.messages.items():
        if m["role"] == "customer" and m.get("client_id"):
            stored.setdefault(m["client_id"], []).append(seq)
    for client_id, seq in acked.items():
        assert stored.get(client_id) == [seq], (client_id, seq, stored.get(client_id))
    for client_id, at in stored.items():
        assert len(at) == 1, f"{client_id} stored {len(at)} times"
        assert len(client.replies_to(at[0])) <= 1, f"{client_id} answered more than once"


# --- a TCP link that can be cut -----------------------------------------------------------------


class CuttableProxy:
    """A TCP proxy on a free loopback port to ``target``. ``cut()`` drops every open
    connection and refuses new ones (the database is unreachable); ``restore()`` lets
    connections through again. Runs in its own thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._stopping = threading.Event()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                _reset(client)  # refused: as a host that is down
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peers = {client: upstream, upstream: client}
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                _reset(sock)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stopping.set()
        self.cut()
        self.listener.close()
        self._thread.join(5)


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def wait_until(predicate: Any, timeout: float = FRAME_TIMEOUT, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
