"""`HashingEmbedder`: a deterministic, model-free stand-in for the real model in tests."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval.embeddings.model_files import DIMENSION

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

