"""An answer view as an Adaptive Card 1.5: the short answer first, the details on demand.

The first view is the answer sentence, what was understood, the main list's first FIRST_VIEW entries
(each a headline, a one-line why in words and the contact), the "Show details" / "Show all N" toggles
and a short sources line. Everything else (every reason with its source, gaps, wins, the other lists,
passages in full, notes, the full source list, follow-up questions) is in the same card behind
`Action.ToggleVisibility`, in the same order as the text, so the card reads the same to anyone who
reads it whole. Text styles are data (templates/cards.json).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from dialogs.answer_view import FIRST_VIEW, FIRST_VIEW_FACTS, FIRST_VIEW_SOURCES, AnswerView, Entry, Section, more, teaser
from dialogs.card_actions import attach_action_set, imback_action
from dialogs.render_gaps import gap_card_items

ADAPTIVE_CARD_VERSION = "1.5"
_LAYOUT = Path(__file__).with_name("templates") / "cards.json"


@cache
def layout() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_LAYOUT.read_text(encoding="utf-8"))
    return data


def text_block(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def styled(role: str, text: str, **props: Any) -> dict[str, Any]:
    """A TextBlock in one of the card's roles (title, why, contact, detail, …)."""
    return text_block(text, **{**layout()["styles"][role], **props})


def phrase(name: str, **values: Any) -> str:
    return str(layout()["phrases"][name]).format(**values)


def heading(text: str) -> dict[str, Any]:
    return styled("heading", text)


def fact_set(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in pairs]}


def container(items: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": "Container", "items": items, **props}


def hidden(element_id: str, items: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return container(items, id=element_id, isVisible=False, **props)


def adaptive_card(body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    # no Teams "msteams": {"width": "Full"}: the 1.5 schema forbids extra properties on the card
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": ADAPTIVE_CARD_VERSION,
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "body": body}
    if actions:
        card["actions"] = list(actions)
    return card


class _Ids:
    """Element ids for the toggles: every detail container, and the rest of the main list."""

    def __init__(self) -> None:
        self.details: list[str] = []
        self.rest: list[str] = []
        self._count = 0

    def new(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"


def _entry(entry: Entry, rank: int | None, ids: _Ids, *, compact: bool) -> dict[str, Any]:
    """One entry: headline, why and contact in view; meta, every reason with its source, gaps, wins hidden."""
    headline = entry.short or entry.headline
    items = [styled("headline", f"{rank}. {headline}" if rank is not None else headline)]
    if entry.why:
        items.append(styled("why", entry.why))
    if entry.contact:
        items.append(styled("contact", phrase("contact", contact=entry.contact)))
    if entry.quote:
        items.append(styled("teaser" if compact else "quote", teaser(entry.quote) if compact else entry.quote))
    if entry.decide is not None:
        items.append(attach_action_set(*entry.decide))
    details = [styled("meta", entry.meta)] if entry.meta else []
    for line in entry.details:
        if line.kind == "contact":
            continue
        text = f"• {line.text}" + (f" — source: {line.source}" if line.source else "")
        details.append(styled("gap" if line.kind == "gap" else "detail", text))
    if entry.facts:
        details.append(fact_set(entry.facts))
    if entry.quote and compact and teaser(entry.quote) != entry.quote:
        details.append(styled("quote", entry.quote))
    if details:
        details_id = ids.new("details-")
        ids.details.append(details_id)
        items.append(hidden(details_id, details))
    return container(items, spacing="Small")


def _section(section: Section, ids: _Ids) -> list[dict[str, Any]]:
    """A section: in view (its first entries; the rest behind "Show all N") or wholly behind "Show details"."""
    compact = section.key == "passages"
    head = [heading(section.heading)] if section.heading else []
    entries = [_entry(e, rank if section.numbered else None, ids, compact=compact)
               for rank, e in enumerate(section.entries, 1)]
    tail = ([styled("note", more(section.hidden, section.hidden_noun))] if section.hidden else []) + \
        ([styled("note", section.note)] if section.note else [])
    if not section.first_view:
        element_id = ids.new(f"more-{section.key}-")
        ids.details.append(element_id)
        return [hidden(element_id, head + entries + tail, **({"style": section.style} if section.style else {}))]
    body = head + entries[:FIRST_VIEW]
    if len(entries) > FIRST_VIEW or tail:
        element_id = ids.new(f"rest-{section.key}-")
        ids.rest.append(element_id)
        body.append(hidden(element_id, entries[FIRST_VIEW:] + tail))
    return body


def _toggles(view: AnswerView, ids: _Ids) -> list[dict[str, Any]]:
    actions = []
    if ids.details:
        actions.append({"type": "Action.ToggleVisibility", "title": phrase("show_details"),
                        "targetElements": list(ids.details)})
    main = view.main
    if ids.rest and main is not None:
        actions.append({"type": "Action.ToggleVisibility", "title": phrase("show_all", count=len(main.entries)),
                        "targetElements": list(ids.rest)})
    return [{"type": "ActionSet", "spacing": "Small", "actions": actions}] if actions else []


def _source_text(label: str, url: str) -> str:
    return f"[{label}]({url})" if url else label


def view_to_card(view: AnswerView, *, workflow: Sequence[dict[str, Any]] = (),
                 suggestions: Sequence[str] = (), brief: bool = False, sentence: bool = True) -> dict[str, Any]:
    """The card: first view plus hidden details. `workflow`: a channel manager's export / share buttons;
    `sentence=False` when the message's text above the card already says it."""
    ids = _Ids()
    body: list[dict[str, Any]] = []
    if view.title:
        body.append(styled("title", view.title))
    if view.sentence and sentence:
        body.append(styled("sentence", view.sentence))
    if view.understood:
        body.append(styled("understood", f"Understood: {view.understood}"))
    if workflow:
        body.append({"type": "ActionSet", "actions": list(workflow)})
    if brief:
        body.append(styled("note", "The full answer is in the message text."))
        return adaptive_card(body)
    if view.gaps:
        body += gap_card_items(view.gaps, view.gap_hidden, view.gap_note, image=view.gap_image)
    for section in view.sections:
        body += _section(section, ids)
    if view.facts:
        body.append(fact_set(view.facts[:FIRST_VIEW_FACTS]))
        rest = [fact_set(view.facts[FIRST_VIEW_FACTS:])] if view.facts[FIRST_VIEW_FACTS:] else []
        rest += [styled("note", more(view.facts_hidden))] if view.facts_hidden else []
        if rest:
            ids.details.append("facts-more")
            body.append(hidden("facts-more", rest))
    later: list[dict[str, Any]] = []
    if view.notes:
        later += [heading("Notes")] + [styled("detail", f"• {n}") for n in view.notes]
    if suggestions:
        later.append({"type": "ActionSet", "spacing": "Medium",
                      "actions": [imback_action(q) for q in suggestions]})
    if later:
        ids.details.append("later")
        body.append(hidden("later", later))
    if view.missing:
        body.append(styled("missing", f"To answer this I need: {', '.join(view.missing)}"))
    sources: list[dict[str, Any]] = []
    if view.sources:
        # the first view names each file once (its rows and sections are in the full list)
        files = list({s.file or s.label: s for s in view.sources}.values())
        shown = files[:FIRST_VIEW_SOURCES]
        line = f"{phrase('sources')}: " + " · ".join(_source_text(s.file or s.label, s.url) for s in shown)
        if len(files) > len(shown) or view.sources_hidden:
            line += " · " + phrase("more_sources", count=len(files) - len(shown) + view.sources_hidden)
        sources.append(styled("sources", line))
        if len(view.sources) > len(shown) or view.sources_hidden:
            extra = [styled("source", f"• {_source_text(s.label, s.url)}") for s in view.sources]
            extra += [styled("source", more(view.sources_hidden))] if view.sources_hidden else []
            ids.details.append("sources-more")
            sources.append(hidden("sources-more", extra))
    return adaptive_card(body + _toggles(view, ids) + sources)
