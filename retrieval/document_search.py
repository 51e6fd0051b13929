"""Hybrid passage retrieval over program and FAQ documents: candidates from several rankings, then reranked.

Pipeline: expand the question's shorthand with the documents' own definitions ("MACC" -> "Microsoft
Azure Consumption Commitment"); embed it -> top 60 vectors by cosine from the index (whole chunks, and
FAQ questions alone); BM25 top 30 over the chunks and over their titles and headings; the passages that
mention a term the catalog does not know; score every candidate on several signals (retrieval/rerank.py)
and keep the best few the user may see.
Confidence comes from the raw scores, so a question the documents do not cover gets "nothing found"
rather than the least bad passage.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval import rerank
from retrieval.acronyms import TermLookup, asks_what_it_is
from retrieval.answers import Citation, Passage
from retrieval.index import HEADING_SUFFIX, DocumentIndex, StoredChunk
from retrieval.keyword import KeywordIndex, terms
from retrieval.rerank import Candidate

log = logging.getLogger(__name__)

_CANDIDATES = 30
_RRF_K = 60
# Below both of these, the documents do not answer the question (measured on the dev FAQ set:
# answered questions score ≥ 0.45 cosine; off-topic ones ≤ 0.35).
MIN_COSINE = 0.38
MIN_KEYWORD_SHARE = 0.5   # share of the question's informative terms found in the best chunk
# Above the floor but below both of these, the answer is shown and marked low-confidence (it goes to
# the knowledge-gaps log): every dev FAQ question answered well scores ≥ 0.45.
SURE_COSINE = 0.45
SURE_KEYWORD_SHARE = 0.75


@dataclass(frozen=True)
class SearchResult:
    passages: tuple[Passage, ...]
    confident: bool
    best_cosine: float
    best_share: float = 0.0
    # terms the catalog does not know that no document the user may see mentions either
    missing_terms: tuple[str, ...] = ()
    rerank_ms: float = 0.0

    @property
    def sure(self) -> bool:
        return self.confident and (self.best_cosine >= SURE_COSINE or self.best_share >= SURE_KEYWORD_SHARE)


class DocumentSearch:
    def __init__(self, index: DocumentIndex, embed_query: Callable[[str], Sequence[float]]) -> None:
        self.index = index
        self.embed_query = embed_query
        self.chunks: list[StoredChunk] = index.load()
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        bodies = [f"{c.title}\n{c.heading}\n{c.text}" for c in self.chunks]
        heads = [f"{c.title}\n{c.heading}" for c in self.chunks]
        self.keywords = KeywordIndex(bodies)
        self.headings = KeywordIndex(heads)
        self.terms = TermLookup(bodies)
        self.text_vectors, self.question_vectors = self._vectors()
        self.has_question = np.asarray([c.kind == "faq" and bool(c.heading) for c in self.chunks], dtype=bool)
        log.info("document search ready: %d chunks, %d shorthand terms defined in them", len(self.chunks),
                 len(self.terms.definitions))

    def _vectors(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The passage and FAQ-question vectors, one row per chunk (zeros where a chunk has no question)."""
        try:
            stored = self.index.vectors()
        except Exception:  # noqa: BLE001 - the reranker then uses the cosines the query returns
            log.warning("stored vectors unreadable: reranking with the query's cosines only", exc_info=True)
            return None, None
        if not stored or not self.chunks or any(c.id not in stored for c in self.chunks):
            return None, None
        text = np.asarray([stored[c.id] for c in self.chunks], dtype=np.float32)
        question = np.zeros_like(text)
        for i, chunk in enumerate(self.chunks):
            vector = stored.get(chunk.id + HEADING_SUFFIX)
            if vector is not None:
                question[i] = vector
        return text, question

    def search(self, question: str, can_see: Callable[[StoredChunk], bool], limit: int = 3,
               subjects: Sequence[str] = (), unknown_terms: Sequence[str] = ()) -> SearchResult:
        """`subjects`: names the question was linked to (a program, a specialization); chunks whose document
        title or section heading names one of them get one more ranking in the fusion, so "What does
        Azure Innovate offer?" quotes the Azure Innovate page rather than an FAQ that shares its verbs.
        `unknown_terms`: words the catalog does not know ("MACC"); passages that mention them (or their
        long form) are candidates and score higher; those no visible passage mentions are reported."""
        if not self.chunks:
            return SearchResult((), False, 0.0, missing_terms=tuple(unknown_terms))
        pool, matrix, missing, rerank_ms = self.candidates(question, can_see, subjects, unknown_terms)
        if not pool:
            return SearchResult((), False, 0.0, missing_terms=missing)
        started = time.perf_counter()
        scores = rerank.score(matrix)
        order = np.argsort(-scores, kind="stable")
        ranked = [pool[i] for i in order[:limit]]
        rerank_ms += (time.perf_counter() - started) * 1000
        best = ranked[0]
        best_cosine = max(best.cos_text, best.cos_question)
        query_terms = {t for t in terms(question) if self.keywords.idf(t) > 1.0}
        chunk = self.chunks[best.position]
        best_terms = set(terms(f"{chunk.title}\n{chunk.heading}\n{chunk.text}"))
        best_share = (len(query_terms & best_terms) / len(query_terms)) if query_terms else 0.0
        passages = tuple(self._passage(c, float(scores[order[i]])) for i, c in enumerate(ranked))
        # a term the catalog lacks that the documents use: the passages that use it do answer
        confident = best_cosine >= MIN_COSINE or best_share >= MIN_KEYWORD_SHARE or best.term
        log.debug("reranked %d candidates in %.2f ms", len(pool), rerank_ms)
        return SearchResult(passages, confident, best_cosine, best_share, missing, rerank_ms)

    def candidates(self, question: str, can_see: Callable[[StoredChunk], bool], subjects: Sequence[str] = (),
                   unknown_terms: Sequence[str] = (),
                   ) -> tuple[list[Candidate], np.ndarray, tuple[str, ...], float]:
        """The visible candidate passages and their feature rows (rerank.FEATURES), the unknown terms no
        visible passage mentions, and the milliseconds spent past the embedding and the index query."""
        expanded = rerank.expand_question(question, self.terms.definitions)
        vector = np.asarray(self.embed_query(expanded), dtype=np.float32)
        hits = self.index.query(vector.tolist(), 2 * _CANDIDATES)
        started = time.perf_counter()
        bm25 = self.keywords.score_array(expanded)
        bm25_heading = self.headings.score_array(expanded)
        candidates = self._candidates(hits, bm25, bm25_heading, subjects)
        mentions, defines, missing = self._term_hits(question, unknown_terms, can_see)
        added = 0
        for pos in sorted(mentions, key=lambda p: (p not in defines, -bm25[p])):
            if added >= _CANDIDATES:
                break
            if can_see(self.chunks[pos]):
                candidates.setdefault(pos, Candidate(pos))
                added += 1
        pool = [c for c in candidates.values() if can_see(self.chunks[c.position])]
        if not pool:
            return [], np.zeros((0, len(rerank.FEATURES))), missing, (time.perf_counter() - started) * 1000
        self._fill(pool, vector, hits, bm25, bm25_heading, mentions, defines)
        matrix = rerank.feature_matrix(pool, rerank.concepts(question, self.keywords), self.keywords, self.headings)
        return pool, matrix, missing, (time.perf_counter() - started) * 1000

    def _candidates(self, hits: list[tuple[str, float]], bm25: np.ndarray, bm25_heading: np.ndarray,
                    subjects: Sequence[str]) -> dict[int, Candidate]:
        """Every passage one of the rankings proposes, with its reciprocal-rank fusion score."""
        by_text: list[str] = []
        by_question: list[str] = []
        for cid, _ in hits:
            if cid.endswith(HEADING_SUFFIX):
                by_question.append(cid[: -len(HEADING_SUFFIX)])
            else:
                by_text.append(cid)
        rankings = [[self.position[c] for c in ranking if c in self.position] for ranking in (by_text, by_question)]
        rankings.append(_top(bm25))
        out: dict[int, Candidate] = {}
        for ranking in rankings:
            for rank, pos in enumerate(ranking):
                out.setdefault(pos, Candidate(pos)).rrf += 1.0 / (_RRF_K + rank)
        for pos in _top(bm25_heading):
            out.setdefault(pos, Candidate(pos))
        names = [n.lower() for n in subjects if len(n) >= 3]
        if names:
            on_subject = [c for c in sorted(out.values(), key=lambda c: -c.rrf)
                          if any(n in f"{self.chunks[c.position].title}\n{self.chunks[c.position].heading}".lower()
                                 for n in names)]
            for rank, candidate in enumerate(on_subject):
                candidate.rrf += 1.0 / (_RRF_K + rank)
                candidate.subject = True
        return out

    def _term_hits(self, question: str, unknown_terms: Sequence[str], can_see: Callable[[StoredChunk], bool],
                   ) -> tuple[set[int], set[int], tuple[str, ...]]:
        """Visible passages that mention an unknown term; those that spell it out when the question asks
        what the term is; the terms no visible passage mentions."""
        mentions: set[int] = set()
        defines: set[int] = set()
        missing: list[str] = []
        for term in dict.fromkeys(t for t in unknown_terms if t.strip()):
            hits = self.terms.lookup(term)
            if not any(can_see(self.chunks[p]) for p in hits.mentions):
                missing.append(term)
                continue
            mentions |= hits.mentions      # the candidates are filtered by can_see later, like every other
            if asks_what_it_is(question, term):
                defines |= hits.defines
        return mentions, defines, tuple(missing)

    def _fill(self, pool: list[Candidate], vector: np.ndarray, hits: list[tuple[str, float]], bm25: np.ndarray,
              bm25_heading: np.ndarray, mentions: set[int], defines: set[int]) -> None:
        positions = [c.position for c in pool]
        if self.text_vectors is not None and self.question_vectors is not None:
            cos_text = self.text_vectors[positions] @ vector
            cos_question = self.question_vectors[positions] @ vector
            # a section without a question of its own: its passage is the best estimate (a zero would rank
            # every FAQ entry above every document section)
            cos_question = np.where(self.has_question[positions], cos_question, cos_text)
        else:   # only the cosines the index query returned; the rest at the lowest of those
            found: dict[str, float] = dict(hits)
            floor = min(found.values(), default=0.0)
            cos_text = np.asarray([found.get(self.chunks[p].id, floor) for p in positions])
            cos_question = np.asarray([found.get(self.chunks[p].id + HEADING_SUFFIX, cos_text[i])
                                       for i, p in enumerate(positions)])
        for i, candidate in enumerate(pool):
            pos = candidate.position
            candidate.cos_text, candidate.cos_question = float(cos_text[i]), float(cos_question[i])
            candidate.bm25, candidate.bm25_heading = float(bm25[pos]), float(bm25_heading[pos])
            candidate.term, candidate.defines = pos in mentions, pos in defines

    def _passage(self, candidate: Candidate, score: float) -> Passage:
        chunk = self.chunks[candidate.position]
        return Passage(text=chunk.text, heading=chunk.heading, score=round(score, 4),
                       citation=Citation(chunk.title or chunk.doc_path, chunk.doc_path,
                                         f"section '{chunk.heading}'" if chunk.heading else ""))


def _top(scores: np.ndarray, limit: int = _CANDIDATES) -> list[int]:
    """Positions of the best `limit` scores above zero, best first."""
    if len(scores) > limit:
        best = np.argpartition(-scores, limit)[:limit]
    else:
        best = np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    return [int(p) for p in best if scores[p] > 0]


def stored_chunk_visible(may_see: Callable[[Iterable[str]], bool]) -> Callable[[Any], bool]:
    """A filter for stored chunks: public ones, and confidential ones `may_see` allows (UserContext.may_see)."""
    def can_see(chunk: StoredChunk) -> bool:
        if chunk.visibility != "confidential":
            return True
        return may_see(chunk.allowed_groups or ("ecm",))
    return can_see
