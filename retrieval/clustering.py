"""Near-duplicate questions: the same meaning (embedding similarity) about the same facts (linking).

Embeddings alone merge "Who covers AKS in Germany?" with "Who covers AKS in France?" (cosine 0.87 with
MiniLM) and keep "Who can do AKS for a retail customer in Poland?" apart from "Which partners cover
Azure Kubernetes Service for retail in Poland?" (cosine < 0.6: the abbreviation). For this bot the
first pair are different questions and the second the same one. So two questions are the same when
their normalised wording is identical, or when they got the same kind of answer and
  * the facts the linker found in them do not disagree: the same workloads, places, industries,
    segments, deal size, partners, opportunities, programs… A fact that only one of them names
    counts as a disagreement for the facts that narrow an answer (a place, a filter, an id), and is
    tolerated for the subject (a paraphrase may name the program once and lean on context the next time);
  * and either the answer is built from those facts alone (coverage, incentives, specializations,
    pipeline…: equal facts give an equal answer) and they are all equal, or their MiniLM vectors are
    close (cosine ≥ DUPLICATE_COSINE): document questions, where the wording is the question; or
    they got the very same answer (same title and first source) and are moderately close (cosine ≥
    SAME_ANSWER_COSINE): the casual rewrite of an FAQ question that found the same FAQ entry.

`cluster` groups a list greedily in the order asked, each question joining the first cluster whose
first question it duplicates: the same rule the bot applies live, so the digest's clusters are what
users saw. Thresholds are measured by `python -m bench.clusters` on the dev FAQ paraphrases.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.answers import Understood

DUPLICATE_COSINE = 0.80
# Two questions that got the very same answer (the same passage) need less: pointing one to the other
# loses nothing even when they are not quite the same question.
SAME_ANSWER_COSINE = 0.60
# The facts that change an answer: any difference, including one side not naming it, is a new question.
_NARROWING = ("countries", "industries", "segments", "partner_ids", "opportunities", "deal_usd", "value_min",
              "value_max", "unknown_terms")
# The subject: both naming it differently is a new question; one leaving it implicit is not.
_SUBJECT = ("workloads", "solution_plays", "solution_areas", "specializations", "designations", "programs")
# Answers computed from the linked facts only: the same facts give the same answer, whatever the wording.
FACT_ANSWERS = frozenset({"coverage", "specialization", "incentive", "pipeline", "attach", "opportunity", "profile",
                          "gaps"})
_WORDS = re.compile(r"[\w$€£%.-]+")


@dataclass(frozen=True)
class Signature:
    """What a question is, for comparing it with others: its normalised text, vector and linked facts."""

    text: str
    vector: tuple[float, ...] = ()
    facts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kind: str = ""            # the answer's kind (AnswerKind value); "" when unknown
    answer: str = ""          # what was answered: title and first source ("" when unknown)


def normalise(question: str) -> str:
    return " ".join(_WORDS.findall(question.lower())).strip(" .-")


def facts_of(understood: Understood) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name in (*_NARROWING, *_SUBJECT):
        value = getattr(understood, name)
        if value is None or value == ():
            continue
        values = value if isinstance(value, tuple) else (value,)
        out[name] = tuple(sorted(str(v).lower() for v in values))
    return out


def signature(question: str, vector: Sequence[float] | None, understood: Understood, kind: str = "",
              answer: str = "") -> Signature:
    return Signature(normalise(question), tuple(_unit(vector)) if vector else (), facts_of(understood), kind, answer)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x * y for x, y in zip(a, b, strict=True))


def facts_agree(a: dict[str, tuple[str, ...]], b: dict[str, tuple[str, ...]], kind: str = "") -> bool:
    for name in _NARROWING:
        if name == "unknown_terms" and kind == "document":
            continue    # words the catalog does not know ("sept", "ISVs", "MSFT"): the passage answered decides
        if a.get(name, ()) != b.get(name, ()):
            return False
    for name in _SUBJECT:
        if name in a and name in b and a[name] != b[name]:
            return False
    return True


def is_duplicate(new: Signature, earlier: Signature, threshold: float = DUPLICATE_COSINE) -> bool:
    if new.text and new.text == earlier.text:
        return True
    if new.kind != earlier.kind or not facts_agree(new.facts, earlier.facts, new.kind):
        return False
    if new.kind in FACT_ANSWERS and new.facts and new.facts == earlier.facts:
        return True
    similarity = cosine(new.vector, earlier.vector)
    if new.answer and new.answer == earlier.answer and similarity >= SAME_ANSWER_COSINE:
        return True
    return similarity >= threshold


def first_duplicate(new: Signature, earlier: Sequence[Signature], threshold: float = DUPLICATE_COSINE) -> int | None:
    """The index of the earliest question `new` repeats (the best-matching one among ties), or None."""
    best: tuple[float, int] | None = None
    for i, other in enumerate(earlier):
        if is_duplicate(new, other, threshold):
            score = 2.0 if new.text == other.text else cosine(new.vector, other.vector)
            if best is None or score > best[0] + 1e-9:
                best = (score, i)
    return best[1] if best else None


def cluster(signatures: Sequence[Signature], threshold: float = DUPLICATE_COSINE) -> list[list[int]]:
    """Greedy clustering in order: each question joins the cluster of the first question it duplicates."""
    clusters: list[list[int]] = []
    heads: list[Signature] = []
    for i, sig in enumerate(signatures):
        found = first_duplicate(sig, heads, threshold)
        if found is None:
            clusters.append([i])
            heads.append(sig)
        else:
            clusters[found].append(i)
    return clusters


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
