"""`bot.py index`: read the knowledge folder, chunk its documents, sync the vector index, snapshot the records.

Incremental by construction: chunk ids are derived from source path and content, so an unchanged
folder embeds nothing, an edited section re-embeds only itself, and deleted files lose their chunks.
The structured records are pickled beside the index so `serve` starts without re-parsing a large
catalog; the snapshot carries a fingerprint of the files it came from and is ignored when stale.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from knowledge.chunking import chunk_document
from knowledge.loader import KnowledgeFolderError, load_knowledge
from knowledge.records import FileIssue, Knowledge
from retrieval.index import DocumentIndex, SyncStats, make_client

__all__ = ["IndexReport", "KnowledgeFolderError", "IndexLockedError", "build_index", "load_snapshot"]

log = logging.getLogger(__name__)

SNAPSHOT = "records.pickle"
MANIFEST = "manifest.json"
_SNAPSHOT_VERSION = 1


class IndexLockedError(Exception):
    """Another indexer is writing to this index directory."""


@dataclass
class IndexReport:
    knowledge_dir: str
    index_dir: str
    files_read: int = 0
    issues: list[FileIssue] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    stats: SyncStats = SyncStats(0, 0, 0)
    partners: int = 0
    map_rows: int = 0
    incentives: int = 0
    opportunities: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.files_read > 0

    @property
    def skipped(self) -> list[FileIssue]:
        return [i for i in self.issues if i.skipped]

    def summary(self) -> str:
        lines = [
            f"Indexed {self.knowledge_dir} -> {self.index_dir} in {self.seconds:.1f}s",
            f"  files read: {self.files_read}, skipped: {len(self.skipped)}",
            f"  records: {self.partners} partners, {self.map_rows} map rows, {self.incentives} incentive rules, "
            f"{self.opportunities} opportunities",
            f"  documents: {self.documents} -> {self.chunks} chunks: {self.stats.added} added, "
            f"{self.stats.removed} removed, {self.stats.kept} unchanged"
            + (" (rebuilt: embedding model changed)" if self.stats.rebuilt else ""),
        ]
        if self.stats.added:
            lines.append(f"  embedding: {self.stats.added / max(self.embed_seconds, 1e-9):.0f} chunks/s")
        for issue in self.issues:
            lines.append(f"  {'skipped' if issue.skipped else 'warning'}: {issue.path}: {issue.reason}")
        return "\n".join(lines)


def fingerprint(root: Path) -> list[tuple[str, int, int]]:
    """Size and mtime of every structured file (documents live in the vector index, not the snapshot)."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or any(p.startswith(".") for p in rel.split("/")):
            continue
        if rel.startswith("programs/") and not rel.startswith("programs/incentives."):
            continue
        stat = path.stat()
        out.append((rel, stat.st_size, stat.st_mtime_ns))
    return out


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexLockedError(f"another indexer is writing to {index_dir}; wait for it to finish") from exc
        yield


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def build_index(knowledge_dir: Path, index_dir: Path, *, embedder: str = "minilm",
                progress: bool | None = None) -> IndexReport:
    from retrieval.embeddings import make_embedder  # noqa: PLC0415 - loads the model

    started = time.perf_counter()
    knowledge_dir, index_dir = Path(knowledge_dir).resolve(), Path(index_dir).resolve()
    with writer_lock(index_dir):
        kb = load_knowledge(knowledge_dir)
        chunks = [c for doc in kb.documents for c in chunk_document(doc)]
        model = make_embedder(embedder)
        index = DocumentIndex(make_client(index_dir), getattr(model, "model_id", embedder))
        bar = _progress_bar(progress, total=len(chunks) - _already(index, chunks))
        embed_started = time.perf_counter()
        stats = index.sync(chunks, model.embed_documents, progress=bar.update if bar else None)
        embed_seconds = time.perf_counter() - embed_started
        if bar:
            bar.close()
        write_snapshot(index_dir, knowledge_dir, kb)
        report = IndexReport(
            knowledge_dir=str(knowledge_dir), index_dir=str(index_dir), files_read=kb.files_read, issues=kb.issues,
            documents=len(kb.documents), chunks=len(chunks), stats=stats, partners=len(kb.partners),
            map_rows=len(kb.map_rows), incentives=len(kb.incentives), opportunities=len(kb.opportunities),
            seconds=time.perf_counter() - started, embed_seconds=embed_seconds)
        manifest = {"knowledge_dir": str(knowledge_dir), "model_id": index.model_id, "chunks": len(chunks),
                    "documents": len(kb.documents), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "issues": [{"path": i.path, "reason": i.reason, "skipped": i.skipped} for i in kb.issues]}
        _atomic_write(index_dir / MANIFEST, json.dumps(manifest, indent=1).encode())
    log.info("index built: %d chunks (+%d -%d) in %.1fs", len(chunks), stats.added, stats.removed, report.seconds)
    return report


def _already(index: DocumentIndex, chunks: list) -> int:  # noqa: ANN001 - list[Chunk]
    try:
        existing = set(index.collection.get(include=[])["ids"])
    except Exception:  # noqa: BLE001 - only for the progress total
        return 0
    return sum(1 for c in chunks if c.id in existing)


def _progress_bar(progress: bool | None, total: int):  # noqa: ANN202 - tqdm or None
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress or total <= 0:
        return None
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)


def write_snapshot(index_dir: Path, knowledge_dir: Path, kb: Knowledge) -> None:
    structured = replace(kb, documents=[])
    payload = {"version": _SNAPSHOT_VERSION, "fingerprint": fingerprint(knowledge_dir), "knowledge": structured}
    _atomic_write(index_dir / SNAPSHOT, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def load_snapshot(index_dir: Path, knowledge_dir: Path) -> Knowledge | None:
    """The structured records from the last index run, if the folder has not changed since."""
    path = Path(index_dir) / SNAPSHOT
    if not path.exists():
        return None
    try:
        payload = pickle.loads(path.read_bytes())  # noqa: S301 - our own file, written atomically by build_index
    except Exception:  # noqa: BLE001 - a damaged snapshot is only a missed shortcut
        log.warning("record snapshot %s unreadable; re-reading the folder", path)
        return None
    if payload.get("version") != _SNAPSHOT_VERSION or payload.get("fingerprint") != fingerprint(Path(knowledge_dir)):
        return None
    return payload["knowledge"]
