"""BertModel's forward pass plus sentence-transformers' mean pooling and normalisation in plain numpy: the
reference the ONNX graph is held to, and the fallback when the graph cannot be built or loaded."""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from retrieval.embeddings.model_files import BertConfig

# Large enough that exp() underflows to exactly 0 after softmax's max-subtraction; finite, so a fully masked row
# cannot become -inf - -inf = NaN.
MASK_NEG = -1e9


class Forward(Protocol):
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
        mask_bias = ((1.0 - attention_mask.astype(np.float32)) * MASK_NEG)[:, None, None, :]
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

