"""Marker strings for confidential content, collected from parsed records (never hard-coded).

A marker is a string that only confidential content carries: partners' `notes_confidential`, the
opportunity pipeline (ids, accounts, owners), co-sell referrals (ids, customers) and confidential documents. Strings that also occur in
public or internal content (a customer that is both a pipeline account and a published win, say) are
dropped: seeing them proves nothing. `leaks(text, markers, typed)` ignores what the user typed.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from knowledge.records import Knowledge

MIN_MARKER = 8


def _lines(text: str, width: int = 48) -> Iterable[str]:
    """Distinctive pieces of a confidential text: its sentences' openings (inert-rendered text keeps words)."""
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", text):
        sentence = " ".join(sentence.split())
        if len(sentence) >= 24:
            yield sentence[:width]


def public_corpus(kb: Knowledge) -> str:
    parts: list[str] = []
    for partner in kb.partners:
        parts.append(repr(dataclasses.replace(partner, notes_confidential="")))
    parts += [repr(row) for row in kb.map_rows] + [repr(rule) for rule in kb.incentives]
    parts += [doc.title + "\n" + doc.text for doc in kb.documents if doc.visibility != "confidential"]
    return "\n".join(parts)


def confidential_markers(kb: Knowledge) -> dict[str, str]:
    """marker → what it comes from ("notes P-1003", "opportunity OPP-20001 owner", "document x.md")."""
    found: dict[str, str] = {}
    for partner in kb.partners:
        if partner.notes_confidential:
            for piece in _lines(partner.notes_confidential):
                found.setdefault(piece, f"notes of {partner.id}")
            found.setdefault(" ".join(partner.notes_confidential.split())[:20], f"notes of {partner.id}")
    for opp in kb.opportunities:
        found.setdefault(opp.id, f"opportunity {opp.id}")
        for label, value in (("account", opp.account), ("owner", opp.owner)):
            if len(value) >= MIN_MARKER:
                found.setdefault(value, f"opportunity {opp.id} {label}")
    for referral in getattr(kb, "referrals", []):
        found.setdefault(referral.referral_id, f"referral {referral.referral_id}")
        if len(referral.customer_name) >= MIN_MARKER:
            found.setdefault(referral.customer_name, f"referral {referral.referral_id} customer")
    for doc in kb.documents:
        if doc.visibility == "confidential":
            for piece in _lines(doc.text):
                found.setdefault(piece, f"confidential document {doc.path}")
    public = public_corpus(kb)
    return {m: why for m, why in found.items() if len(m) >= MIN_MARKER and m not in public}


def leaks(text: str, markers: dict[str, str], typed: str = "") -> dict[str, str]:
    """The markers in `text` that the user did not type themselves."""
    return {m: why for m, why in markers.items() if m in text and m not in typed}


REGISTERED: dict[str, str] = {}     # markers of knowledge that tests plant in temporary folders


def knowledge_markers(root: Path, *, documents: bool = True) -> dict[str, str]:
    """Markers of a whole folder (structured records, and documents unless documents=False)."""
    from knowledge.loader import load_knowledge

    if not root.is_dir():
        return {}
    return confidential_markers(load_knowledge(root, documents=documents, parse_timeout=0))


def log_leaks(log: Path, markers: dict[str, str]) -> set[tuple[str, str]]:
    """(logger, marker source) for every log line holding a marker."""
    found: set[tuple[str, str]] = set()
    logger = "?"
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.startswith("\t"):
                logger = line.split(" ", 2)[1].rstrip(":") if line.count(" ") >= 2 else "?"
            for marker, why in markers.items():
                if marker in line:
                    found.add((logger, why))
    return found
