"""The vector store: document chunks in chromadb, keyed by stable ids so re-indexing is incremental.

Embedded `PersistentClient` by default (one writer per directory); a Chroma server through
`HttpClient` when CHROMA_SERVER_URL is set, for deployments that outgrow one machine. We always pass
vectors ourselves: a collection queried by text would fall back to chromadb's own embedding
function, which downloads a model and fails offline.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence
from urllib.parse import urlparse

if TYPE_CHECKING:
    from knowledge.chunking import Chunk

log = logging.getLogger(__name__)

COLLECTION = "documents"
_BATCH = 64          # embedding batch per progress step
_WRITE_BATCH = 2000  # below chromadb's max batch of 5,461


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    doc_path: str
    title: str
    heading: str
    kind: str
    visibility: str
    allowed_groups: tuple[str, ...]


@dataclass(frozen=True)
class SyncStats:
    added: int
    removed: int
    kept: int
    rebuilt: bool = False


def make_client(index_dir: Path) -> Any:
    import chromadb  # noqa: PLC0415 - import costs 0.7 s; only the index needs it
    from chromadb.config import Settings  # noqa: PLC0415

    settings = Settings(anonymized_telemetry=False)
    server = os.environ.get("CHROMA_SERVER_URL", "").strip()
    if server:
        url = urlparse(server)
        return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                   ssl=url.scheme == "https", settings=settings)
    index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=settings)


class DocumentIndex:
    def __init__(self, client: Any, model_id: str) -> None:
        self.client = client
        self.model_id = model_id
        self.collection = self._open()

    def _open(self) -> Any:
        return self.client.get_or_create_collection(
            COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            metadata={"model_id": self.model_id})

    def count(self) -> int:
        return int(self.collection.count())

    def sync(self, chunks: Sequence[Chunk], embed: Callable[[list[str]], Any],
             progress: Callable[[int], None] | None = None) -> SyncStats:
        """Make the collection hold exactly these chunks, embedding only the ones it lacks.

        New chunks are written before stale ones are deleted, so a run that dies part-way leaves
        an index that still answers (with some old passages) and the next run completes it.
        """
        rebuilt = False
        stored_model = (self.collection.metadata or {}).get("model_id")
        if stored_model and stored_model != self.model_id:
            log.warning("index was built with %s, now %s: rebuilding", stored_model, self.model_id)
            self.client.delete_collection(COLLECTION)
            self.collection = self._open()
            rebuilt = True
        existing = set(self.collection.get(include=[])["ids"])
        wanted = {c.id: c for c in chunks}
        to_add = [c for cid, c in wanted.items() if cid not in existing]
        to_remove = [cid for cid in existing if cid not in wanted]
        for start in range(0, len(to_add), _BATCH):
            batch = to_add[start:start + _BATCH]
            vectors = embed([c.embed_text for c in batch])
            self.collection.upsert(ids=[c.id for c in batch], embeddings=vectors,
                                   documents=[c.text for c in batch], metadatas=[_metadata(c) for c in batch])
            if progress:
                progress(len(batch))
        for start in range(0, len(to_remove), _WRITE_BATCH):
            self.collection.delete(ids=to_remove[start:start + _WRITE_BATCH])
        return SyncStats(added=len(to_add), removed=len(to_remove), kept=len(wanted) - len(to_add), rebuilt=rebuilt)

    def load(self) -> list[StoredChunk]:
        data = self.collection.get(include=["documents", "metadatas"])
        out = []
        for cid, text, meta in zip(data["ids"], data["documents"], data["metadatas"]):
            meta = meta or {}
            out.append(StoredChunk(
                id=cid, text=text or "", doc_path=str(meta.get("doc_path", "")), title=str(meta.get("title", "")),
                heading=str(meta.get("heading", "")), kind=str(meta.get("kind", "document")),
                visibility=str(meta.get("visibility", "internal")),
                allowed_groups=tuple(g for g in str(meta.get("allowed_groups", "")).split(",") if g)))
        return out

    def query(self, vector: Sequence[float], limit: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        total = self.count()
        if total == 0:
            return []
        result = self.collection.query(query_embeddings=[list(vector)], n_results=min(limit, total), include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0])]


def _metadata(chunk: Chunk) -> dict[str, str | int]:
    return {"doc_path": chunk.doc_path, "title": chunk.title, "heading": chunk.heading, "kind": chunk.kind,
            "visibility": chunk.visibility, "allowed_groups": ",".join(chunk.allowed_groups),
            "ordinal": chunk.ordinal, "content_hash": chunk.content_hash}
