"""`bot.py index`: read the knowledge folder, chunk its documents, build the next index generation, switch to it.

Incremental by construction: chunk ids are derived from source path and content, so an unchanged
folder embeds nothing, an edited section re-embeds only itself, and deleted files lose their chunks.
The structured records are kept beside the index as a snapshot (retrieval/snapshot.py) so `serve` starts
without re-parsing a large catalog; it carries a fingerprint of the files it came from and is ignored
when stale. When it is current, a re-index reads only the documents and copies it to the new generation.
Blue/green: each run builds a new generation beside the live one (see retrieval/generations.py) and
switches to it only after validation.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from knowledge.chunking import chunk_document
from knowledge.display import one_line
from knowledge.folder import list_folder
from knowledge.loader import KnowledgeFolderError, is_record_file, load_knowledge
from knowledge.records import FileIssue, Knowledge
from retrieval import snapshot
from retrieval.generations import MANIFEST, ChromaConfig, Generations, atomic_write
from retrieval.index import DocumentIndex, SyncStats, entry_ids

__all__ = ["IndexReport", "KnowledgeFolderError", "IndexLockedError", "IndexValidationError", "IndexWriteError",
           "build_index", "load_snapshot"]

log = logging.getLogger(__name__)

SNAPSHOT = "records.snapshot"
_SNAPSHOT_VERSION = snapshot.VERSION


class IndexLockedError(Exception):
    """Another indexer is writing to this index directory."""


class IndexWriteError(Exception):
    """The index folder cannot be written (read-only, no space, no permission)."""


class IndexValidationError(Exception):
    """The generation just built failed its checks: it is not switched to, the live one stays."""


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
    referrals: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    generation: str = ""

    @property
    def ok(self) -> bool:
        return self.files_read > 0

    @property
    def skipped(self) -> list[FileIssue]:
        return [i for i in self.issues if i.skipped]

    def summary(self) -> str:
        lines = [
            f"Indexed {self.knowledge_dir} -> {self.index_dir} in {self.seconds:.1f}s"
            + (f" (live generation: {self.generation})" if self.generation else ""),
            f"  files read: {self.files_read}, skipped: {len(self.skipped)}",
            f"  records: {self.partners} partners, {self.map_rows} map rows, {self.incentives} incentive rules, "
            f"{self.opportunities} opportunities, {self.referrals} co-sell referrals",
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
    """Size and mtime of every structured file (documents live in the vector index, not the snapshot).

    The files are the loader's own listing (knowledge/folder.py), so a symlink the loader refuses is not
    watched and one it follows is watched through its target.
    """
    out = []
    for file in list_folder(root).files:
        if file.rel.startswith("programs/") and not file.rel.startswith("programs/incentives."):
            continue
        try:
            stat = os.stat(file.location)
        except OSError:
            continue            # gone since it was listed: the next listing will not have it either
        out.append((file.rel, stat.st_size, stat.st_mtime_ns))
    return out


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One indexer at a time per index folder; the kernel drops the lock when its holder dies."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a+")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise IndexWriteError(f"cannot write to the index folder {index_dir}: {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip()
            raise IndexLockedError(f"another indexer{f' (pid {holder})' if holder.isdigit() else ''} is writing "
                                   f"to {index_dir}; wait for it to finish") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


class _Progress:
    """Counts embedded chunks for the progress bar and for the test hooks.

    PARTNER_ATLAS_PROGRESS_FILE: the fraction done is written there after every batch.
    PARTNER_ATLAS_TEST_KILL_AT: a fraction (0.5) or a step ("validated"): the process sends itself
    SIGKILL there, so the fault tests exercise a real kill at a known point.
    """

    def __init__(self, total: int, bar: Any) -> None:
        self.total, self.done, self.bar = total, 0, bar
        self.file = os.environ.get("PARTNER_ATLAS_PROGRESS_FILE", "")
        self.kill_at = os.environ.get("PARTNER_ATLAS_TEST_KILL_AT", "").strip()

    def update(self, n: int) -> None:
        self.done += n
        if self.bar:
            self.bar.update(n)
        fraction = self.done / self.total if self.total else 1.0
        if self.file:
            with contextlib.suppress(OSError):
                Path(self.file).write_text(f"{fraction:.4f} {self.done} {self.total}\n")
        with contextlib.suppress(ValueError):
            if self.kill_at and fraction >= float(self.kill_at):
                _test_kill(f"{fraction:.2f}")

    def step(self, name: str) -> None:
        if self.kill_at == name:
            _test_kill(name)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def _test_kill(where: str) -> None:
    print(f"PARTNER_ATLAS_TEST_KILL_AT: killing the indexer at {where}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def build_index(knowledge_dir: Path, index_dir: Path, *, embedder: str = "minilm",
                progress: bool | None = None, chroma: ChromaConfig | None = None,
                rebuild: bool = False) -> IndexReport:
    """Build the next index generation beside the live one, validate it, then switch to it atomically.

    The live generation is only ever read (its chroma folder is copied, then the copy gets the delta),
    so a run that dies at any point leaves the served index as it was; the next run deletes the
    leftovers and starts again. An unchanged folder builds nothing. `rebuild`: embed everything into a
    fresh generation, ignoring the live one (the way out of a damaged live index).
    """
    from chromadb.errors import ChromaError  # noqa: PLC0415

    from retrieval.embeddings import make_embedder  # noqa: PLC0415 - loads the model

    started = time.perf_counter()
    knowledge_dir, index_dir = Path(knowledge_dir).resolve(), Path(index_dir).resolve()
    with writer_lock(index_dir):
        store = Generations(index_dir, chroma)
        store.discard_incomplete()
        prints_list = fingerprint(knowledge_dir)
        prints = _digest(prints_list)
        live = store.live()
        manifest = store.manifest(live)
        records_current = (not rebuild and live is not None and manifest is not None
                           and manifest.get("fingerprint_sha256") == prints
                           and manifest.get("snapshot_version") == _SNAPSHOT_VERSION
                           and isinstance(manifest.get("records"), dict)
                           and snapshot.is_current(live.path / SNAPSHOT, prints_list))
        kb = load_knowledge(knowledge_dir, records=not records_current)   # current records: documents only
        counts = _record_counts(kb, manifest if records_current else None)
        chunks = [c for doc in kb.documents for c in chunk_document(doc)]
        model = make_embedder(embedder)
        model_id = getattr(model, "model_id", embedder)
        ids = entry_ids(chunks)
        digest = _digest(sorted(ids))
        report = IndexReport(
            knowledge_dir=str(knowledge_dir), index_dir=str(index_dir), files_read=len(kb.documents) + counts["files"],
            issues=kb.issues, documents=len(kb.documents), chunks=len(chunks), partners=counts["partners"],
            map_rows=counts["map_rows"], incentives=counts["incentives"], opportunities=counts["opportunities"],
            referrals=counts["referrals"])
        if records_current and manifest is not None:
            report.issues = _with_record_issues(kb.issues, manifest)
        if not report.ok:
            raise KnowledgeFolderError(f"knowledge folder {knowledge_dir} holds nothing readable")
        if (records_current and live is not None and manifest is not None and manifest.get("model_id") == model_id
                and manifest.get("ids_sha256") == digest):
            report.stats, report.generation = SyncStats(0, 0, len(chunks)), live.name
            report.seconds = time.perf_counter() - started
            log.info("index unchanged: generation %s stays live (%d chunks)", live.name, len(chunks))
            return report
        same_model = live is not None and (manifest is None or manifest.get("model_id") == model_id)
        try:
            gen = store.create(seed=live if same_model and not rebuild else None)
        except OSError as exc:
            raise IndexWriteError(f"cannot write to the index folder {index_dir}: {exc.strerror or exc}") from exc
        client = None
        try:
            client = store.client(gen, create=True)
            index = DocumentIndex(client, model_id, gen.collection)
            to_embed = len(ids) - _already(index, ids)
            tracker = _Progress(total=to_embed, bar=_progress_bar(progress, total=to_embed))
            embed_started = time.perf_counter()
            try:
                stats = index.sync(chunks, model.embed_documents, progress=tracker.update)
            finally:
                tracker.close()
            report.embed_seconds = time.perf_counter() - embed_started
            if records_current and live is not None:      # the records did not change: the same snapshot
                shutil.copyfile(live.path / SNAPSHOT, gen.path / SNAPSHOT)
            else:
                write_snapshot(gen.path, knowledge_dir, kb, prints_list)
            tracker.step("snapshot")
            validate_generation(index, gen.path, knowledge_dir, expected=len(ids), chunks=len(chunks),
                                prints=prints_list)
            tracker.step("validated")
        except ChromaError as exc:
            hint = "" if rebuild else "; if the live index is damaged, run `bot.py index --rebuild`"
            raise IndexValidationError(f"the new index generation could not be built: {one_line(exc)}{hint}") from exc
        finally:
            if client is not None and not store.chroma.server:
                client.close()      # this process may open the generation again (tests, `ask`): a fresh handle
        report.stats = replace(stats, rebuilt=stats.rebuilt or (live is not None and not same_model))
        atomic_write(gen.path / MANIFEST, json.dumps({
            "generation": gen.name, "knowledge_dir": str(knowledge_dir), "model_id": model_id,
            "chunks": len(chunks), "vectors": len(ids), "documents": len(kb.documents), "ids_sha256": digest,
            "fingerprint_sha256": prints, "snapshot_version": _SNAPSHOT_VERSION, "records": counts,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "issues": [{"path": i.path, "reason": i.reason, "skipped": i.skipped} for i in report.issues]},
            indent=1).encode())
        tracker.step("manifest")
        store.switch(gen)
        tracker.step("switched")
        store.collect_garbage()
        report.generation = gen.name
        report.seconds = time.perf_counter() - started
    log.info("index built: generation %s, %d chunks (+%d -%d) in %.1fs", gen.name, len(chunks), report.stats.added,
             report.stats.removed, report.seconds)
    return report


def validate_generation(index: DocumentIndex, path: Path, knowledge_dir: Path, *, expected: int, chunks: int,
                        prints: list[tuple[str, int, int]] | None = None) -> None:
    """What `serve` will do with the generation, done once before anyone is switched to it."""
    count = index.count()
    if count != expected:
        raise IndexValidationError(f"the new index holds {count} vectors, expected {expected}")
    stored = index.load()
    if len(stored) != chunks:
        raise IndexValidationError(f"the new index returns {len(stored)} passages, expected {chunks}")
    if stored:
        probe = index.collection.get(ids=[stored[0].id], include=["embeddings"])
        hits = index.query(list(probe["embeddings"][0]), 5)
        if not hits or hits[0][1] < 0.999:
            raise IndexValidationError("the new index does not find a stored passage by its own vector")
    if snapshot.read(path / SNAPSHOT, fingerprint(knowledge_dir) if prints is None else prints) is None:
        raise IndexValidationError("the new record snapshot does not load")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _already(index: DocumentIndex, ids: list[str]) -> int:
    """How many of these vectors the (seeded) collection holds already: the progress total is the rest."""
    try:
        existing = set(index.collection.get(include=[])["ids"])
    except Exception:  # noqa: BLE001 - only for the progress total
        return 0
    return sum(1 for i in ids if i in existing)


def _progress_bar(progress: bool | None, total: int):  # noqa: ANN202 - tqdm or None
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress or total <= 0:
        return None
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, unit="vector", desc="embedding", file=sys.stderr)


def _record_counts(kb: Knowledge, manifest: dict[str, Any] | None) -> dict[str, int]:
    """Records and record files read: from kb, or from the manifest when only the documents were read."""
    if manifest is not None:
        return {k: int(manifest["records"].get(k, 0)) for k in ("files", "partners", "map_rows", "incentives",
                                                                "opportunities", "referrals")}
    return {"files": kb.files_read - len(kb.documents), "partners": len(kb.partners), "map_rows": len(kb.map_rows),
            "incentives": len(kb.incentives), "opportunities": len(kb.opportunities), "referrals": len(kb.referrals)}


def _with_record_issues(issues: list[FileIssue], manifest: dict[str, Any]) -> list[FileIssue]:
    """The documents' issues from this run, and the record files' issues from the run that read them."""
    seen = {(i.path, i.reason) for i in issues}
    kept = [FileIssue(str(i["path"]), str(i["reason"]), bool(i.get("skipped", True)))
            for i in manifest.get("issues", []) if isinstance(i, dict) and is_record_file(str(i.get("path", "")))
            and (i.get("path"), i.get("reason")) not in seen]
    return [*issues, *kept]


def write_snapshot(index_dir: Path, knowledge_dir: Path, kb: Knowledge,
                   prints: list[tuple[str, int, int]] | None = None) -> None:
    atomic_write(index_dir / SNAPSHOT, snapshot.encode(kb, fingerprint(knowledge_dir) if prints is None else prints))


def load_snapshot(index_dir: Path, knowledge_dir: Path) -> Knowledge | None:
    """The structured records from the last index run, if the folder has not changed since."""
    folder = Path(index_dir)
    if not (folder / SNAPSHOT).exists():   # an index folder rather than a generation: its live generation's
        with contextlib.suppress(Exception):
            live = Generations(folder).live()
            folder = live.path if live else folder
    path = folder / SNAPSHOT
    if not path.exists():
        return None
    return snapshot.read(path, fingerprint(Path(knowledge_dir)))
