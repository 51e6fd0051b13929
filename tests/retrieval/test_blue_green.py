"""Blue/green re-index: a real `bot.py index` process killed with SIGKILL part-way never changes what is served.

The indexer sends itself SIGKILL at a chosen point (PARTNER_ATLAS_TEST_KILL_AT: a fraction of the
chunks to embed, or a step such as "validated"): a real kill of a real process, at a known place.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.engine_slot import EngineSlot
from app.settings import PROJECT_DIR
from retrieval.engine import KnowledgeEngine
from retrieval.generations import Generations
from retrieval.index import COLLECTION, DocumentIndex
from retrieval.indexer import IndexLockedError, build_index, write_snapshot, writer_lock
from retrieval.loading import load_engine
from tests.factories import SELLER, make_knowledge
from tests.support.documents import FAQ, GUIDE, bulk_documents

QUESTIONS = ("How long does co-sell validation take?", "What makes a partner co-sell ready?",
             "What does the Kubernetes specialization audit involve?", "Who can do AKS for a retail customer in Germany?")
NEW_FACT = "Validation of the co-sell materials now completes within two business days"


def live_generation(index: Path) -> str | None:
    """The pointer: CURRENT in the folder, or the pointer collection on a Chroma server."""
    return Generations(index).live_name()


def served(engine: KnowledgeEngine) -> list[tuple[str, str, tuple[str, ...]]]:
    user = engine.user_context(SELLER)
    out = []
    for question in QUESTIONS:
        answer = engine.answer(question, user)
        out.append((answer.kind.value, answer.summary, tuple(p.text for p in answer.passages)))
    return out


def answers_from(folder: Path, index: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    engine = load_engine(folder, index, embedder="hashing")
    try:
        return served(engine)
    finally:
        engine.close()


def run_indexer(folder: Path, index: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bot.py", "index", "--knowledge", str(folder), "--index", str(index), "--embedder", "hashing",
         "--no-progress"], cwd=PROJECT_DIR, env={**os.environ, "PARTNER_ATLAS_EMBED_BATCH": "32", **env},
        capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_knowledge(tmp_path / "kb", documents={"programs/co-sell-faq.yml": FAQ, "programs/kubernetes.md": GUIDE})


@pytest.mark.slow
def test_sigkill_at_10_50_90_percent_and_before_the_switch_changes_nothing_served(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(folder, index, embedder="hashing", progress=False)
    before = answers_from(folder, index)
    live = live_generation(index)
    assert before[0][0] == "document" and "five business days" in before[0][2][0]

    # the next re-index has 313 chunks to embed, in batches of 32 (10 progress steps) and one edited FAQ answer
    for rel, text in bulk_documents(24, 13).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    faq = folder / "programs" / "co-sell-faq.yml"
    faq.write_text(faq.read_text().replace("Validation of the co-sell materials usually completes within five business "
                                           "days", NEW_FACT))
    results = []
    for kill_at in ("0.1", "0.5", "0.9", "validated"):
        progress = tmp_path / f"progress-{kill_at}"
        run = run_indexer(folder, index, PARTNER_ATLAS_TEST_KILL_AT=kill_at, PARTNER_ATLAS_PROGRESS_FILE=str(progress))
        assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
        where = run.stderr.split("killing the indexer at ")[-1].split()[0]
        fraction, done, total = progress.read_text().split()
        assert int(total) == 314 and (kill_at == "validated" or abs(float(where) - float(fraction)) < 0.01)
        assert live_generation(index) == live
        after = answers_from(folder, index)
        results.append((kill_at, where, f"{done}/{total} vectors embedded", after == before))
        assert after == before, f"killed at {where}: the served answers changed"
    print("\nSIGKILL at (requested, actual) -> answers unchanged:", results)

    final = run_indexer(folder, index)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "live generation: gen-" in final.stdout
    assert live_generation(index) != live
    now = answers_from(folder, index)
    assert NEW_FACT in now[0][2][0]                        # the edit is served now
    assert now[1][2][:1] == before[1][2][:1] and now[3] == before[3]
    # only the live generation and the previous one are left: the killed runs' folders are gone
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("gen-")) == \
        sorted([live, live_generation(index)])


@pytest.mark.slow
def test_a_second_writer_is_refused_with_a_clear_message(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    with writer_lock(index):
        run = run_indexer(folder, index)
        with pytest.raises(IndexLockedError, match=rf"another indexer \(pid {os.getpid()}\)"):
            build_index(folder, index, embedder="hashing", progress=False)
    assert run.returncode == 3
    assert run.stderr.strip() == f"error: another indexer (pid {os.getpid()}) is writing to {index.resolve()}; " \
                                 "wait for it to finish"
    assert run_indexer(folder, index).returncode == 0      # released: the next writer gets it


def test_an_unchanged_folder_builds_no_generation_and_an_edit_copies_the_live_vectors(
        folder: Path, tmp_path: Path, chroma_backend: str) -> None:
    index = tmp_path / "index"
    first = build_index(folder, index, embedder="hashing", progress=False)
    # the vectors are where the configuration says: a chroma folder, or a collection on the server
    assert (index / "gen-1" / "chroma").is_dir() == (chroma_backend == "embedded")
    again = build_index(folder, index, embedder="hashing", progress=False)
    assert first.generation == again.generation == "gen-1"
    assert (again.stats.added, again.stats.removed) == (0, 0)
    guide = folder / "programs" / "kubernetes.md"
    guide.write_text(guide.read_text().replace("six certified individuals", "eight certified individuals"))
    edited = build_index(folder, index, embedder="hashing", progress=False)
    assert edited.generation == "gen-2" and (edited.stats.added, edited.stats.removed) == (1, 1)
    assert edited.stats.kept == first.chunks - 1           # the rest came from the live generation, not re-embedded


@pytest.mark.embedded_only
def test_an_old_layout_index_is_served_then_migrated_into_generations(folder: Path, tmp_path: Path) -> None:
    from knowledge.chunking import chunk_document
    from knowledge.loader import load_knowledge
    from retrieval.embeddings import HashingEmbedder

    index = tmp_path / "index"
    kb = load_knowledge(folder)
    index.mkdir()
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(index / "chroma"), settings=Settings(anonymized_telemetry=False))
    model = HashingEmbedder()
    DocumentIndex(client, model.model_id, COLLECTION).sync(
        [c for doc in kb.documents for c in chunk_document(doc)], model.embed_documents)
    client.close()
    write_snapshot(index, folder, kb)
    assert Generations(index).live_name() == "legacy"
    legacy_answers = answers_from(folder, index)
    assert legacy_answers[0][0] == "document"

    first = build_index(folder, index, embedder="hashing", progress=False)
    assert first.generation == "gen-1" and first.stats.added == 0   # seeded from the old layout's vectors
    assert answers_from(folder, index) == legacy_answers
    assert (index / "chroma").is_dir()                     # the old layout is the previous index for now
    guide = folder / "programs" / "kubernetes.md"
    guide.write_text(guide.read_text().replace("six certified individuals", "eight certified individuals"))
    build_index(folder, index, embedder="hashing", progress=False)
    assert not (index / "chroma").exists() and not (index / "records.pickle").exists()
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("gen-")) == ["gen-1", "gen-2"]


def test_serve_swaps_in_a_new_generation_while_running(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(folder, index, embedder="hashing", progress=False)
    slot = EngineSlot()
    stop = threading.Event()

    def loader() -> KnowledgeEngine:
        return load_engine(folder, index, embedder="hashing")

    slot.load_in_background(loader).join(30)
    slot.watch(lambda: Generations(index).live_name(), loader, 0.05, stop)
    try:
        engine = slot.current()
        assert engine is not None and slot.generation == "gen-1"
        assert "five business days" in served(engine)[0][2][0]   # type: ignore[arg-type]
        faq = folder / "programs" / "co-sell-faq.yml"
        faq.write_text(faq.read_text().replace("Validation of the co-sell materials usually completes within five "
                                               "business days", NEW_FACT))
        build_index(folder, index, embedder="hashing", progress=False)
        deadline = time.monotonic() + 30
        while slot.generation != "gen-2" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slot.generation == "gen-2"
        assert NEW_FACT in served(slot.current())[0][2][0]      # type: ignore[arg-type]
        assert slot.health()[0] == 200 and slot.health()[1]["generation"] == "gen-2"
    finally:
        stop.set()
