"""The knowledge-gaps log for the bot's admins: where users stumble, so the knowledge folder improves there.

  gaps | knowledge gaps | show knowledge gaps | list gaps     the most asked gaps, with export buttons
  export (knowledge) gaps [csv|xlsx|md|markdown]             every gap, behind a short-lived link

A gap is a question that found no match, was answered with low confidence, or that someone rates not
helpful (dialogs/feedback.py keeps them, from every conversation). So the log holds what people typed in
channels and group chats too: only members of "admins", and only in a 1:1 chat, may list or export it;
anyone else gets a refusal that repeats nothing from it. An admin sees only the askings they may see
themselves: a question about the pipeline ("What is the status of OPP-… for <account>?"), or one answered
from a confidential document or a partner's confidential notes, is left out for an admin outside those
groups (dialogs/audience.py), in the card and in every export. Who asks is what the engine's access list says
about the sender's aadObjectId, never what was typed, and it is checked again on every export button,
because a card submit can be forged.

"gaps", "list gaps" and "export gaps" are also how channel managers ask for *coverage* gaps. From a
channel manager who is not an admin they are left to the question dialog; "knowledge gaps" is always ours.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialogs import card_update, render, teams
from dialogs.card_actions import Outcome, execute
from dialogs.conversation import EngineSource, send
from dialogs.exports import EXPORT_TTL_SECONDS, ExportStore
from dialogs.feedback import FeedbackStore, KnowledgeGap, gaps_markdown, gaps_table
from dialogs.reply import Reply
from dialogs.turn import Turn
from knowledge.display import escape_markdown
from retrieval.engine import PIPELINE_GROUP, UserContext

log = logging.getLogger(__name__)


ADMIN_GROUP = "admins"
CARD_GAPS = 15                       # the card lists this many; the exports have them all
MIN_CARD_GAPS = 5                    # never fewer, whatever the size budget
MAX_CARD_QUESTION_CHARS = 200
MAX_CARD_TOPIC_CHARS = 100
MAX_CARD_TERMS = 5
EXPORT_KEY = "knowledge_gaps_export"
EXPORT_VERB = "gaps_export"
EXPORT_FORMATS = ("csv", "xlsx", "md")
FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "md": "Markdown"}
REASON_LABELS = {"no_match": "no match", "low_confidence": "low confidence", "thumbs_down": "👎 not helpful"}
SHEET = "KnowledgeGaps"

# user-facing phrases
TITLE = "Knowledge gaps"
SUMMARY = ("{count} question{s} found no match, got a low-confidence answer or {was} rated not helpful. "
           "Most asked first.")
SHOWING = "Showing {shown} of {count}: the export has them all."
NOT_ADMIN = ("Not available to you: the knowledge-gaps log is for the bot's admins (group “admins”) only. "
             "I can still tell you which partners cover a workload.")
PRIVATE_ONLY = ("That works only in a 1:1 chat with me: the knowledge-gaps log holds what people asked in every "
                "chat and channel, so I don't show or export it in a group chat or channel.")
EMPTY = ("The knowledge-gaps log is empty: no question has gone without a match, got a low-confidence answer "
         "or been rated not helpful yet.")
EXPORT_READY = ("Your knowledge-gaps export is ready: {count} {rows}, {fmt}. [Download it]({url})\n\n"
                "The link works for {minutes} minutes, for anyone who has it: don't forward it.")
EXPORT_BUTTON = "Export {fmt}"
COLUMNS = ("Question", "Asked", "Why", "Last asked (UTC)")

_LIST = re.compile(r"(?:(?:show|list|view|open)(?: me)? )?(?:the |all |my )?(?P<knowledge>knowledge )?gaps(?: log| list)?")
_EXPORT = re.compile(r"(?:please )?(?:export|download)(?: me)? (?:the |all )?(?P<knowledge>knowledge )?gaps(?: log| list)?"
                     r"(?: (?:as|to|in))?(?: (?:a |an )?(?P<fmt>csv|xlsx|excel|md|markdown)(?: file)?)?")
_FORMAT_WORDS = {None: "csv", "csv": "csv", "xlsx": "xlsx", "excel": "xlsx", "md": "md", "markdown": "md"}


@dataclass(frozen=True)
class Command:
    name: str             # list | export
    fmt: str = "csv"      # csv | xlsx | md
    explicit: bool = True  # said "knowledge gaps": never a coverage-gaps question


def command_of(text: str) -> Command | None:
    """A knowledge-gaps command typed as a whole message (case, hyphens and end punctuation don't matter)."""
    said = re.sub(r"[\s_-]+", " ", (text or "").lower()).strip(" !.?:;,`'\"“”‘’")
    if match := _LIST.fullmatch(said):
        return Command("list", explicit=bool(match.group("knowledge")))
    if match := _EXPORT.fullmatch(said):
        return Command("export", _FORMAT_WORDS[match.group("fmt")], explicit=bool(match.group("knowledge")))
    return None


def export_format_of(value: object) -> str | None:
    """The format an export button on the gaps card asks for; None when the submit is not one of those."""
    if not isinstance(value, dict) or EXPORT_KEY not in value:
        return None
    fmt = str(value.get(EXPORT_KEY) or "").lower()
    return fmt if fmt in EXPORT_FORMATS else "csv"


def refusal(user: UserContext) -> str | None:
    """Why this user may not see the log here; None for an admin in a 1:1 chat."""
    if ADMIN_GROUP not in user.groups:
        return NOT_ADMIN
    if not user.private_chat:
        return PRIVATE_ONLY
    return None


# --------------------------------------------------------------------------- the reply
def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _asked(gap: KnowledgeGap) -> str:
    return f"{gap.times_asked}× · {gap.askers} {'person' if gap.askers == 1 else 'people'}"


def _why(gap: KnowledgeGap) -> str:
    return ", ".join(REASON_LABELS.get(r, r) for r in gap.reasons)


def _context(gap: KnowledgeGap) -> str:
    """Topic and unknown terms, shortened for the card; both can be empty."""
    bits = []
    if gap.topic:
        bits.append(f"Topic: {_shorten(gap.topic, MAX_CARD_TOPIC_CHARS)}")
    if gap.unknown_terms:
        terms = [_shorten(t, 40) for t in gap.unknown_terms[:MAX_CARD_TERMS]]
        more = f" (+{len(gap.unknown_terms) - MAX_CARD_TERMS})" if len(gap.unknown_terms) > MAX_CARD_TERMS else ""
        bits.append(f"Unknown: {', '.join(terms)}{more}")
    return escape_markdown(" · ".join(bits))


def _summary(count: int) -> str:
    return SUMMARY.format(count=count, s="" if count == 1 else "s", was="was" if count == 1 else "were")


def export_actions() -> list[dict[str, Any]]:
    return [execute(EXPORT_BUTTON.format(fmt=FORMAT_NAMES[fmt]), EXPORT_VERB, {EXPORT_KEY: fmt}) for fmt in EXPORT_FORMATS]


def gaps_text(gaps: Sequence[KnowledgeGap], shown: int = CARD_GAPS) -> str:
    """The list as Teams Markdown (the card's fallback, and the whole reply outside Teams)."""
    lines = [f"**{TITLE}**", "", _summary(len(gaps)), ""]
    for rank, gap in enumerate(gaps[:shown], 1):
        context = f" · {_context(gap)}" if _context(gap) else ""
        lines.append(f"{rank}. “{escape_markdown(_shorten(gap.question, MAX_CARD_QUESTION_CHARS))}” — asked "
                     f"{_asked(gap)} · {_why(gap)} · last {_when(gap.last_asked)} UTC{context}")
    if len(gaps) > shown:
        lines += ["", SHOWING.format(shown=shown, count=len(gaps))]
    return "\n".join(lines)


def gaps_card(gaps: Sequence[KnowledgeGap], shown: int = CARD_GAPS) -> dict[str, Any]:
    """An Adaptive Card 1.5: title, summary, a table of the most asked gaps, and the export buttons."""

    def cell(*blocks: dict[str, Any]) -> dict[str, Any]:
        return {"type": "TableCell", "items": list(blocks)}

    def small(text: str, **props: Any) -> dict[str, Any]:
        return render.text_block(text, size="Small", **props)

    header = {"type": "TableRow", "cells": [cell(small(title, weight="Bolder")) for title in COLUMNS]}
    rows = []
    for rank, gap in enumerate(gaps[:shown], 1):
        question = [small(f"{rank}. {escape_markdown(_shorten(gap.question, MAX_CARD_QUESTION_CHARS))}")]
        if context := _context(gap):
            question.append(small(context, isSubtle=True, spacing="None"))
        rows.append({"type": "TableRow", "cells": [cell(*question), cell(small(_asked(gap))), cell(small(_why(gap))),
                                                   cell(small(_when(gap.last_asked)))]})
    body: list[dict[str, Any]] = [
        render.text_block(TITLE, size="Large", weight="Bolder"),
        render.text_block(_summary(len(gaps))),
        {"type": "Table", "firstRowAsHeader": True, "showGridLines": True, "gridStyle": "accent",
         "columns": [{"width": w} for w in (4, 1, 2, 2)], "rows": [header, *rows]},
    ]
    if len(gaps) > shown:
        body.append(render.text_block(SHOWING.format(shown=shown, count=len(gaps)), isSubtle=True, size="Small"))
    return render.adaptive_card(body, export_actions())


def gaps_activity(gaps: Sequence[KnowledgeGap], *, brief: bool = False, shown: int = CARD_GAPS,
                  max_bytes: int = render.MAX_ACTIVITY_BYTES) -> Reply:
    """The list as one message: a card with the Markdown as its fallback; `brief` (Teams) keeps the text to a sentence."""
    while True:
        text = gaps_text(gaps, shown)
        card = gaps_card(gaps, shown)
        card["fallbackText"] = text
        activity = Reply(text=_summary(len(gaps)) if brief else text, text_format="markdown", cards=[card])
        if shown <= MIN_CARD_GAPS or render.activity_size(activity) <= max_bytes:
            return activity
        shown = max(MIN_CARD_GAPS, shown - 5)


# --------------------------------------------------------------------------- commands and buttons
class KnowledgeGapActions:
    """Typed commands and export buttons for the knowledge-gaps log; none of it answers a question."""

    def __init__(self, engine_source: EngineSource, feedback: FeedbackStore, exports: ExportStore,
                 public_base_url: str) -> None:
        self._engine_source = engine_source
        self.feedback = feedback
        self.exports = exports
        self.public_base_url = public_base_url.rstrip("/")

    async def on_command(self, turn: Turn, text: str) -> bool:
        """Handle a typed knowledge-gaps command; False when the message is not one (or is a channel
        manager's "gaps", which means coverage gaps)."""
        command = command_of(text)
        if command is None:
            return False
        user = self._sender(turn)
        if user is None:
            await send(turn, render.text_activity(render.messages()["loading"]))
            return True
        if not command.explicit and ADMIN_GROUP not in user.groups and PIPELINE_GROUP in user.groups:
            return False
        why_not = self._refused(user)
        if why_not is not None:
            await send(turn, render.text_activity(why_not))
        elif command.name == "list":
            await self._list(turn, user)
        else:
            await self._export(turn, command.fmt, user)
        return True

    async def on_press(self, turn: Turn, data: object) -> Outcome:
        """An export button (EXPORT_VERB): the caller is checked again (an admin, 1:1), then the link is
        noted under the card, whose buttons stay for another format."""
        fmt = export_format_of(data)
        if fmt is None:
            return Outcome(str(render.messages()["card_action_unknown"]), refused=True)
        user = self._sender(turn)
        if user is None:
            return Outcome(str(render.messages()["loading"]), refused=True)
        why_not = self._refused(user)
        if why_not is not None:
            return Outcome(why_not, refused=True)
        text = await self._export_text(fmt, user)
        return Outcome(text, update=lambda card: card_update.noted(card, text))

    # ------------------------------------------------------------------ who asks
    def _sender(self, turn: Turn) -> UserContext | None:
        """Who sent this, as the access list knows them; None while the engine loads."""
        engine = self._engine_source()
        if engine is None or not engine.ready:
            return None
        return engine.user_context(turn.aad_object_id, name=turn.user_name,
                                   conversation_type=teams.conversation_type(turn))

    @staticmethod
    def _refused(user: UserContext) -> str | None:
        """Why this user may not read the log here (logged); None for an admin in a 1:1 chat."""
        why_not = refusal(user)
        if why_not is not None:
            log.info("knowledge gaps refused (%s)", "not in 1:1" if ADMIN_GROUP in user.groups else "not an admin")
        return why_not

    # ------------------------------------------------------------------ actions
    async def _list(self, turn: Turn, user: UserContext) -> None:
        gaps = await asyncio.to_thread(self.feedback.knowledge_gaps, reader=user)
        log.info("knowledge gaps listed: %d", len(gaps))
        if not gaps:
            await send(turn, render.text_activity(EMPTY))
            return
        await send(turn, gaps_activity(gaps, brief=turn.channel_id == "msteams"))

    async def _export(self, turn: Turn, fmt: str, user: UserContext) -> None:
        await send(turn, render.text_activity(await self._export_text(fmt, user)))

    async def _export_text(self, fmt: str, user: UserContext) -> str:
        gaps = await asyncio.to_thread(self.feedback.knowledge_gaps, reader=user)
        if not gaps:
            return EMPTY
        if fmt == "md":
            name = await asyncio.to_thread(self.exports.save_text, gaps_markdown(gaps))
        else:
            header, rows = gaps_table(gaps)
            name = await asyncio.to_thread(self.exports.save, header, rows, fmt, sheet=SHEET)
        log.info("knowledge gaps exported: %s, %d gaps", fmt, len(gaps))
        return EXPORT_READY.format(count=len(gaps), rows="gap" if len(gaps) == 1 else "gaps", fmt=FORMAT_NAMES[fmt],
                                   url=f"{self.public_base_url}/exports/{name}", minutes=EXPORT_TTL_SECONDS // 60)
