"""Who may read a document (visibility, allowed groups) and the metadata it declares, from its front matter."""
from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.documents.normalise import normalise_inline
from knowledge.records import DEFAULT_CONFIDENTIAL_GROUPS

log = logging.getLogger(__name__)

VISIBILITIES = ("public", "internal", "confidential")
METADATA_KEYS = ("title", "program", "fiscal_year", "updated", "description")


def read_access(front: dict[str, Any] | None, rel: str) -> tuple[str, tuple[str, ...]]:
    front = front or {}
    raw_vis = front.get("visibility")
    groups = _groups(front.get("allowed_groups"))
    if raw_vis is None or str(raw_vis).strip() == "":
        # Naming groups without a visibility can only mean "restricted to them".
        return ("confidential", groups) if groups else ("internal", ())
    vis = str(raw_vis).strip().lower()
    if vis in ("private", "restricted", "secret"):
        vis = "confidential"
    if vis not in VISIBILITIES:
        # Fail closed: a typo in the visibility must not publish a document to every seller.
        log.warning("%s: unknown visibility %r, treating it as confidential", rel, raw_vis)
        vis = "confidential"
    if vis != "confidential":
        if groups:
            log.warning("%s: allowed_groups is ignored for %s documents", rel, vis)
        return vis, ()
    return vis, groups or DEFAULT_CONFIDENTIAL_GROUPS


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else re.split(r"[;,|]", str(value))
    # access.yaml group names are compared lower-case by the loader
    return tuple(dict.fromkeys(str(g).strip().lower() for g in items if str(g).strip()))


def read_metadata(front: dict[str, Any] | None) -> dict[str, str]:
    front = front or {}
    out = {key: _as_str(front[key]) for key in METADATA_KEYS if front.get(key) not in (None, "")}
    if "updated" not in out and front.get("ms.date"):  # Learn pages date themselves with ms.date
        out["updated"] = _as_str(front["ms.date"])
    return out


def _as_str(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(_as_str(v) for v in value)
    return normalise_inline(str(value))
