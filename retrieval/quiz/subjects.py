"""What a quiz is about: the program, solution play, solution area or incentive a user's words name, and the quiz
built for the best of them."""
from __future__ import annotations

import difflib
import re
from collections import defaultdict

from retrieval.catalog import Catalog, normalize
from retrieval.quiz.assembly import build_quiz, usable
from retrieval.quiz.facts import Facts, load_facts
from retrieval.quiz.model import QUESTIONS_PER_QUIZ, QUIZ_KINDS, Quiz
from retrieval.quiz.questions import drafts_for

_KIND_PRIORITY = {kind: rank for rank, kind in enumerate(QUIZ_KINDS)}
_FUZZY_CUTOFF = 0.8
_SUBJECT_NOISE = re.compile(
    r"^(?:the|a|an)\s+|\s+(?:program(?:me)?|solution\s+play|play|solution\s+area|area|incentives?|rules?)$",
    re.IGNORECASE)
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")
_BRAND = ("azure ", "microsoft ")


def _keys(name: str) -> set[str]:
    """The forms a user may type for a name: as is, without its bracket, the bracket (an acronym), '&' as 'and'."""
    keys = {name}
    bracket = _PAREN.search(name)
    if bracket:
        keys |= {name[: bracket.start()], bracket.group(1)}
    for key in list(keys):
        keys.add(key.replace("&", " and "))
        keys.add(re.sub(r"\band\b", "&", key))
        for prefix in _BRAND:
            if key.lower().startswith(prefix) and len(key) - len(prefix) >= 4:
                keys.add(key[len(prefix):])
    return {k for k in (normalize(k) for k in keys) if k}




def _candidates(facts: Facts) -> list[tuple[str, str, set[str]]]:
    """(kind, name, keys) for everything a quiz can be about; names are incentive ids for incentives."""
    if facts.candidates is not None:
        return facts.candidates
    out: list[tuple[str, str, set[str]]] = []
    vocabulary = facts.catalog.vocabulary
    aliases: dict[tuple[str, str], set[str]] = defaultdict(set)
    for phrase, entities in vocabulary.phrases.items():
        for entity in entities:
            aliases[(entity.kind, entity.name)].add(phrase)
    for kind, names in (("program", facts.programs), ("solution_play", facts.plays), ("solution_area", facts.areas)):
        for name in names:
            out.append((kind, name, _keys(name) | aliases.get((kind, name), set())))
    for rule in facts.incentives:
        out.append(("incentive", rule.id, _keys(rule.name) | _keys(rule.id) | aliases.get(("incentive", rule.id), set())))
    facts.candidates = out
    return out


def _clean(subject: str) -> str:
    text = " ".join((subject or "").replace("’", "'").split()).strip(" \"'“”‘’?!.:")
    previous = None
    while previous != text:
        previous, text = text, _SUBJECT_NOISE.sub("", text).strip()
    return normalize(text)


def _score(wanted: str, keys: set[str]) -> float:
    best = 0.0
    padded = f" {wanted} "
    for key in keys:
        if key == wanted:
            return 1.0
        ratio = difflib.SequenceMatcher(None, wanted, key).ratio()
        if ratio >= _FUZZY_CUTOFF:
            best = max(best, 0.6 + 0.3 * ratio)
        # a whole name inside what was typed ("the ECIF rules"), or what was typed inside a name ("data & ai")
        if len(key) >= 4 and f" {key} " in padded:
            best = max(best, 0.6 + 0.2 * len(key) / len(wanted))
        elif len(wanted) >= 5 and f" {wanted} " in f" {key} ":
            best = max(best, 0.55 + 0.2 * len(wanted) / len(key))
    return best


def _ranked(facts: Facts, subject: str) -> list[tuple[float, str, str]]:
    """(score, kind, name) for every quizzable thing the subject may name, best first."""
    wanted = _clean(subject)
    if not wanted:
        return []
    scored = []
    for kind, name, keys in _candidates(facts):
        score = _score(wanted, keys)
        if score > 0:
            scored.append((-score, _KIND_PRIORITY[kind], name, kind))
    scored.sort()
    return [(-negative, kind, name) for negative, _, name, kind in scored]


def resolve(catalog: Catalog, subject: str) -> list[tuple[str, str]]:
    """(kind, name) pairs the subject names, best first (incentives by id); empty when it names nothing."""
    return [(kind, name) for _, kind, name in _ranked(load_facts(catalog), subject)]


def make_quiz(catalog: Catalog, subject: str, *, seed: int) -> Quiz | None:
    """Three questions on a program, solution play, solution area or incentive; None when nothing resolves
    (or the records hold no fact to ask about it)."""
    facts = load_facts(catalog)
    ranked = _ranked(facts, subject)
    if not ranked:
        return None
    best_score = ranked[0][0]
    fallback: Quiz | None = None
    # equally good matches ("Security" the program and the solution area): the first with three questions wins;
    # a weaker match is only tried when the best ones have no facts at all
    for score, kind, name in ranked:
        if fallback is not None and score < best_score:
            break
        quiz = build_quiz(facts, kind, name, seed)
        if quiz is None:
            continue
        if len(quiz.questions) >= QUESTIONS_PER_QUIZ:
            return quiz
        if fallback is None or len(quiz.questions) > len(fallback.questions):
            fallback = quiz
    return fallback


def quiz_subjects(catalog: Catalog, limit: int = 8) -> list[str]:
    """Subjects with enough facts for a quiz: programs, solution plays and solution areas, taken in turn."""
    facts = load_facts(catalog)
    pools = [[("program", n) for n in facts.programs], [("solution_play", n) for n in facts.plays],
             [("solution_area", n) for n in facts.areas]]
    out: list[str] = []
    while len(out) < limit and any(pools):
        for pool in pools:
            while pool:
                kind, name = pool.pop(0)
                if name.lower() not in {o.lower() for o in out} and usable(drafts_for(facts, kind, name)):
                    out.append(name)
                    break
            if len(out) >= limit:
                break
    return out
