"""The retrieval tests run against embedded chromadb (default) or a Chroma server.

PARTNER_ATLAS_TEST_CHROMA=server starts `chroma run` once for the session (127.0.0.1, a free port,
a temp folder) and gives every test a database of its own on it, through CHROMA_HOST / CHROMA_PORT /
CHROMA_DATABASE — the same settings a deployment uses, inherited by the indexer processes the tests
start. Tests about files on disk are marked `embedded_only` and skipped there.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = os.environ.get("PARTNER_ATLAS_TEST_CHROMA", "").strip().lower() == "server"
_CHROMA_VARIABLES = ("CHROMA_HOST", "CHROMA_PORT", "CHROMA_SSL", "CHROMA_TENANT", "CHROMA_DATABASE",
                     "CHROMA_SERVER_URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chroma_settings(port: int):  # noqa: ANN202 - chromadb.config.Settings
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, chroma_api_impl="chromadb.api.fastapi.FastAPI",
                    chroma_server_host="127.0.0.1", chroma_server_http_port=port)


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[int | None]:
    """The port of a `chroma run` started for this session, or None in embedded mode."""
    if not SERVER:
        yield None
        return
    import chromadb

    folder = Path(tempfile.mkdtemp(prefix="partner-atlas-chroma-"))
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen([str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                               env={**os.environ, "ANONYMIZED_TELEMETRY": "False"}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.AdminClient(_chroma_settings(port)).list_databases()
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start on 127.0.0.1:{port}") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def chroma_backend(request: pytest.FixtureRequest, chroma_server: int | None,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """'embedded', or 'server' with a fresh database on the session's server (set in the environment)."""
    for name in _CHROMA_VARIABLES:     # a developer's own settings must not change the tests
        monkeypatch.delenv(name, raising=False)
    if chroma_server is None:
        yield "embedded"
        return
    if request.node.get_closest_marker("embedded_only"):
        pytest.skip("about embedded chromadb's files on disk")
    import chromadb

    database = f"test-{uuid.uuid4().hex[:12]}"
    chromadb.AdminClient(_chroma_settings(chroma_server)).create_database(database)
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server))
    monkeypatch.setenv("CHROMA_DATABASE", database)
    yield "server"
