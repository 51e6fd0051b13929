"""The readiness-session digest: questions and askers, the top question clusters, what was answered with
which sources, and what needs follow-up; as a card, as Markdown and as CSV rows (dialogs/sessions.py posts
and exports it).

The digest is built for whoever reads it: `for_reader` blanks a question restricted to groups the reader
(and, in a group chat or channel, everyone in it) is not all in (dialogs/audience.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dialogs import audience, render
from dialogs.card_actions import execute
from dialogs.markup import inert
from dialogs.reply import Reply
from dialogs.session_store import Session, SessionQuestion, Source
from knowledge.display import escape_markdown
from retrieval.clustering import cluster
from retrieval.engine import UserContext

SESSION_KEY = "partnerAtlasSession"
EXPORT_VERB = "session_export"          # a digest's export buttons (Universal Actions)
DIGEST_TOP_CLUSTERS = 5
DIGEST_CARD_ITEMS = 8
FOLLOW_UP_OUTCOMES = {"no_match": "no match", "low_confidence": "low confidence", "failed": "error"}



def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M UTC")


def _day_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Cluster:
    questions: tuple[SessionQuestion, ...]
    askers: tuple[str, ...]
    answered_by: SessionQuestion | None      # the asking whose answer the others were pointed to
    follow_up: tuple[str, ...]               # why it needs follow-up: "no match", "low confidence", "1 👎"
    up: int
    down: int

    @property
    def first(self) -> SessionQuestion:
        return self.questions[0]


@dataclass(frozen=True)
class Digest:
    session: Session
    questions: int
    askers: int
    duplicates_pointed: int
    clusters: tuple[Cluster, ...]            # in order asked
    final: bool

    @property
    def top(self) -> list[Cluster]:
        ranked = sorted(self.clusters, key=lambda c: (-len(c.questions), -len(c.askers), c.first.id))
        return [c for c in ranked if len(c.questions) > 1][:DIGEST_TOP_CLUSTERS]

    @property
    def answered(self) -> list[Cluster]:
        return [c for c in self.clusters if not c.follow_up]

    @property
    def needs_follow_up(self) -> list[Cluster]:
        return [c for c in self.clusters if c.follow_up]


def for_reader(questions: list[SessionQuestion], reader: UserContext | None) -> list[SessionQuestion]:
    """The questions as this reader (and, in a group chat or channel, everyone in it) may see them: one
    restricted to groups they are not all in keeps its asker, time and outcome, never its words, title
    or sources."""
    return [q if audience.may_read(reader, q.restricted_to) else
            replace(q, question=audience.RESTRICTED_QUESTION, title=audience.RESTRICTED_ANSWER, sources=(), topic="",
                    hidden=True) for q in questions]


def build_digest(session: Session, questions: list[SessionQuestion],
                 ratings: dict[str, dict[str, int]], *, final: bool) -> Digest:
    groups = cluster([q.signature for q in questions])
    clusters = []
    for members in groups:
        asked = tuple(questions[i] for i in members)
        answered = [q for q in asked if q.answer_id or q.kind]
        answered_by = next((q for q in answered if q.duplicate_of is None), answered[0] if answered else None)
        up = sum(ratings.get(q.answer_id, {}).get("up", 0) for q in asked if q.answer_id)
        down = sum(ratings.get(q.answer_id, {}).get("down", 0) for q in asked if q.answer_id)
        reasons = list(dict.fromkeys(FOLLOW_UP_OUTCOMES[q.outcome] for q in asked if q.outcome in FOLLOW_UP_OUTCOMES))
        if down:
            reasons.append(f"{down} 👎")
        askers = tuple(dict.fromkeys(q.asker_name or q.asker_id or "someone" for q in asked))
        clusters.append(Cluster(asked, askers, answered_by, tuple(reasons), up, down))
    return Digest(session, len(questions), len({q.asker_id or q.asker_name for q in questions}),
                  sum(q.duplicate_of is not None for q in questions), tuple(clusters), final)


def sources_text(sources: tuple[Source, ...]) -> str:
    """Sources grouped by document: "FY27 map — maps/fy27.csv (row 2, row 70); ECIF guide — programs/ecif.md"."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for source in sources:
        locators = grouped.setdefault((source.title, source.path), [])
        if source.locator and source.locator not in locators:
            locators.append(source.locator)
    return "; ".join(Source(title, path, ", ".join(locators)).label() for (title, path), locators in grouped.items())


def _sources_text(cluster_: Cluster) -> str:
    if cluster_.answered_by is not None and cluster_.answered_by.hidden:
        return "restricted"
    return sources_text(cluster_.answered_by.sources if cluster_.answered_by else ()) or "no sources"


def _answer_text(cluster_: Cluster) -> str:
    q = cluster_.answered_by
    return q.title if q and q.title else "(not answered)"


QUESTION_CHARS_SHOWN = 300


def _q(question: str) -> str:
    """A question as the card and the posted digest show it (the exports keep it whole)."""
    text = inert(" ".join(question.split()))      # what someone typed is shown to the channel, never interpreted
    return text if len(text) <= QUESTION_CHARS_SHOWN else text[: QUESTION_CHARS_SHOWN - 1].rstrip() + "…"


def _header_lines(digest: Digest) -> list[str]:
    s = digest.session
    period = f"{_day_time(s.started_at)} – {_when(s.ended_at)}" if s.ended_at else f"since {_day_time(s.started_at)}"
    state = "ended" if s.ended_at else "running"
    return [f"Started by {s.started_by_name or 'a channel manager'}, {period} ({state}).",
            f"{digest.questions} question{'s' if digest.questions != 1 else ''} from {digest.askers} "
            f"asker{'s' if digest.askers != 1 else ''}; {len(digest.clusters)} distinct, {digest.duplicates_pointed} "
            f"pointed to an earlier answer; {len(digest.answered)} answered, {len(digest.needs_follow_up)} to follow up."]


def digest_markdown(digest: Digest, *, limit: int | None = None) -> str:
    title = f"{'Readiness session digest' if digest.final else 'Readiness session so far'}: {digest.session.topic}"
    show: Callable[[str], str] = _q if limit else str
    lines = [f"# {escape_markdown(title)}", "", *_header_lines(digest), ""]
    if not digest.questions:
        return "\n".join([*lines, "No questions were asked."]) + "\n"
    if digest.top:
        lines += ["## Top question clusters", ""]
        lines += [f"{n}. ×{len(c.questions)} “{escape_markdown(show(c.first.question))}” — asked by {escape_markdown(', '.join(c.askers))}"
                  for n, c in enumerate(digest.top, 1)]
        lines.append("")
    follow = digest.needs_follow_up
    lines += ["## To follow up (no match, low confidence, thumbs down)", ""]
    shown = follow[:limit] if limit else follow
    lines += [f"- “{escape_markdown(show(c.first.question))}” — {', '.join(c.follow_up)}; asked by "
              f"{escape_markdown(', '.join(c.askers))}" for c in shown] or ["- Nothing: every question was answered."]
    if len(follow) > len(shown):
        lines.append(f"- … and {len(follow) - len(shown)} more (in the export)")
    answered = digest.answered
    lines += ["", "## Answered", ""]
    shown = answered[:limit] if limit else answered
    for c in shown:
        times = f" (×{len(c.questions)})" if len(c.questions) > 1 else ""
        rating = f" · {c.up} 👍" if c.up else ""
        lines.append(f"- “{escape_markdown(show(c.first.question))}”{times} → **{escape_markdown(_answer_text(c))}**{rating}  \n"
                     f"  Sources: {escape_markdown(_sources_text(c))}")
    if not answered:
        lines.append("- Nothing yet.")
    if len(answered) > len(shown):
        lines.append(f"- … and {len(answered) - len(shown)} more (in the export)")
    return "\n".join(lines) + "\n"


CSV_HEADER = ["asked_at_utc", "asker", "question", "cluster", "repeat_of_question", "answer_kind", "answer_title",
              "outcome", "sources", "thumbs_up", "thumbs_down"]


def digest_table(digest: Digest, ratings: dict[str, dict[str, int]]) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    by_id = {q.id: q for c in digest.clusters for q in c.questions}
    for number, c in enumerate(digest.clusters, 1):
        for q in c.questions:
            earlier = by_id.get(q.duplicate_of) if q.duplicate_of else None
            rating = ratings.get(q.answer_id, {}) if q.answer_id else {}
            rows.append([dt.datetime.fromtimestamp(q.asked_at, dt.UTC).isoformat(timespec="seconds"),
                         q.asker_name or q.asker_id, q.question, number, earlier.question if earlier else "",
                         q.kind, q.title, "repeat" if q.duplicate_of else q.outcome,
                         sources_text(q.sources), rating.get("up", 0), rating.get("down", 0)])
    rows.sort(key=lambda r: str(r[0]))
    return CSV_HEADER, rows


def digest_activity(digest: Digest) -> Reply:
    """The digest as a card (top clusters, follow-ups, answered with sources) + export buttons; Markdown fallback."""
    s = digest.session
    title = f"{'Readiness session digest' if digest.final else 'Readiness session so far'}: {s.topic}"
    body: list[dict[str, Any]] = [render.text_block(title, size="Large", weight="Bolder")]
    body += [render.text_block(line, spacing="Small") for line in _header_lines(digest)]
    body.append(render.fact_set([("Questions", str(digest.questions)), ("Askers", str(digest.askers)),
                                 ("Distinct", str(len(digest.clusters))),
                                 ("Repeats pointed", str(digest.duplicates_pointed)),
                                 ("To follow up", str(len(digest.needs_follow_up)))]))
    if digest.top:
        body.append(render.heading("Top question clusters"))
        body += [render.text_block(f"{n}. ×{len(c.questions)} “{_q(c.first.question)}” — {', '.join(c.askers)}",
                                   spacing="Small") for n, c in enumerate(digest.top, 1)]
    body.append(render.heading("To follow up"))
    follow = digest.needs_follow_up
    if follow:
        body += [render.text_block(f"• “{_q(c.first.question)}” — {', '.join(c.follow_up)}", spacing="Small",
                                   color="Attention") for c in follow[:DIGEST_CARD_ITEMS]]
        if len(follow) > DIGEST_CARD_ITEMS:
            body.append(render.text_block(f"… and {len(follow) - DIGEST_CARD_ITEMS} more in the export", isSubtle=True))
    else:
        body.append(render.text_block("Nothing: every question was answered.", spacing="Small"))
    body.append(render.heading("Answered"))
    answered = digest.answered
    for c in answered[:DIGEST_CARD_ITEMS]:
        times = f" (×{len(c.questions)})" if len(c.questions) > 1 else ""
        body.append(render.text_block(f"• “{_q(c.first.question)}”{times} → **{_answer_text(c)}**", spacing="Small"))
        body.append(render.text_block(f"Sources: {_sources_text(c)}", size="Small", isSubtle=True, spacing="None"))
    if len(answered) > DIGEST_CARD_ITEMS:
        body.append(render.text_block(f"… and {len(answered) - DIGEST_CARD_ITEMS} more in the export", isSubtle=True))
    if not answered:
        body.append(render.text_block("Nothing yet.", spacing="Small"))
    actions = [execute(f"Export {label}", EXPORT_VERB, {SESSION_KEY: "export", "session": s.session_id, "fmt": fmt})
               for label, fmt in (("Markdown", "md"), ("CSV", "csv"))]
    card = render.adaptive_card(body, actions)
    text = digest_markdown(digest, limit=DIGEST_CARD_ITEMS)
    card["fallbackText"] = text
    activity = Reply(text=text, text_format="markdown", cards=[card])
    if render.activity_size(activity) > render.MAX_ACTIVITY_BYTES:
        # a huge session: the card keeps its head and the counts; everything else is in the exports
        card["body"] = body[:3]
        card["fallbackText"] = activity.text = "\n".join(_header_lines(digest))
    return activity
