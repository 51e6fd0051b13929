"""Index speed and in-process answer latency on one knowledge folder.

* cold index: `build_index` into a fresh directory, in chunks/s, split into parse+chunk+snapshot, model time
  (inside `embed_documents`) and chromadb writes (the rest of the sync);
* raw embedding rate: the same chunk texts (`Chunk.embed_text`, what the indexer embeds) through
  `make_embedder("minilm").embed_array`, no index; measured just before and just after every cold build
  in the same run, so the ratio cold/raw compares like with like;
* unchanged re-index: `build_index` again over the same folder and index (nothing to embed);
* in-process latency: `answer_to_text(engine.answer(question, user))` per question on a fresh engine, p50 and p95.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import median, percentile, spread, user_id_for


def chunk_texts(knowledge_dir: Path) -> tuple[list[str], int]:
    """What the indexer embeds for the folder's documents: chunk texts, and how many FAQ question vectors it adds."""
    from knowledge.chunking import chunk_document  # noqa: PLC0415
    from knowledge.loader import load_knowledge  # noqa: PLC0415

    kb = load_knowledge(knowledge_dir)
    chunks = [c for doc in kb.documents for c in chunk_document(doc)]
    return [c.embed_text for c in chunks], sum(1 for c in chunks if c.kind == "faq" and c.heading)


@contextlib.contextmanager
def timed_embedder() -> Iterator[dict[str, float]]:
    """Time spent inside the shared MiniLM embedder's embed_documents while the block runs."""
    from retrieval.embeddings import make_embedder  # noqa: PLC0415

    model: Any = make_embedder("minilm")
    original = model.embed_documents
    spent = {"seconds": 0.0, "texts": 0}

    def embed_documents(texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["texts"] += len(texts)

    model.embed_documents = embed_documents
    try:
        yield spent
    finally:
        del model.embed_documents  # back to the class's method


def cold_index(knowledge_dir: Path, index_dir: Path) -> dict[str, Any]:
    """One build into index_dir, which must not exist yet, with where the time went.

    A path is never reused within a process: chromadb caches its client per path, so a build into a
    directory deleted and recreated under the same name finds the old collection in memory, embeds
    nothing and writes into the deleted files.
    """
    from retrieval.indexer import build_index  # noqa: PLC0415

    if index_dir.exists():
        raise FileExistsError(f"a cold build needs a new directory: {index_dir} exists")
    with timed_embedder() as spent:
        report = build_index(knowledge_dir, index_dir, embedder="minilm", progress=False)
    return {"seconds": report.seconds, "chunks": report.chunks, "added": report.stats.added,
            "chunks_per_s": report.chunks / report.seconds, "texts_embedded": spent["texts"],
            "model_seconds": spent["seconds"], "chroma_seconds": report.embed_seconds - spent["seconds"],
            "parse_snapshot_seconds": report.seconds - report.embed_seconds}


def raw_embedding(texts: list[str]) -> dict[str, float]:
    from retrieval.embeddings import make_embedder  # noqa: PLC0415

    model: Any = make_embedder("minilm")
    started = time.perf_counter()
    model.embed_array(texts)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "chunks_per_s": len(texts) / seconds}


def index_speed(knowledge_dir: Path, work_dir: Path, repetitions: int, reindex_repetitions: int,
                log: Any = print) -> tuple[dict[str, Any], Path]:
    """Cold builds bracketed by raw embedding runs (raw, cold, raw, cold, …, raw), then unchanged re-indexes.

    This machine's speed drifts by ±15 % from minute to minute (shared host), so each cold build is compared
    with the mean rate of the raw runs just before and just after it. Each cold build goes to its own new
    directory under work_dir; the last one is returned, complete, for the latency and quality parts.
    """
    from retrieval.indexer import build_index  # noqa: PLC0415

    texts, faq_questions = chunk_texts(knowledge_dir)
    colds: list[dict[str, Any]] = []
    raws: list[dict[str, float]] = [raw_embedding(texts)]
    log(f"  raw embedding 1/{repetitions + 1}: {raws[-1]['chunks_per_s']:.1f} chunks/s")
    index_dir = work_dir / "cold-0"
    for rep in range(repetitions):
        if colds:
            shutil.rmtree(index_dir, ignore_errors=True)
        index_dir = work_dir / f"cold-{rep}"
        colds.append(cold_index(knowledge_dir, index_dir))
        log(f"  cold index {rep + 1}/{repetitions}: {colds[-1]['seconds']:.1f}s, {colds[-1]['chunks_per_s']:.1f} chunks/s")
        raws.append(raw_embedding(texts))
        log(f"  raw embedding {rep + 2}/{repetitions + 1}: {raws[-1]['chunks_per_s']:.1f} chunks/s")
    ratios = [c["chunks_per_s"] / ((before["chunks_per_s"] + after["chunks_per_s"]) / 2)
              for c, before, after in zip(colds, raws, raws[1:], strict=False)]
    reindex = []
    for _ in range(reindex_repetitions):
        report = build_index(knowledge_dir, index_dir, embedder="minilm", progress=False)
        if report.stats.added or report.stats.removed:
            raise RuntimeError(f"unchanged re-index changed the index: {report.stats}")
        reindex.append(report.seconds)
    log(f"  unchanged re-index: {median(reindex):.2f}s (median of {len(reindex)})")

    def med(key: str, rows: list[dict[str, Any]]) -> float:
        return round(median([r[key] for r in rows]), 3)

    return {
        "chunks": colds[0]["chunks"], "faq_question_vectors": faq_questions,
        "texts_embedded_by_index": colds[0]["texts_embedded"],
        "cold_seconds": med("seconds", colds), "cold_chunks_per_s": med("chunks_per_s", colds),
        "cold_breakdown_seconds": {"parse_chunk_snapshot": med("parse_snapshot_seconds", colds),
                                   "model": med("model_seconds", colds), "chroma_writes": med("chroma_seconds", colds)},
        "raw_seconds": med("seconds", raws), "raw_chunks_per_s": med("chunks_per_s", raws),
        "cold_over_raw": round(median(ratios), 3), "cold_over_raw_runs": spread(ratios),
        "cold_seconds_runs": spread([c["seconds"] for c in colds]), "raw_seconds_runs": spread([r["seconds"] for r in raws]),
        "reindex_seconds": round(median(reindex), 3), "reindex_seconds_runs": spread(reindex),
        "repetitions": repetitions,
    }, index_dir


def in_process_latency(load: Callable[[], Any], questions: list[dict[str, Any]],
                       repetitions: int) -> tuple[dict[str, Any], list[str]]:
    """p50/p95 of engine.answer + answer_to_text, each pass on a freshly loaded engine (its ranking caches empty,
    as a new server's are), medians over passes; and the first pass's reply texts, for the quality part."""
    from dialogs.render import answer_to_text  # noqa: PLC0415

    p50s, p95s, texts = [], [], []
    for rep in range(repetitions):
        engine = load()
        if getattr(engine, "search", None) is None:
            raise RuntimeError("the engine has no document index: the numbers would not be the bot's")
        users = {uid: engine.user_context(uid) for uid in {user_id_for(q) for q in questions}}
        latencies = []
        for q in questions:
            started = time.perf_counter()
            text = answer_to_text(engine.answer(q["question"], users[user_id_for(q)]))
            latencies.append(time.perf_counter() - started)
            if rep == 0:
                texts.append(text)
        p50s.append(percentile(latencies, 0.5))
        p95s.append(percentile(latencies, 0.95))
    return ({"p50_ms": round(1000 * median(p50s), 2), "p95_ms": round(1000 * median(p95s), 2),
             "p95_ms_runs": spread([1000 * v for v in p95s]), "questions": len(questions), "repetitions": repetitions},
            texts)


def fresh_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
