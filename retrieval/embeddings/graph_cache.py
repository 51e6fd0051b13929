"""The built ONNX graph kept on disk under the weights' hash: loaded when it is there and usable, else built,
checked against the numpy reference and published atomically, so a wrong or half-written graph is never used."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.embeddings.model_files import BertConfig, load_weights
from retrieval.embeddings.numpy_bert import Forward, NumpyBert
from retrieval.embeddings.onnx_graph import OnnxForward, build_graph, check_graph, onnx_session
from retrieval.embeddings.tokens import Tokenizer, batches

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

# Part of the cached graph's file name: bump it whenever build_graph changes, or stale graphs would be reused.
GRAPH_VERSION = 1
# The graph is checked against the numpy reference once, when built; well below this means a wrong graph.
SELF_CHECK_MIN_COSINE = 0.9999


@dataclass
class GraphSession:
    session: onnxruntime.InferenceSession
    path: Path | None       # the cached graph file; None when it could not be cached (built in memory)
    built: bool             # built now rather than loaded from the cache


def graph_file(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"all-MiniLM-L6-v2-{digest[:16]}-g{GRAPH_VERSION}.onnx"


def load_or_build_session(cache_dir: Path, digest: str, weights_path: Path, config: BertConfig,
                          tokenizer: Tokenizer) -> GraphSession:
    """The session of the cached graph for these weights (digest: their sha256), building the graph if needed."""
    path = graph_file(cache_dir, digest)
    if path.is_file():
        try:
            return GraphSession(onnx_session(str(path)), path, built=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt below
            log.warning("cached embedding graph %s is unusable (%s); rebuilding it", path, exc)
    started = time.perf_counter()
    weights = load_weights(weights_path)
    probe = _probe(tokenizer)
    expected = NumpyBert(weights, config)(*probe)
    graph = build_graph(weights, config)
    # Weights, graph and serialised bytes are 90 MB each: drop each as soon as the next exists.
    del weights
    data = graph.SerializeToString()
    del graph
    published: Path | None = None
    try:
        tmp = write_temp(path, data)
    except OSError as exc:
        # Still usable from memory; only the next start pays the build again.
        log.warning("cannot cache the embedding graph at %s (%s); it will be rebuilt next start", path, exc)
        check_graph(data)
        session = onnx_session(data)
        self_check(OnnxForward(session), probe, expected)
    else:
        del data
        try:
            check_graph(str(tmp))
            session = onnx_session(str(tmp))
            self_check(OnnxForward(session), probe, expected)
            # Published only once checked, and atomically: concurrent processes see no graph or a whole,
            # verified one; two builders racing both publish identical bytes.
            os.replace(tmp, path)
            published = path
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    log.info("built the embedding graph in %.1fs (%s)", time.perf_counter() - started, published or "not cached")
    return GraphSession(session, published, built=True)


def _probe(tokenizer: Tokenizer) -> tuple[np.ndarray, np.ndarray]:
    texts = ["", "Which partners can deliver Azure Kubernetes Service in Germany?",
             "Partner-led funding covers assessments, proofs of concept and migration deployments. " * 4]
    ((_, input_ids, mask),) = batches(tokenizer.encode(texts), len(texts), tokenizer.pad_id)
    return input_ids, mask


def self_check(graph: Forward, probe: tuple[np.ndarray, np.ndarray], expected: np.ndarray) -> None:
    """Compare a new graph with the numpy reference once, so a wrong graph is never cached or used."""
    cosine = float(np.min(np.sum(graph(*probe) * expected, axis=1)))
    if not cosine > SELF_CHECK_MIN_COSINE:
        raise RuntimeError(f"the built graph disagrees with the numpy reference (cosine {cosine:.6f})")


def write_temp(beside: Path, data: bytes) -> Path:
    """Write data to a temp file in beside's directory, where os.replace onto beside is atomic."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the cache from other users sharing the directory
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)

