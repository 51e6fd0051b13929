"""Loading the live index generation into a KnowledgeEngine: records from the generation's snapshot (when
fresh), passages from its collection, and a degraded engine when the index cannot be opened."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.display import one_line
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.collector import loading_records
from retrieval.decisions import DecisionStore
from retrieval.document_search import DocumentSearch
from retrieval.understanding.intent import shared_classifier
from retrieval.understanding.lexicon import common_english, lexicon

if TYPE_CHECKING:
    from retrieval.engine import KnowledgeEngine
    from retrieval.generations import ChromaConfig

log = logging.getLogger(__name__)


def load_engine(knowledge_dir: Path, index_dir: Path, *, embedder: str = "minilm",
                decisions_path: Path | str | None = None, chroma: ChromaConfig | None = None) -> KnowledgeEngine:
    """Load the live index generation: records from its snapshot (when fresh), passages from its collection.

    Raises on an unusable knowledge folder. An index that cannot be opened (a damaged file or pointer,
    a read-only folder) does not raise: the engine answers from the records, says the documents are
    temporarily unavailable, and carries the reason in `problem` (GET /healthz: degraded).
    """
    with loading_records():   # millions of objects at scale: no collector passes while they are built
        return _load_engine(Path(knowledge_dir), Path(index_dir), embedder, decisions_path, chroma)


def _load_engine(knowledge_dir: Path, index_dir: Path, embedder: str, decisions_path: Path | str | None,
                 chroma: ChromaConfig | None) -> KnowledgeEngine:
    from retrieval.engine import KnowledgeEngine  # noqa: PLC0415 - the engine module imports this one
    from retrieval.generations import Generations  # noqa: PLC0415
    from retrieval.indexer import load_snapshot  # noqa: PLC0415

    started = time.perf_counter()
    store = Generations(index_dir, chroma)
    problem = ""
    try:
        live = store.live()
    except Exception as exc:  # noqa: BLE001 - a damaged pointer: the records still answer
        log.exception("the index pointer in %s cannot be read", index_dir)
        live, problem = None, f"document index unreadable: {one_line(exc, 240)}"
    knowledge = (load_snapshot(live.path, knowledge_dir) if live else None) \
        or load_knowledge(knowledge_dir, documents=False)
    catalog = Catalog(knowledge)
    lexicon(catalog)   # the vocabulary index for tolerant reading, built now rather than on the first question
    common_english()   # and what the first questions would build: ordinary words, partners by country and by file
    catalog.build_lookups()
    search = None
    if live is not None:
        from retrieval.embeddings import make_embedder  # noqa: PLC0415
        from retrieval.index import DocumentIndex  # noqa: PLC0415

        model = make_embedder(embedder)
        try:
            index = DocumentIndex(store.client(live), getattr(model, "model_id", embedder), live.collection,
                                  create=False)
            search = DocumentSearch(index, model.embed_query)
        except Exception as exc:  # noqa: BLE001 - damaged, unreadable or read-only: the records still answer
            log.exception("the document index generation %s cannot be opened", live.name)
            problem = f"document index unreadable: {one_line(exc, 240)}"
    elif not problem:
        log.warning("no document index at %s: document questions will say so; run `bot.py index`", index_dir)
    log.info("engine loaded in %.1fs (index generation %s): %d partners, %d map rows, %d opportunities, %d chunks",
             time.perf_counter() - started, live.name if live else "none", len(catalog.partners),
             len(catalog.map_rows), len(catalog.opportunities), len(search.chunks) if search else 0)
    shared_classifier(embedder)   # the intent bank's vectors, now rather than on the first question
    engine = KnowledgeEngine(catalog, search, DecisionStore(decisions_path) if decisions_path else None)
    engine.embedder = embedder
    engine.generation = live.name if live else None
    engine.problem = problem
    return engine
