"""Answers given and the thumbs up/down users give them, in the bot's database (storage/); and the knowledge-gaps log built on them.

Every answer gets an id that its card's feedback buttons carry back. What is stored: ids, who asked
(AAD object id), the kind and title of the answer, the question as typed, its outcome (answered,
no_match, low_confidence, denied, clarify), the topic labels the question linked to, the terms it did
not understand, and the rating. No record text from the knowledge folder is stored, so the file holds
nothing confidential beyond what users typed.

The knowledge-gaps log is a view over the same rows: the questions that found nothing, were answered
only weakly, or that someone rated not helpful (their *current* rating: a later thumbs up replaces it),
grouped by their normalised wording, so the knowledge owners see where users stumble.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialogs import audience
from dialogs.audience import Restriction
from knowledge.display import escape_markdown
from retrieval.answers import Answer, AnswerKind
from retrieval.engine import UserContext
from storage import DatabaseTarget
from storage.feedback import FeedbackTable

log = logging.getLogger(__name__)


def rated_answer_ids(value: object) -> list[str]:
    """The answer ids that the rating buttons in `value` (a card, an attachment list) carry back."""
    from dialogs.render import FEEDBACK_KEY

    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get(FEEDBACK_KEY) == "feedback" and isinstance(item.get("answerId"), str):
                found.append(item["answerId"])
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return list(dict.fromkeys(found))


OUTCOMES = ("answered", "no_match", "low_confidence", "denied", "clarify")
GAP_OUTCOMES = ("no_match", "low_confidence")
GAP_REASONS = ("low_confidence", "no_match", "thumbs_down")
MAX_TOPIC_CHARS = 300
MAX_UNKNOWN_TERMS = 20
_TRAILING_PUNCTUATION = " \t.,;:!?…‽¿¡"


def answer_outcome(answer: Answer) -> str:
    """How an answer went, for the log: only "no_match" and "low_confidence" are knowledge gaps.

    A denial is the access rules working and a clarifying question is a fact the user left out, so
    they are not gaps even when the engine also marked them weak: they are checked first.
    """
    if answer.kind is AnswerKind.NO_MATCH:
        return "no_match"
    if answer.kind is AnswerKind.DENIED:
        return "denied"
    if answer.kind is AnswerKind.CLARIFY:
        return "clarify"
    if answer.low_confidence:
        return "low_confidence"
    return "answered"


def normalise_question(text: str) -> str:
    """The grouping key: lower-case, whitespace collapsed, trailing punctuation gone ("AKS in DE?" = "aks in de")."""
    return re.sub(r"\s+", " ", (text or "").lower()).strip().rstrip(_TRAILING_PUNCTUATION).strip()




@dataclass(frozen=True)
class FeedbackRow:
    answer_id: str
    question_id: str
    question: str
    kind: str
    rating: str
    user_id: str


@dataclass(frozen=True)
class KnowledgeGap:
    """One question (all its wordings that normalise alike) that users stumbled on."""

    question: str                          # the latest wording
    times_asked: int                       # askings that were gaps (no match, low confidence, rated down)
    askers: int                            # distinct users among them
    reasons: tuple[str, ...]               # sorted, from GAP_REASONS
    kinds: tuple[str, ...]                 # answer kinds given, sorted
    topic: str                             # what the latest asking linked to (workload · country …), if anything
    unknown_terms: tuple[str, ...]         # terms the linker did not know, over every asking (case-insensitive), sorted
    first_asked: float                     # epoch seconds
    last_asked: float
    conversation_types: tuple[str, ...]    # personal | groupChat | channel, sorted
    restricted_to: tuple[str, ...] = ()    # the groups its askings were restricted to (dialogs/audience.py), sorted


class FeedbackStore:
    def __init__(self, path: DatabaseTarget) -> None:
        self._table = FeedbackTable(path)
        self.path = self._table.path

    def close(self) -> None:
        self._table.close()

    def record_answer(self, *, question_id: str, conversation_type: str, user_id: str, question: str,
                      kind: str, title: str, outcome: str = "answered", topic: str = "",
                      unknown_terms: tuple[str, ...] = (), restricted_to: Restriction = ()) -> str:
        """Store one answer given; `outcome` is `answer_outcome(answer)`, `topic` the linked labels,
        `restricted_to` the groups the question and its answer were restricted to (audience.restrictions)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        answer_id = uuid.uuid4().hex
        terms = json.dumps([str(t)[:100] for t in unknown_terms[:MAX_UNKNOWN_TERMS]], ensure_ascii=False)
        self._table.insert_answer(answer_id=answer_id, question_id=question_id, conversation_type=conversation_type,
                                  user_id=user_id, question=question[:2000], kind=kind, title=title[:300],
                                  created_at=time.time(), outcome=outcome, topic=topic[:MAX_TOPIC_CHARS],
                                  unknown_terms=terms, restricted_to=audience.dump(restricted_to))
        return answer_id

    def record_delivery(self, answer_id: str, conversation_id: str) -> None:
        """Note that the answer (its card and rating buttons) was delivered into this conversation."""
        if not answer_id or not conversation_id:
            return
        self._table.record_delivery(answer_id=answer_id, conversation_id=conversation_id[:500], created_at=time.time())

    def record_feedback(self, *, answer_id: str, user_id: str, rating: str, comment: str = "",
                        conversation_id: str | None = None) -> bool:
        """Store a rating (a user's later click replaces their earlier one). False if the answer is unknown.

        With `conversation_id` (the bot always passes it) the rater must have seen the answer: they asked
        it, or it was delivered into the conversation the rating comes from; else False, as if unknown.
        """
        if rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        return self._table.rate(answer_id=answer_id, user_id=user_id, rating=rating, comment=comment[:1000],
                                created_at=time.time(), conversation_id=conversation_id)

    def feedback(self) -> list[FeedbackRow]:
        return [FeedbackRow(*row) for row in self._table.rated()]

    def ratings(self, answer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Current thumbs up and down per answer: {answer_id: {"up": n, "down": n}}, zeros for the unrated."""
        wanted = list(dict.fromkeys(answer_ids))
        out = {answer_id: {"up": 0, "down": 0} for answer_id in wanted}
        for answer_id, rating, count in self._table.rating_counts(wanted):
            out[answer_id][rating] = count
        return out

    def knowledge_gaps(self, *, since: float | None = None, limit: int | None = None,
                       reader: UserContext | None = None, everything: bool = False) -> list[KnowledgeGap]:
        """Questions asked since `since` (epoch seconds) that found nothing, were answered weakly, or that
        someone currently rates not helpful, grouped by normalised wording: most asked first, then latest.

        Only the askings `reader` may see (their question and answer were restricted to groups the reader is
        in, or to none); `everything=True` is the server operator's view, unrestricted."""
        rows = self._table.gap_rows(since)
        groups: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            if not everything and not audience.may_read(reader, asking_restriction(str(row[2] or ""), row[9])):
                continue                   # the reader may not see this asking: not even its words
            key = normalise_question(str(row[0] or ""))
            if key:
                groups.setdefault(key, []).append(row)
        gaps = [_gap(asked) for asked in groups.values()]
        gaps.sort(key=lambda g: (-g.times_asked, -g.last_asked))
        return gaps[:limit] if limit is not None else gaps


def asking_restriction(kind: str, stored: object) -> Restriction:
    """What an asking was restricted to: as recorded, and never less than its answer kind says (a pipeline
    answer or refusal is about the pipeline even in rows recorded before restrictions were)."""
    recorded = audience.load(stored)
    floor = audience.kind_restriction(kind)
    return tuple(sorted(set(recorded) | set(floor)))


def _gap(asked: list[tuple[Any, ...]]) -> KnowledgeGap:
    """One group's rows (oldest first) as a KnowledgeGap."""
    reasons: set[str] = set()
    terms: dict[str, str] = {}             # "narnia" and "Narnia" are one term: its first spelling is kept
    restricted: set[str] = set()
    for _, _, kind, outcome, _, unknown, _, _, rated_down, stored in asked:
        for groups in asking_restriction(str(kind or ""), stored):
            restricted.update(groups)
        if outcome in GAP_OUTCOMES:
            reasons.add(str(outcome))
        if rated_down:
            reasons.add("thumbs_down")
        for term in _terms(unknown):
            terms.setdefault(term.lower(), term)
    topics = [str(row[4]) for row in asked if row[4]]
    times = [float(row[6] or 0.0) for row in asked]
    return KnowledgeGap(
        question=" ".join(str(asked[-1][0]).split()), times_asked=len(asked),
        askers=len({str(row[1] or "") for row in asked}), reasons=tuple(sorted(reasons)),
        kinds=tuple(sorted({str(row[2]) for row in asked if row[2]})), topic=topics[-1] if topics else "",
        unknown_terms=tuple(terms[key] for key in sorted(terms)), first_asked=min(times), last_asked=max(times),
        conversation_types=tuple(sorted({str(row[7]) for row in asked if row[7]})),
        restricted_to=tuple(sorted(restricted)))


def _terms(stored: object) -> list[str]:
    try:
        value = json.loads(str(stored or "[]"))
    except ValueError:
        return []
    return [str(t) for t in value if str(t).strip()] if isinstance(value, list) else []


# --------------------------------------------------------------------------- exports
GAPS_HEADER = ["question", "times_asked", "askers", "reasons", "answer_kinds", "topic", "unknown_terms",
               "first_asked_utc", "last_asked_utc", "conversation_types", "restricted_to"]


def iso_utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def gaps_table(gaps: Sequence[KnowledgeGap]) -> tuple[list[str], list[list[object]]]:
    """Header and rows for the CSV / XLSX export (times in ISO 8601, UTC)."""
    rows: list[list[object]] = [
        [g.question, g.times_asked, g.askers, "; ".join(g.reasons), "; ".join(g.kinds), g.topic,
         "; ".join(g.unknown_terms), iso_utc(g.first_asked), iso_utc(g.last_asked), "; ".join(g.conversation_types),
         "; ".join(g.restricted_to)]
        for g in gaps]
    return list(GAPS_HEADER), rows


def gaps_markdown(gaps: Sequence[KnowledgeGap], *, title: str = "Knowledge gaps") -> str:
    """The gaps as a Markdown document with one table; what users typed is escaped (see escape_markdown)."""
    lines = [f"# {escape_markdown(title)}", ""]
    if not gaps:
        return "\n".join([*lines, "No knowledge gaps recorded yet."]) + "\n"
    lines += [f"{len(gaps)} question{'s' if len(gaps) != 1 else ''} that found no match, were answered with low "
              "confidence, or were rated not helpful; most asked first.", "",
              "| Question | Asked | Askers | Reasons | Answer kinds | Topic | Unknown terms | First asked (UTC) "
              "| Last asked (UTC) | Where | Restricted to |",
              "|---|---:|---:|---|---|---|---|---|---|---|---|"]
    for g in gaps:
        cells = [escape_markdown(g.question), str(g.times_asked), str(g.askers), ", ".join(g.reasons),
                 ", ".join(g.kinds), escape_markdown(g.topic), escape_markdown(", ".join(g.unknown_terms)),
                 iso_utc(g.first_asked), iso_utc(g.last_asked), ", ".join(g.conversation_types),
                 ", ".join(g.restricted_to)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
