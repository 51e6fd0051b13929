"""`make_embedder`, the one place the rest of the bot gets an embedder from."""
from __future__ import annotations

import threading

from langchain_core.embeddings import Embeddings

from retrieval.embeddings.hashing import HashingEmbedder
from retrieval.embeddings.minilm import MiniLMEmbedder

EMBEDDER_NAMES = ("minilm", "hashing")
_shared: dict[str, MiniLMEmbedder] = {}
_shared_lock = threading.Lock()


def make_embedder(name: str = "minilm") -> Embeddings:
    """The embedder called `name`: "minilm" (the real model, one instance per process) or "hashing" (tests)."""
    key = name.strip().lower()
    if key == "hashing":
        return HashingEmbedder()
    if key == "minilm":
        # Loading costs a hash of 90 MB and an onnxruntime session; the bot and the indexer share one.
        with _shared_lock:
            if key not in _shared:
                _shared[key] = MiniLMEmbedder()
            return _shared[key]
    raise ValueError(f"unknown embedder {name!r}: expected one of {', '.join(repr(n) for n in EMBEDDER_NAMES)}")
