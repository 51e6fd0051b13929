"""Indexing: incremental by content, stale chunks removed, bad files reported, the engine answers from it."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import loader
from knowledge.loader import load_knowledge
from retrieval.answers import AnswerKind
from retrieval.indexer import IndexLockedError, KnowledgeFolderError, build_index, load_snapshot, writer_lock
from retrieval.loading import load_engine
from tests.factories import ECM, SELLER, make_knowledge
from tests.support.documents import FAQ, GUIDE

SECRET = """---
title: FY27 review notes
visibility: confidential
---
# Review
SECRET-DOC-MARKER: two partners are on a delivery improvement plan.
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_knowledge(tmp_path / "kb", documents={
        "programs/co-sell-faq.yml": FAQ, "programs/kubernetes.md": GUIDE, "programs/review.md": SECRET})


def test_reindex_embeds_only_what_changed_and_removes_what_was_deleted(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = build_index(folder, index, embedder="hashing", progress=False)
    assert first.ok and first.documents == 3
    assert first.stats.added == first.chunks > 0 and first.stats.removed == 0

    second = build_index(folder, index, embedder="hashing", progress=False)
    assert (second.stats.added, second.stats.removed, second.stats.kept) == (0, 0, first.chunks)

    guide = folder / "programs" / "kubernetes.md"
    guide.write_text(guide.read_text().replace("six certified individuals", "eight certified individuals"))
    (folder / "programs" / "review.md").unlink()
    third = build_index(folder, index, embedder="hashing", progress=False)
    assert third.stats.added == 1                      # only the edited section
    assert third.stats.removed == 1 + 1                # its old version and the deleted file's chunk
    engine = load_engine(folder, index, embedder="hashing")
    texts = [c.text for c in engine.search.chunks]
    assert any("eight certified individuals" in t for t in texts)
    assert not any("six certified individuals" in t for t in texts)
    assert not any("SECRET-DOC-MARKER" in t for t in texts)


def test_summary_reports_skipped_files_and_the_rest_indexes(folder: Path, tmp_path: Path) -> None:
    (folder / "programs" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (folder / "programs" / "empty.txt").write_bytes(b"")
    report = build_index(folder, tmp_path / "index", embedder="hashing", progress=False)
    skipped = {i.path for i in report.skipped}
    assert {"programs/broken.pdf", "programs/empty.txt"} <= skipped
    assert report.documents == 3
    summary = report.summary()
    assert "skipped: programs/broken.pdf" in summary and "added" in summary


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeFolderError):
        build_index(tmp_path / "empty", tmp_path / "index", embedder="hashing", progress=False)


def test_one_writer_at_a_time(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    with writer_lock(index), pytest.raises(IndexLockedError, match="another indexer"):
        build_index(folder, index, embedder="hashing", progress=False)


def test_record_snapshot_is_used_only_while_fresh(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(folder, index, embedder="hashing", progress=False)
    assert load_snapshot(index, folder) is not None
    (folder / "partners" / "P-1.yaml").write_text((folder / "partners" / "P-1.yaml").read_text() + "\n")
    assert load_snapshot(index, folder) is None


def test_record_snapshot_holds_exactly_the_records_read_from_the_folder(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    (folder / "partners" / "broken.yaml").write_text("id: [unclosed\n")
    build_index(folder, index, embedder="hashing", progress=False)
    read = load_knowledge(folder, parse_timeout=0)
    snapshot = load_snapshot(index, folder)
    assert snapshot is not None and snapshot.documents == []
    assert snapshot.partners == read.partners and snapshot.map_rows == read.map_rows
    assert snapshot.incentives == read.incentives and snapshot.opportunities == read.opportunities
    assert snapshot.access == read.access and snapshot.issues == read.issues and snapshot.files_read == read.files_read


def test_unchanged_records_are_not_read_again_and_still_reported(folder: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    (folder / "partners" / "broken.yaml").write_text("id: [unclosed\n")
    first = build_index(folder, index, embedder="hashing", progress=False)
    read: list[str] = []
    real = loader._load_file
    monkeypatch.setattr(loader, "_load_file", lambda rel, *a, **k: read.append(rel) or real(rel, *a, **k))
    (folder / "programs" / "guide.md").write_text(GUIDE + "\n## Added\nA new section.\n")   # a document changes
    second = build_index(folder, index, embedder="hashing", progress=False)
    assert read and all(rel.startswith("programs/") and not rel.startswith("programs/incentives") for rel in read)
    assert second.generation != first.generation and second.stats.added >= 1
    assert (second.partners, second.opportunities, second.files_read) == (first.partners, first.opportunities,
                                                                            first.files_read + 1)   # + guide.md
    assert {(i.path, i.reason) for i in second.issues} == {(i.path, i.reason) for i in first.issues}
    assert load_snapshot(index, folder) is not None and len(load_snapshot(index, folder).partners) == first.partners
    third = build_index(folder, index, embedder="hashing", progress=False)
    assert third.generation == second.generation and third.stats.added == 0


def test_documents_are_answered_with_citations_and_trimmed_by_access(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(folder, index, embedder="hashing", progress=False)
    engine = load_engine(folder, index, embedder="hashing")
    seller = engine.user_context(SELLER)
    answer = engine.answer("How long does co-sell validation take?", seller)
    assert answer.kind is AnswerKind.DOCUMENT
    assert answer.passages[0].text.startswith("Validation of the co-sell materials")
    assert answer.passages[0].citation.path == "programs/co-sell-faq.yml"
    secret_question = "What do the FY27 review notes say about the delivery improvement plan?"
    assert "SECRET-DOC-MARKER" not in repr(engine.answer(secret_question, seller))
    assert "SECRET-DOC-MARKER" in repr(engine.answer(secret_question, engine.user_context(ECM)))
    off_topic = engine.answer("What is the capital of Mongolia's weather tomorrow?", seller)
    assert off_topic.kind is AnswerKind.NO_MATCH


@pytest.mark.model
def test_real_model_index_finds_a_paraphrase(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    report = build_index(folder, index, embedder="minilm", progress=False)
    assert report.stats.added == report.chunks
    engine = load_engine(folder, index, embedder="minilm")
    answer = engine.answer("what do we need to get the AKS specialisation?", engine.user_context(SELLER))
    assert answer.kind is AnswerKind.DOCUMENT
    assert "three customer deployments" in answer.passages[0].text
    assert answer.passages[0].citation.path == "programs/kubernetes.md"


def test_a_run_that_dies_part_way_leaves_a_usable_index(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    build_index(folder, index, embedder="hashing", progress=False)
    guide = folder / "programs" / "kubernetes.md"
    guide.write_text(guide.read_text().replace("six certified individuals", "eight certified individuals"))

    from retrieval import embeddings

    class Dying(embeddings.HashingEmbedder):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            raise RuntimeError("killed mid-run")

    with monkeypatch.context() as patch:
        patch.setattr(embeddings, "make_embedder", lambda name: Dying())
        with pytest.raises(RuntimeError, match="killed mid-run"):
            build_index(folder, index, embedder="hashing", progress=False)
    engine = load_engine(folder, index, embedder="hashing")     # the old passages still answer
    assert any("six certified individuals" in c.text for c in engine.search.chunks)
    rerun = build_index(folder, index, embedder="hashing", progress=False)
    assert rerun.stats.added == 1 and rerun.stats.removed == 1
