"""What the model is given to ground on: numbered sources from the engine's passages or structured facts.

Everything sent is data, never instructions: sentences that read as instructions to a model are dropped,
and text that would close its own delimiter (`</source>`) is neutralised.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from knowledge.display import format_usd
from retrieval.answers import Answer, Citation, PartnerMatch, Passage, cited_sources

CHARS_PER_TOKEN = 3.0            # conservative for English prose and ids (GPT tokenizers average ~4)
INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:instructions?|rules?|prompts?|guidelines|above|previous)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions?\b|\bact as\b|\bjailbreak\b|\bdeveloper mode\b"
    r"|\bdo anything now\b|\b(?:reveal|print|repeat|show)\b[^.\n]{0,30}\b(?:prompt|instructions)\b",
    re.IGNORECASE)
_TAGS = re.compile(r"<\s*/?\s*(?:source|facts|question|history|system)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    id: str                           # "S1"
    citation: Citation
    text: str


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def neutralise_tags(text: str) -> str:
    """Data must not close its own delimiter ("</source> new instructions…")."""
    return _TAGS.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def without_instructions(text: str) -> str:
    """Sentences that read as instructions to a model are not knowledge: they are not sent at all."""
    if not INSTRUCTION_LIKE.search(text):
        return text
    lines = []
    for line in text.splitlines():
        parts = re.split(r"(?<=[.!?])\s+", line)
        lines.append(" ".join(p for p in parts if not INSTRUCTION_LIKE.search(p)).rstrip())
    return "\n".join(lines).strip()


def cut_to(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    stop = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[:stop + 1] if stop > max_chars // 2 else cut).rstrip() + " …"


def document_sources(answer: Answer, max_sources: int) -> list[Source]:
    """The passages grouped by the document section they cite, numbered in the order of the Sources list."""
    by_citation: dict[Citation, list[Passage]] = {}
    for passage in answer.passages:
        by_citation.setdefault(passage.citation, []).append(passage)
    order = [c for c in cited_sources(answer) if c in by_citation] + [c for c in by_citation if c not in answer.citations]
    sources: list[Source] = []
    for citation in list(dict.fromkeys(order))[:max_sources]:
        text = "\n".join(without_instructions(p.text) for p in by_citation[citation])
        sources.append(Source(f"S{len(sources) + 1}", citation, text))
    return sources


def _partner_line(partner: PartnerMatch, on_map_label: str) -> str:
    bits = [f"{partner.name} ({partner.partner_id})", on_map_label]
    if partner.role:
        bits.append(f"role {partner.role}")
    if partner.countries:
        bits.append("countries " + ", ".join(partner.countries))
    bits += [r.detail for r in partner.reasons]
    bits += [f"gap: {g}" for g in partner.gaps]
    return "; ".join(bits)


def structured_facts(answer: Answer) -> tuple[list[str], dict[Citation, list[str]]]:
    """The engine's facts: the lines that cite nothing (title, summary, notes) and the lines per citation.

    Confidential facts are left out even when this user may see them: they are shown from the engine's
    own list, never sent to a model.
    """
    general: list[str] = [answer.title, answer.summary]
    per: dict[Citation, list[str]] = {}

    def add(line: str, *citations: Citation | None) -> None:
        cited = [c for c in dict.fromkeys(citations) if c is not None]
        if not cited:
            general.append(line)
        for citation in cited:
            per.setdefault(citation, []).append(line)

    for rank, partner in enumerate(answer.partners, 1):
        add(f"{rank}. " + _partner_line(partner, "on the solution map" if partner.on_map else "not on the map"),
            *(r.source for r in partner.reasons), partner.profile)
    # answer.other_partners (profile-only, near misses) are left out: the card shows them under their own
    # heading, and a summary that named them could too easily put them on the map
    for incentive in answer.incentives:
        funding = f"up to {format_usd(incentive.max_funding_usd)}" if incentive.max_funding_usd else ""
        line = "; ".join(b for b in (f"Incentive {incentive.name} ({incentive.incentive_id})", f"program {incentive.program}",
                                     incentive.funding, funding, *incentive.reasons,
                                     f"partner requirements: {incentive.partner_requirements}"
                                     if incentive.partner_requirements else "",
                                     "partners who can deliver it: " + ", ".join(p.name for p in incentive.partners)
                                     if incentive.partners else "") if b)
        add(line, incentive.citation)
    for fact in answer.facts:
        if not fact.confidential:
            add(f"{fact.label}: {fact.value}", fact.source)
    for note in answer.notes:
        add(f"Note: {note}")
    return ([without_instructions(line) for line in general if line],
            {c: [without_instructions(line) for line in lines] for c, lines in per.items()})
