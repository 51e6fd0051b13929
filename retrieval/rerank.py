"""Reranking candidate passages: several signals per passage, one learned linear score.

No cross-encoder ships its weights in a package we can install offline, so the reranker combines what
the index already has, per candidate passage:

* `cos_text`, `cos_question`: cosine of the question to the passage's vector and, for an FAQ entry, to
  the vector of its question alone (a paraphrase is closest to the question it paraphrases);
* `bm25`, `bm25_heading`: BM25 over the whole passage and over its title and heading (an FAQ entry's
  heading is its question), each scaled by the best score among the candidates;
* `cover`, `cover_heading`: the IDF-weighted share of the question's content words found in the
  passage / in its heading, a word counting as found when a word of its synonym group is there
  (`data/synonyms.yaml`), after light stemming;
* `rrf`: the reciprocal-rank fusion of the dense, FAQ-question and keyword rankings;
* `subject`: the title or heading names a program the question was linked to;
* `term`, `defines`: the passage mentions / spells out a term the catalog does not know ("MACC").

The weights live in `data/rerank.yaml`, fitted by `python -m bench.rerank --fit` on a tuning half of
hand-written paraphrases (tests/retrieval/data/faq_paraphrases.jsonl); the other half checks them.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.structured_files import read_data_file
from retrieval.keyword import KeywordIndex, terms

_DATA = Path(__file__).with_name("data")
WEIGHTS = _DATA / "rerank.yaml"
SYNONYMS = _DATA / "synonyms.yaml"
FEATURES = ("cos_text", "cos_question", "bm25", "bm25_heading", "cover", "cover_heading", "rrf", "subject",
            "term", "defines")


@dataclass(frozen=True)
class Vocabulary:
    alternatives: Mapping[str, frozenset[str]]        # stemmed word -> the stemmed words of its group
    phrases: tuple[tuple[re.Pattern[str], str], ...]  # a multi-word member -> its group's first word
    abbreviations: Mapping[str, str]                  # lower-case shorthand -> its long form


@functools.lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = read_data_file(SYNONYMS) or {}
    alternatives: dict[str, set[str]] = {}
    phrases: list[tuple[re.Pattern[str], str]] = []
    for group in data.get("groups") or []:
        members = [str(m) for m in group]
        stems = {t for m in members if len(terms(m)) == 1 for t in terms(m)}
        head = next((m for m in members if len(terms(m)) == 1), members[0])
        for member in members:
            if len(member.split()) > 1:
                phrases.append((re.compile(rf"\b{re.escape(member.lower())}\b"), head))
        for stem in stems:
            alternatives.setdefault(stem, set()).update(stems)
    abbreviations = {str(k).lower(): str(v) for k, v in (data.get("abbreviations") or {}).items()}
    return Vocabulary({k: frozenset(v) for k, v in alternatives.items()}, tuple(phrases), abbreviations)


@functools.lru_cache(maxsize=1)
def weights() -> dict[str, float]:
    data = read_data_file(WEIGHTS) or {}
    found = data.get("weights") or {}
    return {name: float(found.get(name, 0.0)) for name in FEATURES}


def expand_question(question: str, definitions: Mapping[str, Mapping[str, int]]) -> str:
    """The question with the long form of each shorthand it uses appended, from the documents' own
    definitions ("MACC" -> "Microsoft Azure Consumption Commitment") or the abbreviations list ("PC")."""
    vocab = vocabulary()
    extra: list[str] = []
    for token in dict.fromkeys(re.findall(r"[A-Za-z][A-Za-z0-9&]{1,9}", question)):
        forms = definitions.get(token.upper()) if token.isupper() or token[:-1].isupper() else None
        if not forms and token.endswith("s") and token[:-1].isupper():
            forms = definitions.get(token[:-1].upper())
        if forms:
            extra.append(max(forms.items(), key=lambda kv: kv[1])[0])
        elif token.lower() in vocab.abbreviations and (token.isupper() or len(token) > 3):
            extra.append(vocab.abbreviations[token.lower()])
    return question + (" (" + "; ".join(dict.fromkeys(extra)) + ")" if extra else "")


@dataclass(frozen=True)
class Concept:
    weight: float
    words: frozenset[str]     # the stemmed word and its alternatives


def concepts(question: str, keywords: KeywordIndex) -> list[Concept]:
    """The question's content words, each with its synonyms and IDF weight; words no passage uses (and no
    synonym of them does) are left out, since no passage could cover them."""
    vocab = vocabulary()
    text = question.lower().replace("’", "'")
    for pattern, head in vocab.phrases:
        text = pattern.sub(f" {head} ", text)
    out: dict[str, Concept] = {}
    for word in terms(text):
        alternatives = vocab.alternatives.get(word, frozenset()) | {word}
        idf = max((keywords.idf(w) for w in alternatives if keywords.postings.get(w)), default=0.0)
        if idf > 0.0:
            out.setdefault(word, Concept(idf, frozenset(alternatives)))
    return list(out.values())


def coverage(found: Sequence[Concept], index: KeywordIndex, positions: Sequence[int]) -> np.ndarray:
    """Per position, the IDF-weighted share of the concepts whose word (or a synonym) its text holds."""
    total = sum(c.weight for c in found)
    if not total or not len(positions):
        return np.zeros(len(positions))
    held = np.zeros((len(found), index.count), dtype=bool)
    for row, concept in enumerate(found):
        for word in concept.words:
            held[row, index.holders(word)] = True
    weight = np.asarray([c.weight for c in found])
    return np.asarray(weight @ held[:, list(positions)], dtype=np.float64) / total


@dataclass
class Candidate:
    """The raw signals of one candidate passage, filled in by DocumentSearch."""

    position: int
    cos_text: float = 0.0
    cos_question: float = 0.0
    bm25: float = 0.0
    bm25_heading: float = 0.0
    rrf: float = 0.0
    subject: bool = False
    term: bool = False
    defines: bool = False


def feature_matrix(candidates: Sequence[Candidate], question_concepts: Sequence[Concept],
                   body: KeywordIndex, heading: KeywordIndex) -> np.ndarray:
    """One row per candidate, columns in FEATURES order; `body` and `heading` index the candidates' whole
    texts and their titles and headings, by position."""
    top_bm25 = max((c.bm25 for c in candidates), default=0.0) or 1.0
    top_heading = max((c.bm25_heading for c in candidates), default=0.0) or 1.0
    positions = [c.position for c in candidates]
    raw = np.asarray([(c.cos_text, c.cos_question, c.bm25 / top_bm25, c.bm25_heading / top_heading, 0.0, 0.0,
                       c.rrf * 20.0, float(c.subject), float(c.term), float(c.defines)) for c in candidates],
                     dtype=np.float64).reshape(len(candidates), len(FEATURES))
    raw[:, FEATURES.index("cover")] = coverage(question_concepts, body, positions)
    raw[:, FEATURES.index("cover_heading")] = coverage(question_concepts, heading, positions)
    return raw


def score(matrix: np.ndarray, weight: Mapping[str, float] | None = None) -> np.ndarray:
    w = weights() if weight is None else weight
    return matrix @ np.asarray([w.get(name, 0.0) for name in FEATURES], dtype=np.float64)


def fit(groups: Sequence[tuple[np.ndarray, int]], l2: float = 0.01, steps: int = 3000,
        rate: float = 0.5) -> dict[str, Any]:
    """Pairwise logistic regression: for each question, the right passage (row `index`) above every other
    candidate. Returns the weights by feature name. Plain gradient descent: a few hundred pairs."""
    diffs = [m[index] - np.delete(m, index, axis=0) for m, index in groups if index >= 0 and len(m) > 1]
    if not diffs:
        raise ValueError("no question with its right passage among the candidates")
    pairs = np.vstack(diffs)
    # every question weighs the same, however many candidates it has
    per = np.concatenate([np.full(len(d), 1.0 / len(d)) for d in diffs])
    w = np.zeros(pairs.shape[1])
    for _ in range(steps):
        margin = pairs @ w
        grad = -(pairs * (per / (1.0 + np.exp(margin)))[:, None]).sum(axis=0) / len(diffs) + l2 * w
        w -= rate * grad
    return {name: round(float(v), 4) for name, v in zip(FEATURES, w, strict=True)}
