"""Quiz mode for readiness sessions: three multiple-choice questions generated from the records.

No language model: every question is a fact from the solution map or the incentive rules, asked
back with options drawn from the same records. The correct option is true in the records and every
distractor is false in them ("Which workload is in play X?" offers only workloads that no map row
puts in X). Opportunities (the confidential pipeline), partners' confidential notes and documents
are never used. Generation is deterministic for a seed: the same subject and seed give the same quiz.

Modules: `model` (Quiz, QuizQuestion), `facts` (the records a quiz may use), `questions` (drafts per subject with
their distractors), `assembly` (choosing, drawing options, shuffling), `subjects` (what the user's words name,
`make_quiz`) and `scoring` (reading a reply).
"""
from __future__ import annotations

from retrieval.quiz.facts import incentive_citation
from retrieval.quiz.model import (
    CO_SELL_READY,
    LETTERS,
    MAX_OPTIONS,
    MIN_OPTIONS,
    NO_MINIMUM,
    QUESTIONS_PER_QUIZ,
    QUIZ_KINDS,
    Quiz,
    QuizQuestion,
    letter,
)
from retrieval.quiz.scoring import check_answer, describe, options_text
from retrieval.quiz.subjects import make_quiz, quiz_subjects, resolve

__all__ = [
    "CO_SELL_READY", "LETTERS", "MAX_OPTIONS", "MIN_OPTIONS", "NO_MINIMUM", "QUESTIONS_PER_QUIZ", "QUIZ_KINDS", "Quiz",
    "QuizQuestion", "check_answer", "describe", "incentive_citation", "letter", "make_quiz", "options_text",
    "quiz_subjects", "resolve",
]
