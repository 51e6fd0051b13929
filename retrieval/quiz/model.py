"""A quiz and its questions as the dialogs keep them (to and from the session's JSON), and the option letters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from retrieval.answers import Citation

QUIZ_KINDS = ("program", "solution_play", "solution_area", "incentive")
QUESTIONS_PER_QUIZ = 3
MAX_OPTIONS = 4
MIN_OPTIONS = 2
LETTERS = "ABCDEFGH"
CO_SELL_READY = "Co-sell ready status"
NO_MINIMUM = "No minimum"


@dataclass(frozen=True)
class QuizQuestion:
    prompt: str
    options: tuple[str, ...]
    correct: int                       # index into options
    explanation: str                   # one sentence: the fact behind the correct option
    source: Citation | None = None

    @property
    def answer(self) -> str:
        return self.options[self.correct]

    def to_dict(self) -> dict[str, Any]:
        source = None if self.source is None else {
            "title": self.source.title, "path": self.source.path, "locator": self.source.locator}
        return {"prompt": self.prompt, "options": list(self.options), "correct": self.correct,
                "explanation": self.explanation, "source": source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuizQuestion:
        raw = data.get("source")
        source = Citation(str(raw.get("title", "")), str(raw.get("path", "")), str(raw.get("locator", ""))) \
            if isinstance(raw, dict) else None
        return cls(str(data["prompt"]), tuple(str(o) for o in data["options"]), int(data["correct"]),
                   str(data.get("explanation", "")), source)


@dataclass(frozen=True)
class Quiz:
    subject: str                       # the canonical name of what the quiz is about
    kind: str                          # program | solution_play | solution_area | incentive
    questions: tuple[QuizQuestion, ...]
    quiz_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "kind": self.kind, "quiz_id": self.quiz_id,
                "questions": [q.to_dict() for q in self.questions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quiz:
        return cls(str(data["subject"]), str(data["kind"]),
                   tuple(QuizQuestion.from_dict(q) for q in data.get("questions") or []), str(data["quiz_id"]))


def letter(index: int) -> str:
    return LETTERS[index] if 0 <= index < len(LETTERS) else str(index + 1)
