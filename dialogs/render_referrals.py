"""The referral parts of an answer, as Markdown lines and Adaptive Card elements, in dialogs/render.py's style:
co-sell referral lines, customer wins, and the Confirm-share button of a share pre-flight.

The Confirm button carries ids only; its handler (dialogs/workflow.py) checks the sender again, because a
card submit is user input.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.geography import country_name
from retrieval.answers import Answer, AnswerKind, ReferralLine, WinLine

SHARE_KEY = "partnerAtlas"          # the same key as every other card submit of this bot (render.FEEDBACK_KEY)


def referral_line(line: ReferralLine) -> str:
    where = country_name(line.country) if line.country else ""
    bits = [line.direction, line.partner_name, line.customer, where, line.workload, line.value,
            f"created {line.created}" if line.created else "", line.waiting,
            f"expires {line.expiration}" if line.expiration and not line.waiting and line.state in ("Pending", "Received")
            else "",
            f"opportunity {line.crm_id}" if line.crm_id else "no Microsoft opportunity yet",
            f"seller {line.seller}" if line.seller else "", f"reason: {line.reason}" if line.reason else ""]
    return f"**{line.referral_id}** · {line.state} · " + " · ".join(b for b in bits if b)


def win_line(win: WinLine) -> str:
    where = country_name(win.country) if win.country else ""
    bits = [win.partner_name, win.workload, win.industry, where, str(win.year) if win.year else ""]
    source = "partner profile" if win.source == "profile" else f"co-sell referral {win.source}"
    return f"**{win.customer}** · " + " · ".join(b for b in bits if b) + f" · source: {source}"


def _take(items: Sequence[Any], limit: int | None) -> tuple[Sequence[Any], int]:
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def _total(answer: Answer, shown: int, listed: int) -> str:
    total = max(answer.total or 0, listed)
    return f"Showing {shown} of {total}." if total > shown else ""


def text_blocks(answer: Answer, limit: int | None) -> list[str]:
    """The referrals and wins sections of the Markdown text."""
    blocks = []
    for heading, items, fmt in (("Co-sell referrals", answer.referrals, referral_line),
                                ("Customer wins", answer.wins, win_line)):
        if not items:
            continue
        shown, hidden = _take(items, limit)
        lines = [f"**{heading}**"] + [f"- {fmt(x)}" for x in shown]  # type: ignore[operator]
        note = _total(answer, len(shown), len(items))
        if hidden and not note:
            lines.append(f"… and {hidden} more")
        if note:
            lines.append(note)
        blocks.append("\n".join(lines))
    return blocks


def card_items(answer: Answer, limit: int | None) -> list[dict[str, Any]]:
    """The same sections as Adaptive Card elements."""
    body: list[dict[str, Any]] = []
    for text in text_blocks(answer, limit):
        heading, *rest = text.split("\n")
        body.append({"type": "TextBlock", "text": heading.strip("*"), "wrap": True, "weight": "Bolder",
                     "size": "Medium", "spacing": "Medium", "separator": True})
        body += [{"type": "TextBlock", "text": "• " + line[2:] if line.startswith("- ") else line, "wrap": True,
                  "spacing": "None"} for line in rest]
    return body


def share_actions(answer: Answer) -> list[dict[str, Any]]:
    """Confirm share, for a pre-flight that passed (channel managers in a 1:1 chat only: see render)."""
    if answer.kind is not AnswerKind.SHARE or answer.share is None:
        return []
    return [{"type": "Action.Submit", "title": "Confirm share",
             "data": {SHARE_KEY: "share", "opportunityId": answer.share.opportunity_id,
                      "partnerId": answer.share.partner_id}}]


@dataclass(frozen=True)
class ShareConfirm:
    opportunity_id: str
    partner_id: str


def share_of(value: object) -> ShareConfirm | None:
    """The share a Confirm button asks for; None when the submit is not one (or is malformed)."""
    if not isinstance(value, dict) or value.get(SHARE_KEY) != "share":
        return None
    opportunity_id, partner_id = value.get("opportunityId"), value.get("partnerId")
    if not isinstance(opportunity_id, str) or not isinstance(partner_id, str):
        return None
    opportunity_id, partner_id = opportunity_id.strip()[:64], partner_id.strip()[:64]
    return ShareConfirm(opportunity_id, partner_id) if opportunity_id and partner_id else None
