"""What a readiness session keeps of an answer: its first sources, what it was ("the same answer") and its topic."""
from __future__ import annotations

from dialogs import render
from dialogs.session_store import Source
from retrieval.answers import Answer, AnswerKind

MAX_SOURCES_PER_QUESTION = 5


def answer_sources(answer: Answer) -> tuple[Source, ...]:
    """The first few distinct sources an answer cited: titles, paths and locators, never passages."""
    out: list[Source] = []
    for citation in render.source_citations(answer):
        source = Source(citation.title, citation.path, citation.locator)
        if source not in out:
            out.append(source)
        if len(out) >= MAX_SOURCES_PER_QUESTION:
            break
    return tuple(out)


def answer_key(title: str, sources: tuple[Source, ...]) -> str:
    """What an answer was, for "the same answer": its title and first source."""
    first = sources[0] if sources else None
    return f"{title}|{first.path}|{first.locator}" if first else title


def answer_topic(answer: Answer) -> str:
    """What the question was about, for grouping: the linked subject, else the first document cited."""
    u = answer.understood
    subject = [*u.workloads, *u.solution_plays, *u.solution_areas, *u.specializations, *u.designations, *u.programs]
    if subject:
        return ", ".join(subject[:3])
    if u.opportunities:
        return "Pipeline"
    if answer.kind is AnswerKind.DOCUMENT and answer.citations:
        return answer.citations[0].title
    return ""
