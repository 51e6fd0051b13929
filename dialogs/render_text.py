"""An answer view as Teams Markdown: the whole answer, in the fixed order of dialogs/answer_view.py.

This is what clients that cannot show the card read (the card's fallbackText, or the message text
outside Teams): every entry with all its reasons and their sources, gaps, wins, the profile, then
facts, notes, what is missing and the sources. Passages are quoted verbatim.
"""
from __future__ import annotations

from dialogs.answer_view import AnswerView, Entry, Section, more
from dialogs.render_gaps import gap_text


def _source(label: str) -> str:
    return f" — source: {label}" if label else ""


def entry_lines(entry: Entry, rank: int | None) -> list[str]:
    head = f"{rank}. {entry.headline}" if rank is not None else f"- {entry.headline}"
    lines = [head + (f" — {entry.meta}" if entry.meta else "")]
    lines += [f"   - {line.text}{_source(line.source)}" for line in entry.details]
    lines += [f"   - {label}: {value}" for label, value in entry.facts]
    return lines


def section_text(section: Section) -> str:
    if section.key == "passages":
        blocks = [f"{e.headline}\n\n{e.quote}" for e in section.entries]
        if section.hidden:
            blocks.append(more(section.hidden, section.hidden_noun))
        return "\n\n".join(blocks)
    lines = [f"**{section.heading}**"] if section.heading else []
    for rank, entry in enumerate(section.entries, 1):
        lines += entry_lines(entry, rank if section.numbered else None)
    if section.hidden:
        lines.append(more(section.hidden, section.hidden_noun))
    if section.note:
        lines.append(section.note)
    return "\n".join(lines)


def view_to_text(view: AnswerView) -> str:
    blocks: list[str] = [f"**{view.title}**" if view.title else "", view.sentence]
    if view.understood:
        blocks.append(f"Understood: {view.understood}")
    if view.gaps:
        blocks.append(gap_text(view.gaps, view.gap_hidden, view.gap_note))
    blocks += [section_text(s) for s in view.sections]
    if view.facts:
        blocks.append("\n".join([f"- **{label}:** {value}" for label, value in view.facts]
                                + ([more(view.facts_hidden)] if view.facts_hidden else [])))
    if view.notes:
        blocks.append("\n".join(["**Notes**"] + [f"- {n}" for n in view.notes]))
    if view.missing:
        blocks.append(f"**To answer this I need:** {', '.join(view.missing)}")
    if view.sources:
        lines = [f"- [{s.label}]({s.url})" if s.url else f"- {s.label}" for s in view.sources]
        blocks.append("\n".join(["**Sources**", *lines] + ([more(view.sources_hidden)] if view.sources_hidden else [])))
    return "\n\n".join(b for b in blocks if b)
