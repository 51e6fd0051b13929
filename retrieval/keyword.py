"""BM25 keyword scoring over chunk texts: the exact-word half of hybrid document retrieval.

Dense embeddings find paraphrases; BM25 finds rare exact terms (program names, acronyms, numbers)
that a small embedding model blurs. Kept in memory: a few thousand chunks score in about a millisecond.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np

_WORD = re.compile(r"[a-z0-9][a-z0-9&+#.%$-]*[a-z0-9%]|[a-z0-9]")
_STOP = frozenset("""a an and are as at be but by can do does for from has have how i if in into is it its of on or
our so that the their them then there these they this to was we were what when where which who why will with you
your yes no not can't any all also about s t""".split())


def terms(text: str) -> list[str]:
    words = _WORD.findall(text.lower().replace("’", "'"))
    return [_stem(w) for w in words if w not in _STOP]


def _stem(word: str) -> str:
    """A light plural/verb-form folding; enough for BM25 over English program prose."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


class KeywordIndex:
    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for doc_id, text in enumerate(texts):
            counts = Counter(terms(text))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((doc_id, tf))
        self.count = len(texts)
        self.average = (sum(self.lengths) / self.count) if self.count else 1.0
        # per text, the length part of BM25's denominator; per term, its postings as arrays (built on first use)
        self._norm = self.k1 * (1 - self.b + self.b * np.asarray(self.lengths, dtype=np.float64) / self.average)
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self.count - df + 0.5) / (df + 0.5))

    def search(self, query: str, limit: int = 20) -> list[tuple[int, float]]:
        scores = self.scores(query)
        return sorted(scores.items(), key=lambda kv: -kv[1])[:limit]

    def scores(self, query: str) -> dict[int, float]:
        """The BM25 score of every text that shares a term with the query."""
        array = self.score_array(query)
        return {int(i): float(array[i]) for i in np.flatnonzero(array)}

    def holders(self, term: str) -> np.ndarray:
        """Positions of the texts that hold a (stemmed) term."""
        if term not in self.postings:
            return np.zeros(0, dtype=np.intp)
        return self._postings_arrays(term)[0]

    def _postings_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        if term not in self._arrays:
            ids, tfs = zip(*self.postings[term], strict=True)
            self._arrays[term] = (np.asarray(ids, dtype=np.intp), np.asarray(tfs, dtype=np.float64))
        return self._arrays[term]

    def score_array(self, query: str) -> np.ndarray:
        """The BM25 score of every text, by position (0 where no query term occurs)."""
        out = np.zeros(self.count, dtype=np.float64)
        for term in set(terms(query)):
            if term not in self.postings:
                continue
            ids_array, tf = self._postings_arrays(term)
            # a text holds a term once in its postings: plain fancy-index addition is exact
            out[ids_array] += self.idf(term) * tf * (self.k1 + 1) / (tf + self._norm[ids_array])
        return out
