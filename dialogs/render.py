"""Answers as Teams messages: an Adaptive Card 1.5 with the short answer first, and its Markdown text.

One `Answer` becomes one view (dialogs/answer_view.py), built once and read by two renderers: the card
(dialogs/render_card.py: the sentence, the top three entries with a one-line why and the contact,
"Show details" / "Show all N" for everything else) and the text (dialogs/render_text.py: the whole
answer as Markdown, the card's fallbackText). Nothing is added that the Answer does not hold, and the
order is fixed: title and summary first, then partners in the given rank order, other partners,
incentives, opportunities, passages, facts, notes, and the sources last. Readers (and the evaluation
harness) take the first mention of a partner as its rank, so partner names must not appear anywhere
before the ranked list (card buttons carry ids, never names).

Channel managers (group "ecm", in a 1:1 chat: `manage=True`) also get the workflow buttons (dialogs/
card_actions.py). Document passages are quoted verbatim, with markup made inert (dialogs/markup.py).
Every activity stays under MAX_ACTIVITY_BYTES: long answers are shortened step by step (fewer list
entries with "… and N more", shorter later passages, then a brief card) and the first passage is never
cut below FIRST_PASSAGE_MIN_CHARS.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from dialogs.answer_view import (  # noqa: F401  (the renderer's public names, used across dialogs/ and tests)
    FIRST_PASSAGE_MIN_CHARS,
    FULL,
    OTHER_PARTNERS_NEAR,
    OTHER_PARTNERS_OFF_MAP,
    Limits,
    build_view,
    decision_history_line,
    money,
    shorten,
)
from dialogs.card_actions import (  # noqa: F401
    FEEDBACK_KEY,
    DecisionRequest,
    ExportRequest,
    decision_of,
    export_of,
    feedback_actions,
    feedback_of,
    imback_action,
    sort_action,
    workflow_actions,
)
from dialogs.markup import inert_value
from dialogs.render_card import adaptive_card, container, fact_set, heading, text_block, view_to_card  # noqa: F401
from dialogs.render_gaps import GAP_COLUMNS, gap_row  # noqa: F401
from dialogs.render_text import view_to_text
from dialogs.reply import ADAPTIVE_CARD_CONTENT_TYPE, Reply, im_back  # noqa: F401
from retrieval.answers import Answer, Citation, cited_sources

MAX_ACTIVITY_BYTES = 76_000          # UTF-16 bytes: under Teams' 80 KB advice, with room for the addressing added later
MAX_SUGGESTIONS = 5

TEMPLATES = Path(__file__).with_name("templates")


@cache
def messages() -> dict[str, Any]:
    """User-facing phrases (welcome, help, prompts, apology) kept as data in templates/messages.json."""
    data: dict[str, Any] = json.loads((TEMPLATES / "messages.json").read_text(encoding="utf-8"))
    return data


# Tried in order until the activity fits. The first passage is only cut on the last step, and never
# below FIRST_PASSAGE_MIN_CHARS.
LADDER: tuple[Limits, ...] = (
    FULL,
    Limits(partners=25, other_partners=10, reasons=6, incentives=10, incentive_partners=10, opportunities=25,
           later_passages=5, later_passage_chars=1_500, facts=40, sources=25, decisions=25),
    Limits(partners=10, other_partners=5, reasons=3, incentives=5, incentive_partners=5, opportunities=10,
           later_passages=3, later_passage_chars=500, facts=20, sources=10, decisions=10),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5, decisions=5),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5, decisions=5, card="brief"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, facts=10, sources=5, decisions=5, card="none"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, first_passage_chars=FIRST_PASSAGE_MIN_CHARS, facts=10, sources=5, decisions=5,
           card="none"),
)
# Coverage gaps: the table is the answer, the heatmap a picture of it. The table first gives up rows
# down to MIN_GAP_ROWS (the export has them all), then the image goes, and only then more rows.
MIN_GAP_ROWS = 15
GAPS_LADDER: tuple[Limits, ...] = (
    FULL,
    replace(FULL, gap_rows=25),
    replace(FULL, gap_rows=MIN_GAP_ROWS),
    replace(LADDER[1], gap_rows=MIN_GAP_ROWS, gap_image=False),
    replace(LADDER[2], gap_rows=10, gap_image=False),
    replace(LADDER[3], gap_rows=10, gap_image=False),
    replace(LADDER[4], gap_rows=10, gap_image=False),
    replace(LADDER[5], gap_rows=10, gap_image=False),
    replace(LADDER[6], gap_rows=10, gap_image=False),
)


def source_labels(answer: Answer) -> list[str]:
    """The answer's citations, or else every citation its parts carry, in order of appearance."""
    return list(dict.fromkeys(c.label() for c in source_citations(answer)))


def source_citations(answer: Answer) -> list[Citation]:
    """The citations behind `source_labels`, distinct, in order of appearance (retrieval.answers.cited_sources)."""
    return cited_sources(answer)


def answer_to_text(answer: Answer, limits: Limits = FULL) -> str:
    """The whole answer as Teams Markdown, in the fixed order (see the module docstring)."""
    return view_to_text(build_view(inert_value(answer), limits))


def answer_to_card(answer: Answer, limits: Limits = FULL, *, manage: bool = False) -> dict[str, Any]:
    """The answer as an Adaptive Card 1.5: the short answer first, details behind toggles.

    `manage` (a channel manager in a 1:1 chat) adds the attach and export buttons.
    """
    answer = inert_value(answer)
    return view_to_card(build_view(answer, limits, manage=manage), workflow=workflow_actions(answer) if manage else (),
                        suggestions=answer.suggestions[:MAX_SUGGESTIONS], brief=limits.card == "brief")


# --------------------------------------------------------------------------- replies
def suggested_actions(questions: Sequence[str]) -> list[dict[str, Any]] | None:
    if not questions:
        return None
    return [im_back(q) for q in questions[:MAX_SUGGESTIONS]]


def activity_size(activity: Reply) -> int:
    """The size Teams holds against its message limit: the JSON payload encoded as UTF-16.

    Teams refuses bot messages over ~100 KB (413 MessageSizeTooBig) and advises staying within 80 KB,
    counted in UTF-16, so ASCII text costs two bytes a character; UTF-8 on the wire is always smaller.
    """
    return len(json.dumps(activity.serialize(), ensure_ascii=False).encode("utf-16-le"))


def brief_text(answer: Answer) -> str:
    """What Teams shows above the card: the answer in a sentence, plain (no Markdown, since some
    clients show it raw beside suggested actions). The card carries the details."""
    return answer.summary or answer.title


def _build_activity(answer: Answer, limits: Limits, answer_id: str | None = None, *, brief: bool = False,
                    manage: bool = False) -> Reply:
    """One step of the size ladder: one view, read by the text renderer and the card renderer."""
    view = build_view(answer, limits, manage=manage)
    text = view_to_text(view)
    attachments: list[dict[str, Any]] = []
    above = brief and limits.card == "full"
    if limits.card != "none":
        # in Teams the sentence is the text above the card, so the card does not repeat it
        card = view_to_card(view, workflow=workflow_actions(answer) if manage else (),
                            suggestions=answer.suggestions[:MAX_SUGGESTIONS], brief=limits.card == "brief",
                            sentence=not above or not brief_text(answer))
        if answer_id:
            card["actions"] = card.get("actions", []) + feedback_actions(answer_id)
        if above:
            # Teams shows `text` above the card: repeating the whole answer there doubles every reply.
            # Clients that cannot render the card show its fallbackText: the full answer as Markdown.
            card["fallbackText"] = text
            text = brief_text(answer)
        attachments = [card]
    return Reply(text=text, text_format="markdown", cards=attachments,
                 suggested_actions=suggested_actions(answer.suggestions))


def answer_to_activity(answer: Answer, max_bytes: int = MAX_ACTIVITY_BYTES, *, answer_id: str | None = None,
                       brief: bool = False, manage: bool = False) -> Reply:
    """The answer as one message activity (Adaptive Card + Markdown) that fits in max_bytes.

    With an answer_id the card carries thumbs up/down buttons that report back against that id.
    `brief` (for Teams, which renders both): the text is the answer in a sentence (not repeated in the
    card), the full Markdown moves into the card's fallbackText, and the card carries the details. `manage` (a channel
    manager in a 1:1 chat) adds the attach and export buttons.
    """
    return sized_answer_activity(answer, max_bytes, answer_id=answer_id, brief=brief, manage=manage)[0]


def sized_answer_activity(answer: Answer, max_bytes: int = MAX_ACTIVITY_BYTES, *, answer_id: str | None = None,
                          brief: bool = False, manage: bool = False) -> tuple[Reply, int]:
    """`answer_to_activity` and the `activity_size` it measured: serialising a card is a real part of a turn's
    CPU (bench/SOAK.md), so a caller that logs the size should not do it again."""
    answer = inert_value(answer)     # knowledge text is shown, never interpreted (dialogs/markup.py): once
    ladder = GAPS_LADDER if answer.gaps else LADDER
    activity = _build_activity(answer, ladder[0], answer_id, brief=brief, manage=manage)
    for limits in ladder[1:]:
        if (size := activity_size(activity)) <= max_bytes:
            return activity, size
        activity = _build_activity(answer, limits, answer_id, brief=brief, manage=manage)
    if (size := activity_size(activity)) > max_bytes:
        # Only a pathological answer gets here (enormous titles, notes or facts): keep the front.
        activity.text = shorten(activity.text or "", max_bytes // 2)
        activity.suggested_actions = None
        size = activity_size(activity)
    return activity, size


def text_activity(text: str) -> Reply:
    return Reply(text=text, text_format="markdown")


def _guide_activity(title: str, paragraphs: Sequence[str]) -> Reply:
    """A title, some paragraphs, the example questions as a list and as card buttons, the access footer."""
    phrases = messages()
    examples: list[str] = list(phrases["help_examples"])
    full = "\n\n".join([f"**{title}**", *paragraphs, "\n".join(f"- {q}" for q in examples), phrases["help_footer"]])
    card = adaptive_card([text_block(title, size="Large", weight="Bolder"), *[text_block(p) for p in paragraphs],
                          text_block(phrases["help_footer"], isSubtle=True, size="Small")],
                         [imback_action(q) for q in examples])
    # Teams shows text above the card: one sentence there, everything in the card (fallbackText for old clients)
    card["fallbackText"] = full
    return Reply(text=paragraphs[0] if paragraphs else title, text_format="markdown", cards=[card])


def help_activity() -> Reply:
    phrases = messages()
    return _guide_activity(phrases["help_title"], [phrases["help_intro"]])


def welcome_activity() -> Reply:
    phrases = messages()
    return _guide_activity(phrases["welcome_title"], [phrases["welcome"], phrases["help_intro"]])
