"""What a question asks for, from its meaning: nearest neighbours over MiniLM vectors of example questions.

Similarity is mostly the cosine of MiniLM vectors, blended with a small lexical cosine (tf-idf over the
shapes' words, word pairs and character 4-grams, learned from the same bank): MiniLM puts "deals without a
partner" next to "partners for <workload>", and the words the bank uses per kind separate them again.
Measured on the check half (bench/understanding.py): embeddings alone 0.81, blended 0.84.

The examples are the tuning half of the paraphrase bank (`retrieval/data/intent/paraphrases.yaml`), each
reduced to its shape (see masking.py) so the classifier learns "is <partner> on the map for <workload> in
<country>?", not the sample catalog's names. Their vectors are computed once per process and cached on disk
beside the embedding model's graph, keyed by the shapes and the model, so a question costs one embedding of
its shape and a dot product with the bank.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.structured_files import read_data_file
from retrieval.catalog import Vocabulary
from retrieval.understanding.masking import mask, names_vocabulary

log = logging.getLogger(__name__)

PARAPHRASES = Path(__file__).resolve().parents[1] / "data" / "intent" / "paraphrases.yaml"
INTENTS = ("coverage", "specialization", "incentive", "document", "pipeline", "attach", "opportunity", "profile",
           "fit", "comparison", "gaps")
# fact keys of the bank -> catalog entity kinds (for masking the examples)
_FACT_KINDS = {"workload": "workload", "specialization": "specialization", "designation": "designation",
               "industry": "industry", "segment": "segment", "program": "program", "partner": "partner",
               "partners": "partner", "exclude": "partner"}
NEIGHBOURS = 5
EMBEDDING_WEIGHT = 0.75       # the rest is the lexical cosine
_LEXICAL_WORD = re.compile(r"<\w+>|[^\W\d_]+")
_SHAPE_CACHE = 4096


@dataclass(frozen=True)
class Example:
    text: str
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)
    tuning: bool = True          # in the classifier's bank (else: the check half, never used for tuning)


@dataclass(frozen=True)
class Intent:
    kind: str
    confidence: float            # cosine similarity of the nearest example
    scores: tuple[tuple[str, float], ...] = ()   # per kind, best first
    shape: str = ""

    def score(self, kind: str) -> float:
        return dict(self.scores).get(kind, 0.0)


def load_examples(path: Path = PARAPHRASES) -> list[Example]:
    """Every entry of the bank; within a kind, even positions are the tuning half, odd ones the check half."""
    data = read_data_file(path) or {}
    out: list[Example] = []
    for kind, entries in data.items():
        if kind not in INTENTS:
            raise ValueError(f"{path.name}: unknown answer kind {kind!r}")
        for position, entry in enumerate(entries or []):
            text, facts = entry[0], (entry[1] if len(entry) > 1 else {}) or {}
            out.append(Example(str(text), kind, dict(facts), tuning=position % 2 == 0))
    return out


def example_vocabulary(examples: Iterable[Example]) -> Vocabulary:
    """The names the examples' facts mention, with their aliases: what masks the examples."""
    named: dict[tuple[str, str], None] = {}
    for example in examples:
        for key, value in example.facts.items():
            kind = _FACT_KINDS.get(key)
            if kind is None:
                continue
            for name in value if isinstance(value, list) else [value]:
                named[(kind, str(name))] = None
    return names_vocabulary(named)


class IntentClassifier:
    """Weighted k-nearest-neighbour vote over the bank's shapes; thread-safe, cheap per question."""

    def __init__(self, embed_array: Callable[[Sequence[str]], np.ndarray] | None, model_id: str,
                 examples: Sequence[Example] | None = None, *, cache_dir: Path | None = None,
                 english: bool = True, neighbours: int = NEIGHBOURS) -> None:
        bank = [e for e in (examples if examples is not None else load_examples()) if e.tuning]
        if not bank:
            raise ValueError("the intent bank is empty")
        self._embed = embed_array
        self.english = english
        self.neighbours = neighbours
        vocabulary = example_vocabulary(bank)
        self.kinds = [e.kind for e in bank]
        self.shapes = [mask(e.text, vocabulary, english=english) for e in bank]
        # without a semantic model (embed_array None) the vote is on the lexical similarity alone
        self.embedding_weight = EMBEDDING_WEIGHT if embed_array is not None else 0.0
        self.vectors = self._bank_vectors(model_id, cache_dir) if embed_array is not None else None
        self.lexical = _Lexical(self.shapes)
        self._cache: OrderedDict[str, Intent] = OrderedDict()
        self._lock = threading.Lock()

    def _bank_vectors(self, model_id: str, cache_dir: Path | None) -> np.ndarray:
        digest = hashlib.sha256("\n".join([model_id, *self.shapes]).encode("utf-8")).hexdigest()[:16]
        path = (cache_dir / f"intent-bank-{digest}.npy") if cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                vectors = np.load(path)
                if vectors.shape[0] == len(self.shapes):
                    return vectors.astype(np.float32)
            except (OSError, ValueError) as exc:
                log.warning("intent bank cache %s unreadable (%s): recomputing", path, exc)
        assert self._embed is not None
        vectors = np.asarray(self._embed(self.shapes), dtype=np.float32)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                tmp.replace(path)
            except OSError as exc:
                log.warning("cannot cache the intent bank at %s (%s)", path, exc)
        return vectors

    def classify(self, question: str, vocabulary: Vocabulary) -> Intent:
        return self.classify_shape(mask(question, vocabulary, english=self.english))

    def classify_shape(self, shape: str) -> Intent:
        with self._lock:
            cached = self._cache.get(shape)
            if cached is not None:
                self._cache.move_to_end(shape)
                return cached
        sims = (1 - self.embedding_weight) * self.lexical.similarities(shape)
        if self._embed is not None and self.vectors is not None:
            vector = np.asarray(self._embed([shape]), dtype=np.float32)[0]
            sims = sims + self.embedding_weight * (self.vectors @ vector)
        top = np.argsort(-sims)[: self.neighbours]
        votes: dict[str, float] = {}
        for i in top:
            votes[self.kinds[i]] = votes.get(self.kinds[i], 0.0) + float(max(sims[i], 0.0)) ** 4
        ranked = tuple(sorted(((k, round(v, 4)) for k, v in votes.items()), key=lambda kv: -kv[1]))
        intent = Intent(ranked[0][0], float(sims[top[0]]), ranked, shape)
        with self._lock:
            self._cache[shape] = intent
            if len(self._cache) > _SHAPE_CACHE:
                self._cache.popitem(last=False)
        return intent


_shared_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _build_shared(embedder: str) -> IntentClassifier | None:
    from retrieval.embeddings import default_cache_dir, make_embedder  # noqa: PLC0415

    try:
        if embedder.strip().lower() == "hashing":
            # a model-free engine (tests, a machine without the model): hashed words carry no meaning, so the
            # vote is on the lexical similarity to the bank alone, and no model is loaded for it
            return IntentClassifier(None, "lexical", cache_dir=None)
        model = make_embedder(embedder)
        return IntentClassifier(model.embed_array, str(getattr(model, "model_id", embedder)),  # type: ignore[attr-defined]
                                cache_dir=default_cache_dir())
    except Exception as exc:  # noqa: BLE001 - no model or a broken bank: the linked facts still route
        log.warning("intent classifier unavailable (%s: %s): answering from the linked facts alone",
                    type(exc).__name__, exc)
        return None


def shared_classifier(embedder: str = "minilm") -> IntentClassifier | None:
    """The process's classifier on the engine's embedder (the shared MiniLM model unless the engine was
    loaded with another), built once; None when the model is not installed or the bank cannot be read (the
    engine then routes from the linked facts alone)."""
    with _shared_lock:
        return _build_shared(embedder)


class _Lexical:
    """tf-idf cosine between a shape and every bank shape (words, word pairs, character 4-grams for typos).

    Kept as an inverted index: a question has a few dozen features, so its similarities cost microseconds."""

    def __init__(self, shapes: Sequence[str]) -> None:
        counted = [_features(s) for s in shapes]
        frequency = Counter(k for f in counted for k in f)
        self.size = len(shapes)
        self.idf = {k: math.log((1 + len(shapes)) / (1 + n)) + 1 for k, n in frequency.items()}
        postings: dict[str, list[tuple[int, float]]] = {}
        for row, features in enumerate(counted):
            for key, weight in self._weights(features).items():
                postings.setdefault(key, []).append((row, weight))
        self.postings = {k: (np.array([r for r, _ in v]), np.array([w for _, w in v], dtype=np.float32))
                         for k, v in postings.items()}

    def _weights(self, features: Counter[str]) -> dict[str, float]:
        weights = {k: (1 + math.log(n)) * self.idf[k] for k, n in features.items() if k in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {k: w / norm for k, w in weights.items()} if norm else {}

    def similarities(self, shape: str) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for key, weight in self._weights(_features(shape)).items():
            rows, weights = self.postings[key]
            out[rows] += weight * weights
        return out


def _features(shape: str) -> Counter[str]:
    words = _LEXICAL_WORD.findall(shape.lower())
    features = Counter(words)
    features.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    for word in words:
        if not word.startswith("<"):
            padded = f"#{word}#"
            features.update(padded[i:i + 4] for i in range(max(1, len(padded) - 3)))
    return features
