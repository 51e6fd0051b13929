"""The prompt for one call: the data file's sections (data/prompts/grounded_answer.md) filled with the sources,
the question and the recent history, all cut to the input-token budget."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from retrieval.answers import Answer, AnswerKind, cited_sources
from retrieval.generation.contract import GenerationLimits
from retrieval.generation.sources import (
    CHARS_PER_TOKEN,
    Source,
    cut_to,
    document_sources,
    neutralise_tags,
    structured_facts,
)

PROMPT_FILE = Path(__file__).resolve().parent.parent / "data" / "prompts" / "grounded_answer.md"
DOCUMENT_KINDS = frozenset({AnswerKind.DOCUMENT})
# Pipeline, opportunity, attach, gaps and decision answers are confidential records: they never go to a model.
STRUCTURED_KINDS = frozenset({AnswerKind.COVERAGE, AnswerKind.SPECIALIZATION, AnswerKind.INCENTIVE,
                              AnswerKind.PROFILE})


@dataclass(frozen=True)
class Prompt:
    messages: list[tuple[str, str]]   # (role, content), role in system | user
    sources: tuple[Source, ...]      # numbered S1..Sn; a generated answer lists them first under Sources
    support: str                      # everything the model was given, for the checks of structured answers
    truncated: bool


@cache
def prompt_sections(path: Path = PROMPT_FILE) -> dict[str, str]:
    text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    sections: dict[str, str] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        sections[name.strip()] = body.strip() + "\n"
    missing = {"system", "document_task", "structured_task"} - set(sections)
    if missing:
        raise ValueError(f"{path}: missing prompt sections {', '.join(sorted(missing))}")
    return sections


def _source_blocks(sources: Sequence[Source]) -> str:
    return "\n\n".join(f'<source id="{s.id}" title="{neutralise_tags(s.citation.label()).replace(chr(34), chr(39))}">\n'
                       f"{neutralise_tags(s.text)}\n</source>" for s in sources)


def build_prompt(question: str, answer: Answer, limits: GenerationLimits, history: Sequence[str] = ()) -> Prompt | None:
    """The messages for one call, within `limits.max_input_tokens`; None when there is nothing to ground on."""
    sections = prompt_sections()
    structured = answer.kind in STRUCTURED_KINDS
    facts: list[str] = []
    if structured:
        facts, per = structured_facts(answer)
        if not (answer.partners or answer.incentives or answer.facts):
            return None
        order = [c for c in cited_sources(answer) if c in per] + list(per)      # the Sources list's order first
        sources = [Source(f"S{i}", c, "\n".join(per[c])) for i, c in enumerate(dict.fromkeys(order), 1)]
        sources = sources[:limits.max_sources]
        if not sources:
            return None
    else:
        sources = document_sources(answer, limits.max_sources)
        if not sources:
            return None
    budget = int(limits.max_input_tokens * CHARS_PER_TOKEN)
    task = sections["structured_task" if structured else "document_task"]
    fixed = len(sections["system"]) + len(task) + 200
    truncated = False
    # the question and the history get bounded shares first; the sources get the rest
    question = (question or "").strip()
    question_cap = max(200, budget // 5)
    if len(question) > question_cap:
        question, truncated = cut_to(question, question_cap), True
    history_cap = max(0, budget // 10)
    kept_history: list[str] = []
    for turn in reversed([h.strip() for h in history if h and h.strip()]):
        room = history_cap - sum(len(h) for h in kept_history)
        if len(turn) > room:
            truncated = True
            if room >= 80:          # the newest turns matter most: a long one is cut, not dropped
                kept_history.insert(0, cut_to(turn, room))
            break
        kept_history.insert(0, turn)
    history_block = ("<history>\n" + "\n".join(f"- {neutralise_tags(h)}" for h in kept_history)
                     + "\n</history>\n\n") if kept_history else ""
    facts_text = "\n".join(facts)
    remaining = budget - fixed - len(question) - len(history_block)
    if structured:
        facts_cap = max(300, remaining // 2)
        if len(facts_text) > facts_cap:
            facts_text, truncated = cut_to(facts_text, facts_cap), True
        remaining -= len(facts_text)
    fitted: list[Source] = []
    for source in sources:
        overhead = len(source.citation.label()) + 40
        room = remaining - overhead
        if room < 200:
            truncated = True
            break
        text = source.text
        if len(text) > room:
            text, truncated = cut_to(text, room), True
        fitted.append(replace(source, text=text))
        remaining -= len(text) + overhead
    if not fitted:
        return None
    user = task.format(
        max_sentences=limits.max_sentences_structured if structured else limits.max_sentences_document,
        history=history_block, question=neutralise_tags(question), facts=neutralise_tags(facts_text),
        sources=_source_blocks(fitted))
    support = "\n".join([facts_text, *(s.text for s in fitted)])
    return Prompt([("system", sections["system"]), ("user", user)], tuple(fitted), support, truncated)
