"""Answer quality: pass rate per question kind for our bot and each baseline, scored by evaluate.py's `score`.

Every system sees the same questions (catalog-dev `questions.jsonl` plus the FAQ set as kind "faq") and
is scored by the acceptance harness's own functions, imported, never copied. Our bot's reply text is
`answer_to_text(engine.answer(question, user))` in process, the user being an ECM member when the
question says `as_group: ecm` (the baselines have no notion of users: they answer everyone alike).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import load_evaluate

# The kinds whose gap to the better baseline is a target (≥ 30 points).
TARGET_KINDS = ("cover", "incentive", "attach")
TARGET_GAP_POINTS = 30.0


def score_system(answer: Callable[[dict[str, Any]], str], questions: list[dict[str, Any]],
                 knowledge_dir: Path) -> dict[str, Any]:
    """Ask every question, score each reply; returns per-kind pass rates, overall, and the per-question rows."""
    ev = load_evaluate()
    names, profiles = ev.load_catalog_names(knowledge_dir)
    programs = ev.incentive_names(knowledge_dir)
    rows = []
    for q in questions:
        text = answer(q)
        result = ev.score(q, text, names, profiles, programs)
        rows.append({"id": q["id"], "kind": q["kind"], "pass": bool(result["pass"]),
                     "mentioned": result.get("mentioned", [])[:5]})
    return {"by_kind": pass_rates(rows), "overall": round(sum(r["pass"] for r in rows) / max(1, len(rows)), 3),
            "questions": rows}


def pass_rates(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        of_kind = [r for r in rows if r["kind"] == kind]
        out[kind] = {"n": len(of_kind), "pass_rate": round(sum(r["pass"] for r in of_kind) / len(of_kind), 3)}
    return out


def gaps(ours: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Points (0–100) between our pass rate and the better baseline's, per target kind."""
    out = {}
    for kind in TARGET_KINDS:
        best_name, best = max(((name, b["by_kind"].get(kind, {}).get("pass_rate", 0.0)) for name, b in baselines.items()),
                              key=lambda kv: kv[1])
        mine = ours["by_kind"].get(kind, {}).get("pass_rate", 0.0)
        points = round(100 * (mine - best), 1)
        out[kind] = {"ours": mine, "better_baseline": best_name, "baseline": best, "points": points,
                     "met": points >= TARGET_GAP_POINTS}
    return out
