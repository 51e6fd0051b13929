"""The referral parts of an answer: co-sell referral lines and customer wins (as sections of
dialogs/answer_view.py), and the Confirm-share button of a share pre-flight.

The Confirm button carries ids only; its handler (dialogs/workflow.py) checks the sender again, because a
card submit is user input.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.geography import country_name
from retrieval.answers import Answer, ReferralLine, WinLine

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


def sections(answer: Answer, limit: int | None) -> list[tuple[str, str, list[str], int, str]]:
    """The referrals and wins lists as (key, heading, lines, hidden, note) for dialogs/answer_view.py."""
    out = []
    for key, heading, items, fmt in (("referrals", "Co-sell referrals", answer.referrals, referral_line),
                                     ("wins", "Customer wins", answer.wins, win_line)):
        if not items:
            continue
        shown, hidden = _take(items, limit)
        note = _total(answer, len(shown), len(items))
        out.append((key, heading, [fmt(x) for x in shown], 0 if note else hidden, note))  # type: ignore[operator]
    return out


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
