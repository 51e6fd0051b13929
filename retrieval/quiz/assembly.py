"""From drafts to a quiz: drafts with enough options, one question per family, distractors drawn, options shuffled.

Deterministic for a seed: the random generator is seeded with the subject and the seed.
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable

from retrieval.quiz.facts import Draft, Facts
from retrieval.quiz.model import MAX_OPTIONS, MIN_OPTIONS, QUESTIONS_PER_QUIZ, Quiz, QuizQuestion
from retrieval.quiz.questions import drafts_for


def usable(drafts: Iterable[Draft]) -> list[Draft]:
    out = []
    for draft in drafts:
        wrong = tuple(w for w in draft.wrong if w.lower() != draft.correct.lower())
        if len(wrong) + 1 >= MIN_OPTIONS:
            out.append(draft if wrong == draft.wrong else _replace_wrong(draft, wrong))
    return out


def _replace_wrong(draft: Draft, wrong: tuple[str, ...]) -> Draft:
    return Draft(draft.family, draft.prompt, draft.correct, wrong, draft.explanation, draft.source,
                  tuple(n for n in draft.near if n in wrong))




def _choose(drafts: list[Draft], rng: random.Random, count: int) -> list[Draft]:
    """`count` drafts with distinct prompts, one family at a time so the quiz asks different things."""
    families: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        families[draft.family].append(draft)
    order = sorted(families)
    rng.shuffle(order)
    for family in order:
        rng.shuffle(families[family])
    chosen: list[Draft] = []
    prompts: set[str] = set()
    while len(chosen) < count and any(families.values()):
        for family in order:
            pending = families[family]
            while pending:
                draft = pending.pop()
                if draft.prompt not in prompts:
                    chosen.append(draft)
                    prompts.add(draft.prompt)
                    break
            if len(chosen) >= count:
                break
    return chosen


def _question(draft: Draft, rng: random.Random) -> QuizQuestion:
    wanted = MAX_OPTIONS - 1
    near = [w for w in draft.near if w in draft.wrong]
    distractors = rng.sample(near, min(len(near), wanted))
    rest = [w for w in draft.wrong if w not in distractors]
    distractors += rng.sample(rest, min(len(rest), wanted - len(distractors)))
    options = [draft.correct, *distractors]
    rng.shuffle(options)
    return QuizQuestion(draft.prompt, tuple(options), options.index(draft.correct), draft.explanation, draft.source)


def build_quiz(facts: Facts, kind: str, name: str, seed: int) -> Quiz | None:
    drafts = usable(drafts_for(facts, kind, name))
    if not drafts:
        return None
    rng = random.Random(f"{kind}|{name}|{seed}")
    questions = tuple(_question(d, rng) for d in _choose(drafts, rng, QUESTIONS_PER_QUIZ))
    digest = hashlib.sha1(f"{kind}|{name}|{seed}".encode()).hexdigest()[:12]
    return Quiz(_label(facts, kind, name), kind, questions, f"quiz-{digest}")


def _label(facts: Facts, kind: str, name: str) -> str:
    if kind == "incentive":
        return next((i.name for i in facts.incentives if i.id == name), name)
    return name
