"""`MiniLMEmbedder`: all-MiniLM-L6-v2 sentence embeddings, through the cached ONNX graph or the numpy reference."""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval.embeddings.graph_cache import load_or_build_session
from retrieval.embeddings.model_files import (
    DIMENSION,
    MODEL_NAME,
    BertConfig,
    default_cache_dir,
    file_sha256,
    load_weights,
    model_path,
)
from retrieval.embeddings.numpy_bert import Forward, NumpyBert
from retrieval.embeddings.onnx_graph import OnnxForward
from retrieval.embeddings.tokens import Tokenizer, batches

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
Backend = Literal["auto", "onnx", "numpy"]


class MiniLMEmbedder(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length), via onnxruntime or the numpy reference.

    backend "auto" uses the cached ONNX graph (building it on first use) and falls back to numpy with a
    warning if that fails; "onnx" raises instead of falling back; "numpy" always uses the reference.
    Thread-safe: onnxruntime sessions and the tokenizer may be called concurrently.
    """

    dimension: int = DIMENSION

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE, cache_dir: Path | str | None = None,
                 backend: Backend = "auto", model_dir: Path | str | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if backend not in ("auto", "onnx", "numpy"):
            raise ValueError(f"backend must be 'auto', 'onnx' or 'numpy', got {backend!r}")
        started = time.perf_counter()
        folder = Path(model_dir) if model_dir is not None else model_path()
        self.batch_size = batch_size
        self.config = BertConfig.load(folder)
        self.max_seq_length = self.config.max_seq_length
        self._weights_path = folder / "model.safetensors"
        self._digest = file_sha256(self._weights_path)
        # Stored beside the index: a different weights file means different vectors, so the index must rebuild.
        self.model_id = f"{MODEL_NAME}@sha256:{self._digest[:16]}"
        self._tokenizer = Tokenizer(folder / "tokenizer.json", self.config.max_seq_length)
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.graph_path: Path | None = None
        self.graph_built = False
        self.backend: Literal["onnx", "numpy"]
        self._forward: Forward
        if backend == "numpy":
            self._use_numpy()
        else:
            try:
                graph = load_or_build_session(self._cache_dir, self._digest, self._weights_path, self.config,
                                              self._tokenizer)
                self.graph_path, self.graph_built = graph.path, graph.built
                self._forward = OnnxForward(graph.session)
                self.backend = "onnx"
            except Exception as exc:
                if backend == "onnx":
                    raise
                log.warning("ONNX embedding graph unavailable (%s: %s); using the numpy forward pass, several "
                            "times slower", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
                self._use_numpy()
        log.info("embedder %s ready (%s backend) in %.2fs", self.model_id, self.backend, time.perf_counter() - started)

    def _use_numpy(self) -> None:
        self._forward = NumpyBert(load_weights(self._weights_path), self.config)
        self.backend = "numpy"

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as a float32 array of shape (len(texts), 384), rows in input order, each of unit length."""
        if isinstance(texts, str):
            raise TypeError("embed_array takes a sequence of strings, not a single string")
        texts = list(texts)
        result = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return result
        ids = self._tokenizer.encode(texts)
        for positions, input_ids, mask in batches(ids, self.batch_size, self._tokenizer.pad_id):
            result[positions] = self._forward(input_ids, mask)
        return result

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

