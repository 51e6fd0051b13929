"""A damaged index never takes the bot down: /healthz says degraded (503, with the reason) and users are told the
knowledge is temporarily unavailable — through the real HTTP app, a real index and a real engine.

Cases: damaged before `serve` loads it (truncated or garbled chroma.sqlite3, a truncated HNSW segment
header, a garbled CURRENT pointer, a live generation folder that is gone, a garbled or missing
records snapshot) and damaged after it was loaded (the query fails at runtime).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

import bot
from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import PROJECT_DIR, Settings
from dialogs import render
from retrieval.generations import POINTER
from retrieval.indexer import SNAPSHOT, build_index
from retrieval.loading import load_engine
from tests.dialogs.fakes import personal_message
from tests.factories import SELLER, make_knowledge
from tests.retrieval.conftest import SERVER
from tests.services import run_chroma
from tests.support.documents import FAQ, GUIDE, bulk_documents
from tests.support.network import free_port, http_post, wait_for_health

DOC_QUESTION = "How long does co-sell validation take?"
MAP_QUESTION = "Who can do AKS for a retail customer in Germany?"
UNAVAILABLE = "temporarily unavailable"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder with ~1,000 chunks (so chromadb persists an HNSW segment) and its embedded index, built once."""
    if SERVER:
        pytest.skip("about embedded chromadb's files on disk")
    root = tmp_path_factory.mktemp("faults")
    docs = {"programs/co-sell-faq.yml": FAQ, "programs/kubernetes.md": GUIDE, **bulk_documents(50, 20)}
    folder = make_knowledge(root / "kb", documents=docs)
    build_index(folder, root / "index", embedder="hashing", progress=False)
    return folder, root / "index"


@pytest.fixture
def index(built: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(built[1], copy)
    return copy


def live(index: Path) -> Path:
    return index / (index / POINTER).read_text().strip()


def truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 3)


def garble(path: Path) -> None:
    path.write_bytes(b"\x00not what was written\xff" * 64)


def hnsw_header(index: Path) -> Path:
    [header] = live(index).glob("chroma/*/header.bin")
    return header


BEFORE_LOAD: dict[str, Callable[[Path], None]] = {
    "chroma.sqlite3 truncated": lambda i: truncate(live(i) / "chroma" / "chroma.sqlite3"),
    "chroma.sqlite3 garbled": lambda i: garble(live(i) / "chroma" / "chroma.sqlite3"),
    "CURRENT pointer garbled": lambda i: garble(i / POINTER),
    "live generation folder deleted": lambda i: shutil.rmtree(live(i)),
}


class Running:
    def __init__(self, client: TestClient, slot: EngineSlot) -> None:
        self.client, self.slot = client, slot

    async def health(self) -> tuple[int, dict[str, Any]]:
        response = await self.client.get("/healthz")
        return response.status, await response.json()

    async def ask(self, text: str) -> str:
        response = await self.client.post("/api/messages", json=personal_message(
            text, aad_object_id=SELLER, serviceUrl="http://127.0.0.1:9/unused"))
        assert response.status == 200
        replies = [a for a in (await response.json())["activities"] if a.get("type") == "message"]
        assert replies
        return " ".join(str(a.get("text", "")) + " " + str(a.get("attachments", "")) for a in replies)


@pytest.fixture
async def serve() -> Iterator[Callable[..., Any]]:
    clients: list[TestClient] = []
    slots: list[EngineSlot] = []

    async def start(index: Path, folder: Path) -> Running:
        slot = EngineSlot()
        settings = Settings(_env_file=None, app_id="", app_password="", allowed_tenants="",
                            data_dir=Path(tempfile.mkdtemp(prefix="partner-atlas-test-")))
        slot.load_in_background(lambda: load_engine(folder, index, embedder="hashing")).join(60)
        slots.append(slot)
        client = TestClient(TestServer(create_app(settings, slot)))
        await client.start_server()
        clients.append(client)
        return Running(client, slot)

    yield start
    for client in clients:
        await client.close()
    for slot in slots:
        # the engine holds a chromadb client on this test's (damaged) index: release it with the test, not
        # at the end of the process, so no later test shares a process with open handles to damaged files
        engine = slot.current()
        if engine is not None and hasattr(engine, "close"):
            engine.close()


async def test_a_healthy_index_answers_documents_and_is_ok(serve: Callable[..., Any], built: tuple[Path, Path],
                                                           index: Path) -> None:
    running = await serve(index, built[0])
    status, body = await running.health()
    assert status == 200 and body["status"] == "ok" and body["generation"] == "gen-1"
    assert "five business days" in await running.ask(DOC_QUESTION)


@pytest.mark.parametrize("case", list(BEFORE_LOAD))
async def test_an_index_damaged_before_loading_degrades_and_users_are_told(
        serve: Callable[..., Any], built: tuple[Path, Path], index: Path, case: str) -> None:
    BEFORE_LOAD[case](index)
    running = await serve(index, built[0])
    status, body = await running.health()
    assert status == 503 and body["status"] == "degraded" and body["reason"].startswith("document index unreadable")
    reply = await running.ask(DOC_QUESTION)
    assert UNAVAILABLE in reply and render.messages()["apology"] not in reply
    assert "Alpha Cloud" in await running.ask(MAP_QUESTION)  # the records do not need the index
    print(f"\n{case}: /healthz {status} {body['reason']!r} | user: {reply[:90]!r}")


async def test_a_truncated_hnsw_segment_fails_at_query_time_and_degrades(
        serve: Callable[..., Any], built: tuple[Path, Path], index: Path) -> None:
    truncate(hnsw_header(index))
    running = await serve(index, built[0])
    status, _ = await running.health()
    assert status == 200                                   # chromadb opens it: the damage shows on the first query
    reply = await running.ask(DOC_QUESTION)
    assert UNAVAILABLE in reply and render.messages()["apology"] not in reply
    status, body = await running.health()
    assert status == 503 and body["status"] == "degraded" and "document index unreadable" in body["reason"]
    assert "Alpha Cloud" in await running.ask(MAP_QUESTION)  # the records are in memory: partner questions work
    print(f"\nHNSW header truncated: /healthz {status} {body['reason']!r} | user: {reply[:90]!r}")


async def test_an_index_damaged_after_loading_fails_at_runtime_and_degrades(
        serve: Callable[..., Any], built: tuple[Path, Path], index: Path) -> None:
    running = await serve(index, built[0])
    assert (await running.health())[0] == 200
    truncate(live(index) / "chroma" / "chroma.sqlite3")
    reply = await running.ask(DOC_QUESTION)
    assert UNAVAILABLE in reply and render.messages()["apology"] not in reply
    status, body = await running.health()
    assert status == 503 and "document index unreadable" in body["reason"]
    print(f"\nchroma.sqlite3 truncated while serving: /healthz {status} {body['reason']!r} | user: {reply[:90]!r}")


@pytest.mark.parametrize("damage", ["garbled", "missing"])
async def test_a_bad_record_snapshot_falls_back_to_reading_the_folder(
        serve: Callable[..., Any], built: tuple[Path, Path], index: Path, damage: str) -> None:
    snapshot = live(index) / SNAPSHOT
    if damage == "garbled":
        garble(snapshot)
    else:
        snapshot.unlink()
    running = await serve(index, built[0])
    status, body = await running.health()
    assert status == 200 and body["partners"] == 5         # the records came from the folder instead
    assert "Alpha Cloud" in await running.ask(MAP_QUESTION)
    assert "five business days" in await running.ask(DOC_QUESTION)


def _read_only_runner() -> Callable[[Path, list[str]], list[str]] | None:
    """How to run a command that sees `folder` read-only: a read-only bind mount in a private mount namespace
    (root: permissions alone do not stop it), or the permissions themselves for anyone else."""
    import subprocess

    if os.geteuid() != 0:
        return lambda folder, argv: argv
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    return lambda folder, argv: ["unshare", "-m", "sh", "-c", 'mount -o bind,ro "$0" "$0" && exec "$@"',
                                 str(folder), *argv]


@pytest.mark.slow
def test_a_read_only_index_folder_refuses_indexing_in_one_line_and_still_serves(built: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    import subprocess
    import sys

    wrap = _read_only_runner()
    if wrap is None:
        pytest.skip("cannot make a read-only folder here (root without mount namespaces)")
    shutil.copytree(built[0], tmp_path / "kb")
    shutil.copytree(built[1], tmp_path / "index")
    faq = tmp_path / "kb" / "programs" / "co-sell-faq.yml"
    faq.write_text(faq.read_text().replace("five business days", "four business days"))    # something to write
    index = tmp_path / "index"
    pointer = (index / POINTER).read_text()
    if os.geteuid() != 0:
        for path in [index, *index.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)

    def argv(*args: str) -> list[str]:
        return wrap(index, [sys.executable, "bot.py", *args, "--knowledge", str(tmp_path / "kb"), "--index",
                            str(index), "--embedder", "hashing"])

    env = {**os.environ, "DATA_DIR": str(tmp_path / "var"), "INDEX_RELOAD_SECONDS": "0"}
    port = free_port()
    try:
        indexed = subprocess.run(argv("index", "--no-progress"), cwd=PROJECT_DIR, capture_output=True, text=True,
                                 timeout=120, check=False, env=env)
        server = subprocess.Popen(argv("serve", "--port", str(port)), cwd=PROJECT_DIR, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            health = wait_for_health(port, lambda b: b.get("status") != "loading", timeout=60)
            status, reply = http_post(port, json.dumps(personal_message(DOC_QUESTION, aad_object_id=SELLER)).encode())
            _, partners = http_post(port, json.dumps(personal_message(MAP_QUESTION, aad_object_id=SELLER)).encode())
            health_again = wait_for_health(port, lambda b: True)
        finally:
            server.terminate()
            log_lines = server.communicate(timeout=20)[0]
    finally:
        for path in [index, *index.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    last = indexed.stderr.strip().splitlines()[-1] if indexed.stderr.strip() else ""
    text = reply["activities"][0].get("text", "")
    print(f"\nread-only index folder: index -> rc {indexed.returncode}: {last!r}"
          f"\n  serve -> /healthz {health} | user: {text!r}")
    assert indexed.returncode == 4, indexed.stderr[-1500:]
    assert last.startswith(f"error: cannot write to the index folder {index.resolve()}")
    assert (index / POINTER).read_text() == pointer
    # chromadb opens its sqlite file read-write: the documents are unavailable, the records still answer
    assert health["status"] == "degraded" and "readonly" in health["reason"] and health_again == health
    assert status == 200 and UNAVAILABLE in text, log_lines[-3000:]
    assert "Alpha Cloud" in json.dumps(partners)


@pytest.mark.slow
async def test_a_chroma_server_that_goes_away_degrades_and_users_are_told(serve: Callable[..., Any], tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scale-out path: the index lives in a `chroma run` of its own, which stops while the bot serves."""
    with run_chroma(tmp_path / "srv") as port:
        monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("CHROMA_PORT", str(port))
        monkeypatch.setenv("CHROMA_DATABASE", "default_database")
        folder = make_knowledge(tmp_path / "kb", documents={"programs/co-sell-faq.yml": FAQ})
        build_index(folder, tmp_path / "index", embedder="hashing", progress=False)
        running = await serve(tmp_path / "index", folder)
        status, body = await running.health()
        assert status == 200 and body["generation"] == "gen-1"
        assert "five business days" in await running.ask(DOC_QUESTION)
    reply = await running.ask(DOC_QUESTION)
    assert UNAVAILABLE in reply and render.messages()["apology"] not in reply
    status, body = await running.health()
    assert status == 503 and body["reason"].startswith("document index unreadable")
    assert "Alpha Cloud" in await running.ask(MAP_QUESTION)
    print(f"\nChroma server stopped while serving: /healthz {status} {body['reason']!r} | user: {reply[:90]!r}")


def test_a_damaged_live_index_is_replaced_by_index_rebuild(built: tuple[Path, Path], index: Path,
                                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "kb"
    shutil.copytree(built[0], folder)
    truncate(live(index) / "chroma" / "chroma.sqlite3")
    faq = folder / "programs" / "co-sell-faq.yml"
    faq.write_text(faq.read_text().replace("five business days", "four business days"))
    args = ["index", "--knowledge", str(folder), "--index", str(index), "--embedder", "hashing", "--no-progress"]
    assert bot.main(args) == 4                             # the damaged copy fails: nothing is switched
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the new index generation could not be built") and "--rebuild" in err
    assert "\n" not in err and (index / POINTER).read_text().strip() == "gen-1"
    assert bot.main([*args, "--rebuild"]) == 0
    assert "live generation: gen-3" in capsys.readouterr().out
    engine = load_engine(folder, index, embedder="hashing")
    answer = engine.answer(DOC_QUESTION, engine.user_context(SELLER))
    assert "four business days" in answer.passages[0].text and not engine.problem
