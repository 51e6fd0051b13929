"""The vector store: document chunks in chromadb, keyed by stable ids so re-indexing is incremental.

Embedded `PersistentClient` by default (one writer per directory); a Chroma server through
`HttpClient` when CHROMA_HOST is set, for deployments that outgrow one machine (which client, and which
collection is live, is retrieval/generations.py's business). We always pass
vectors ourselves: a collection queried by text would fall back to chromadb's own embedding
function, which downloads a model and fails offline.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knowledge.display import one_line

if TYPE_CHECKING:
    from knowledge.chunking import Chunk

log = logging.getLogger(__name__)

COLLECTION = "documents"
HEADING_SUFFIX = ":question"
_BATCH = 256         # embedding batch per progress step (the embedder sub-batches by length)
_WRITE_BATCH = 2000  # below chromadb's max batch of 5,461
# Candidates the HNSW search examines per query (chromadb's default is 100). chromadb 1.5 inserts each
# write batch into the graph from several threads in hash-map order, so every build is a different graph,
# and at 100 a query misses a vector nearest to it in about one build in ten (measured on 1,000 chunks:
# 2 of 20 builds had a vector that a query with its own vector did not find; 0 of 30 at 400). A missed
# passage is a wrong answer, and it made the indexer's own check fail at random.
EF_SEARCH = 400


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
class _Entry:
    id: str
    embed_text: str
    document: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class SyncStats:
    added: int
    removed: int
    kept: int
    rebuilt: bool = False


class IndexUnavailableError(RuntimeError):
    """The vector index could not be read (a damaged file, a server that went away)."""


def entry_ids(chunks: Sequence[Chunk]) -> list[str]:
    """Every vector id the collection holds for these chunks: one per chunk, one more per FAQ question."""
    return [c.id for c in chunks] + [c.id + HEADING_SUFFIX for c in chunks if c.kind == "faq" and c.heading]


class DocumentIndex:
    def __init__(self, client: Any, model_id: str, collection: str = COLLECTION, *, create: bool = True) -> None:
        self.client = client
        self.model_id = model_id
        self.name = collection
        self._count: int | None = None   # for queries; sync() resets it
        # serving opens an existing collection; only the indexer creates one
        self.collection = self._open() if create else client.get_collection(collection, embedding_function=None)

    def _open(self) -> Any:
        collection = self.client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}}, embedding_function=None,
            metadata={"model_id": self.model_id})
        hnsw = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or 0) < EF_SEARCH:
            # a collection made before (or seeded from one): its configuration is its own, so widen it here
            collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        return collection

    def count(self) -> int:
        return int(self.collection.count())

    def sync(self, chunks: Sequence[Chunk], embed: Callable[[list[str]], Any],
             progress: Callable[[int], None] | None = None) -> SyncStats:
        """Make the collection hold exactly these chunks, embedding only the ones it lacks.

        New chunks are written before stale ones are deleted, so a run that dies part-way leaves
        an index that still answers (with some old passages) and the next run completes it.
        FAQ entries get a second vector, of their question alone: a user's question is closest to
        the question it paraphrases, while the answer text dilutes the whole-entry vector.
        """
        rebuilt = False
        self._count = None
        stored_model = (self.collection.metadata or {}).get("model_id")
        if stored_model and stored_model != self.model_id:
            log.warning("index was built with %s, now %s: rebuilding", stored_model, self.model_id)
            self.client.delete_collection(self.name)
            self.collection = self._open()
            rebuilt = True
        existing = set(self.collection.get(include=[])["ids"])
        wanted = {c.id: c for c in chunks}
        entries = [_Entry(c.id, c.embed_text, c.text, _metadata(c)) for c in chunks]
        entries += [_Entry(c.id + HEADING_SUFFIX, c.heading, c.heading, {"of": c.id, "role": "heading"})
                    for c in chunks if c.kind == "faq" and c.heading]
        wanted_ids = {e.id for e in entries}
        # similar lengths together: the embedder pads a batch to its longest text
        to_add = sorted((e for e in entries if e.id not in existing), key=lambda e: len(e.embed_text))
        to_remove = [cid for cid in existing if cid not in wanted_ids]
        step = _embed_batch()
        for start in range(0, len(to_add), step):
            batch = to_add[start:start + step]
            vectors = embed([e.embed_text for e in batch])
            self.collection.upsert(ids=[e.id for e in batch], embeddings=vectors,
                                   documents=[e.document for e in batch], metadatas=[e.metadata for e in batch])
            if progress:
                progress(len(batch))    # vectors, FAQ question vectors included
        for start in range(0, len(to_remove), _WRITE_BATCH):
            self.collection.delete(ids=to_remove[start:start + _WRITE_BATCH])
        added = sum(1 for e in to_add if not e.id.endswith(HEADING_SUFFIX))
        removed = sum(1 for cid in to_remove if not cid.endswith(HEADING_SUFFIX))
        return SyncStats(added=added, removed=removed, kept=len(wanted) - added, rebuilt=rebuilt)

    def load(self) -> list[StoredChunk]:
        data = self.collection.get(include=["documents", "metadatas"])
        out = []
        for cid, text, meta in zip(data["ids"], data["documents"], data["metadatas"], strict=True):
            meta = meta or {}
            if meta.get("role") == "heading":
                continue
            out.append(StoredChunk(
                id=cid, text=text or "", doc_path=str(meta.get("doc_path", "")), title=str(meta.get("title", "")),
                heading=str(meta.get("heading", "")), kind=str(meta.get("kind", "document")),
                visibility=str(meta.get("visibility", "internal")),
                allowed_groups=tuple(g for g in str(meta.get("allowed_groups", "")).split(",") if g)))
        return out

    def vectors(self) -> dict[str, list[float]]:
        """Every stored vector by id (passages and FAQ questions), for scoring candidates in memory."""
        data = self.collection.get(include=["embeddings"])
        embeddings = data.get("embeddings")
        if embeddings is None:
            return {}
        return {cid: vector for cid, vector in zip(data["ids"], embeddings, strict=True) if vector is not None}

    def query(self, vector: Sequence[float], limit: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        try:
            # a served generation never changes: its size is read once (a count costs a few ms per query)
            if self._count is None:
                self._count = self.count()
            total = self._count
            if total == 0:
                return []
            result = self.collection.query(query_embeddings=[list(vector)], n_results=min(limit, total),
                                           include=["distances"])
        except Exception as exc:
            log.exception("the document index could not be queried")
            raise IndexUnavailableError(f"document index unreadable: {one_line(exc)}") from exc
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]


def _embed_batch() -> int:
    """PARTNER_ATLAS_EMBED_BATCH: texts per embedding call and progress step (the fault tests use small ones)."""
    try:
        return max(1, int(os.environ.get("PARTNER_ATLAS_EMBED_BATCH", "") or _BATCH))
    except ValueError:
        return _BATCH


def _metadata(chunk: Chunk) -> dict[str, Any]:
    return {"doc_path": chunk.doc_path, "title": chunk.title, "heading": chunk.heading, "kind": chunk.kind,
            "visibility": chunk.visibility, "allowed_groups": ",".join(chunk.allowed_groups),
            "ordinal": chunk.ordinal, "content_hash": chunk.content_hash}
