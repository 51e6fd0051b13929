"""The retrieval tests run against embedded chromadb (default) or a Chroma server.

PARTNER_ATLAS_TEST_CHROMA=server starts `chroma run` once for the session (127.0.0.1, a free port,
a temp folder) and gives every test a database of its own on it, through CHROMA_HOST / CHROMA_PORT /
CHROMA_DATABASE — the same settings a deployment uses, inherited by the indexer processes the tests
start. Tests about files on disk are marked `embedded_only` and skipped there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import chroma_settings, run_chroma

SERVER = os.environ.get("PARTNER_ATLAS_TEST_CHROMA", "").strip().lower() == "server"
_CHROMA_VARIABLES = ("CHROMA_HOST", "CHROMA_PORT", "CHROMA_SSL", "CHROMA_TENANT", "CHROMA_DATABASE",
                     "CHROMA_SERVER_URL")


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[int | None]:
    """The port of a `chroma run` started for this session, or None in embedded mode."""
    if not SERVER:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="partner-atlas-chroma-"))
    try:
        with run_chroma(folder) as port:
            yield port
    finally:
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
    chromadb.AdminClient(chroma_settings(chroma_server)).create_database(database)
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server))
    monkeypatch.setenv("CHROMA_DATABASE", database)
    yield "server"
