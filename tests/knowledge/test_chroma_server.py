"""Chroma in server mode: a real ``chroma run`` on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.knowledge.ingest import ingest_from_settings
from agent.knowledge.retriever import PolicyRetriever
from agent.knowledge.store import KnowledgeStoreError, client_from_settings
from agent.settings import Settings

pytestmark = pytest.mark.slow


def _chroma_cli() -> str | None:
    beside_python = Path(sys.executable).parent / "chroma"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("chroma")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_settings(tmp_path: Path, port: int) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        knowledge_dir=tmp_path / "knowledge",
        chroma_mode="server",
        chroma_host="127.0.0.1",
        chroma_port=port,
        environment="test",
    )


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` CLI (shipped with the chromadb package) is not installed")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [cli, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client_from_settings(_server_settings(tmp_path, port)).heartbeat()
                break
            except Exception as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    output = (tmp_path / "chroma.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"chroma server did not start ({exc}):\n{output}")
                time.sleep(0.25)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def test_ingest_and_retrieve_through_a_chroma_server(
    tmp_path: Path, chroma_server: int, write_doc, embedder
) -> None:
    write_doc("fees", "## Late fee\nA late fee of $15.00 applies after the grace period.")
    write_doc("hours", "## Phone\nCall us on weekdays during business hours.")
    settings = _server_settings(tmp_path, chroma_server)

    first = ingest_from_settings(settings, embedder=embedder)
    assert len(first.added) == 2
    again = ingest_from_settings(settings, embedder=embedder)
    assert not again.added and len(again.kept) == 2

    retriever = PolicyRetriever.from_settings(settings, embedder=embedder)
    result = retriever.search("how much is the late fee")
    assert result.found
    assert result.hits[0].doc_id == "fees"
    assert "$15.00" in result.hits[0].text
    assert not (tmp_path / "var" / "chroma").exists()  # nothing went to the embedded path


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, hash_embedder) -> None:
    settings = _server_settings(tmp_path, _free_port())
    with pytest.raises(KnowledgeStoreError, match="not reachable"):
        PolicyRetriever.from_settings(settings, embedder=hash_embedder)
