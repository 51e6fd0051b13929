"""The "Find partner" message extension: partner search from the compose box, in any chat or channel.

Teams sends a `composeExtension/query` invoke with the typed text ("AKS Germany retail"). It goes through
the same understanding and ranking as a chat question (the engine's `answer`), asked as an anonymous
seller with no groups in a shared conversation, whoever types it: the card a user inserts is read by
everyone in the chat, so pipeline, referral and confidential content can never appear, even for a
channel manager. Only partners are listed (never opportunities, referrals, facts or passages), each as
a preview (thumbnail: name and why) and the card that is inserted: the partner's one-line why, its
contact and its sources.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from dialogs import render
from dialogs.answer_view import FULL, partner_entry, source_link
from dialogs.markup import inert_value
from dialogs.render_card import adaptive_card, styled
from dialogs.turn import Turn
from retrieval.answers import AnswerKind, PartnerMatch

log = logging.getLogger(__name__)

COMMAND_ID = "findPartner"
PARAMETER = "query"
MAX_QUERY_CHARS = 300
MAX_RESULTS = 25
# answer kinds whose partner lists are public partner evidence (never the pipeline or referrals)
PARTNER_KINDS = frozenset({AnswerKind.COVERAGE, AnswerKind.SPECIALIZATION, AnswerKind.TEAM_UP, AnswerKind.PROFILE})
THUMBNAIL = "application/vnd.microsoft.card.thumbnail"


def query_of(value: object) -> tuple[str, int, int] | None:
    """(text, skip, count) of a search invoke's value; None when it is not a search of this extension."""
    if not isinstance(value, dict) or value.get("commandId") not in (COMMAND_ID, "searchQuery"):
        return None
    parameters = value.get("parameters")
    if not isinstance(parameters, list):
        return None
    texts = [p.get("value") for p in parameters if isinstance(p, dict) and p.get("name") in (PARAMETER, "searchQuery")]
    text = texts[0] if texts and isinstance(texts[0], str) else ""
    options = value.get("queryOptions")
    options = options if isinstance(options, dict) else {}
    skip, count = options.get("skip", 0), options.get("count", MAX_RESULTS)
    skip = skip if isinstance(skip, int) and not isinstance(skip, bool) and 0 <= skip <= 1000 else 0
    count = count if isinstance(count, int) and not isinstance(count, bool) and 0 < count <= MAX_RESULTS else MAX_RESULTS
    return text.replace("\x00", " ").strip()[:MAX_QUERY_CHARS], skip, count


def partner_card(partner: PartnerMatch, industries: tuple[str, ...], asked: str) -> tuple[dict[str, Any], str]:
    """The inserted card (name, why, contact, sources) and the one-line why for the preview."""
    entry = partner_entry(partner, FULL, industries)
    body = [styled("title", partner.name)]
    if entry.why:
        body.append(styled("sentence", entry.why))
    if entry.contact:
        body.append(styled("contact", f"Contact: {entry.contact}"))
    sources = list(dict.fromkeys(c for c in [*(r.source for r in partner.reasons), partner.profile] if c))
    if sources:
        labels = [f"[{c.label()}]({link})" if (link := source_link(c)) else c.label() for c in sources[:3]]
        body.append(styled("sources", "Sources: " + " · ".join(labels)))
    body.append(styled("understood", f"Partner Atlas search: {asked}"))
    return adaptive_card(body), entry.why


def results(partners: list[PartnerMatch], industries: tuple[str, ...], asked: str) -> list[dict[str, Any]]:
    out = []
    for partner in partners:
        card, why = partner_card(partner, industries, asked)
        out.append({"contentType": render.ADAPTIVE_CARD_CONTENT_TYPE, "content": card,
                    "preview": {"contentType": THUMBNAIL, "content": {"title": partner.name, "text": why}}})
    return out


def _message(text: str) -> dict[str, Any]:
    return {"composeExtension": {"type": "message", "text": text}}


class PartnerSearch:
    """Answers `composeExtension/query` invokes with partner cards."""

    def __init__(self, engine_source: Callable[[], Any]) -> None:
        self._engine_source = engine_source

    async def on_query(self, turn: Turn) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 200 with results or a message; 400 for a value that is not a search."""
        query = query_of(turn.value)
        if query is None:
            return 400, {"error": "not a Find partner search"}
        text, skip, count = query
        phrases = render.messages()
        if not text:
            return 200, _message(str(phrases["search_prompt"]))
        engine = self._engine_source()
        if engine is None or not getattr(engine, "ready", False):
            return 200, _message(str(phrases["loading"]))
        # anonymous, no groups, a shared conversation: whoever searches, the inserted card is public
        user = engine.user_context(None, conversation_type="groupChat")
        answer = inert_value(await asyncio.to_thread(engine.answer, text, user))
        partners = [*answer.partners, *answer.other_partners] if answer.kind in PARTNER_KINDS else []
        log.info("partner search: kind=%s partners=%d", answer.kind.value, len(partners))
        if not partners:
            return 200, _message(answer.summary or str(phrases["search_nothing"]))
        page = partners[skip:skip + count]
        asked = answer.understood.describe() or text
        return 200, {"composeExtension": {"type": "result", "attachmentLayout": "list",
                                          "attachments": results(page, answer.understood.industries, asked)}}
