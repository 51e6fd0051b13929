"""Passage reranking on paraphrased FAQ questions: `python -m bench.rerank [--index DIR] [--fit]`.

The paraphrases (tests/retrieval/data/faq_paraphrases.jsonl) are hand-written the way sellers type,
for FAQ entries of the catalog-dev documents that ../shared/eval/faq_dev.jsonl does not ask about, and
split into a `tune` half and a `check` half. `--fit` fits the reranker's weights on the tune half only
(pairwise logistic regression, retrieval/rerank.py) and writes retrieval/data/rerank.yaml; every run
reports top-1 / top-3 on both halves and on the dev FAQ questions (report only: never fitted to), for
the plain reciprocal-rank fusion and for the reranker, and the reranker's own cost per question.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.common import CATALOG_DEV, FAQ_QUESTIONS, PROJECT_DIR, percentile

PARAPHRASES = PROJECT_DIR / "tests" / "retrieval" / "data" / "faq_paraphrases.jsonl"


def load(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{**r, "split": r.get("split", split)} for r in rows]


def is_right(question: dict[str, Any], chunk: Any) -> bool:
    """The passage is the FAQ entry the question paraphrases (any entry of its file for the dev set,
    which names only the file)."""
    if not chunk.doc_path.endswith("/" + question["source_file"]) and chunk.doc_path != question["source_file"]:
        return False
    wanted = question.get("faq_question")
    return wanted is None or chunk.heading in (wanted, *question.get("also_ok", ()))


def collect(engine: Any, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question: the candidates' feature rows, which rows are right, the rerank cost."""
    search = engine.search
    out = []
    for q in questions:
        understood = engine.understand(q["question"])
        subjects = [*understood.programs, *understood.specializations, *understood.designations]
        pool, matrix, _, ms = search.candidates(q["question"], lambda _c: True, subjects, understood.unknown_terms)
        right = [i for i, c in enumerate(pool) if is_right(q, search.chunks[c.position])]
        rrf = np.asarray([c.rrf for c in pool])
        out.append({"q": q, "matrix": matrix, "right": right, "rrf": rrf, "ms": ms})
    return out


def accuracy(rows: list[dict[str, Any]], weights: dict[str, float] | None) -> tuple[float, float]:
    from retrieval import rerank  # noqa: PLC0415

    top1 = top3 = 0
    for row in rows:
        scores = row["rrf"] if weights is None else rerank.score(row["matrix"], weights)
        order = list(np.argsort(-scores, kind="stable"))
        top1 += bool(order) and order[0] in row["right"]
        top3 += any(i in row["right"] for i in order[:3])
    n = max(1, len(rows))
    return top1 / n, top3 / n


_L2_GRID = (0.0, 0.0003, 0.001, 0.003, 0.01)
_FIXED = ("subject", "defines")   # rare in paraphrases of FAQ questions: set by hand, not fitted
_SCALE = 10.0                              # fitted weights are scaled to this sum, the scale _FIXED are set on


def fit_weights(rows: list[dict[str, Any]], folds: int = 5) -> tuple[dict[str, float], float]:
    """Weights fitted on these rows, with the L2 strength chosen by cross-validation on the same rows
    (the most regularized of the best); the weights of _FIXED are kept as they are in the file."""
    from retrieval import rerank  # noqa: PLC0415

    current = rerank.weights()
    groups = []
    for row in rows:
        if row["right"]:
            # one right passage per question: the best-ranked by the current weights among the right ones
            scores = rerank.score(row["matrix"], current)
            groups.append((row["matrix"], max(row["right"], key=lambda i: scores[i])))
    fixed = [rerank.FEATURES.index(name) for name in _FIXED]

    def fitted(train: list[tuple[np.ndarray, int]], l2: float) -> dict[str, float]:
        # the fixed features are left out of the fit (zeroed), then set as in the file
        masked = [(np.where(np.isin(np.arange(m.shape[1]), fixed), 0.0, m), i) for m, i in train]
        w = rerank.fit(masked, l2=l2, steps=20000)
        total = sum(v for k, v in w.items() if k not in _FIXED and v > 0) or 1.0
        return {k: (current[k] if k in _FIXED else round(v * _SCALE / total, 4)) for k, v in w.items()}

    best_l2, best_hits = _L2_GRID[0], -1
    for l2 in _L2_GRID:
        hits = 0
        for k in range(folds):
            w = fitted([g for i, g in enumerate(groups) if i % folds != k], l2)
            hits += sum(int(np.argmax(rerank.score(m, w)) == i) for j, (m, i) in enumerate(groups) if j % folds == k)
        if hits >= best_hits:
            best_l2, best_hits = l2, hits
    return fitted(groups, best_l2), best_l2


def run(index_dir: Path, *, do_fit: bool) -> dict[str, Any]:
    from retrieval import rerank  # noqa: PLC0415
    from retrieval.indexer import build_index  # noqa: PLC0415
    from retrieval.loading import load_engine  # noqa: PLC0415

    knowledge = CATALOG_DEV / "knowledge"
    build_index(knowledge, index_dir, embedder="minilm", progress=False)
    engine = load_engine(knowledge, index_dir)
    paraphrases = load(PARAPHRASES)
    sets = {"tune": [q for q in paraphrases if q["split"] == "tune"],
            "check": [q for q in paraphrases if q["split"] == "check"],
            "faq_dev": load(FAQ_QUESTIONS, "dev")}
    rows = {name: collect(engine, qs) for name, qs in sets.items()}
    if do_fit:
        weights, l2 = fit_weights(rows["tune"])
        text = rerank.WEIGHTS.read_text(encoding="utf-8").split("# fitted")[0].split("weights:")[0]
        rerank.WEIGHTS.write_text(text + f"# fitted by `python -m bench.rerank --fit` on the tune half (L2 {l2})\n"
                                  + yaml.safe_dump({"weights": weights}, sort_keys=False), encoding="utf-8")
        rerank.weights.cache_clear()
    results: dict[str, Any] = {"weights": rerank.weights()}
    for name, data in rows.items():
        fused, reranked = accuracy(data, None), accuracy(data, rerank.weights())
        results[name] = {"n": len(data), "rrf_top1": fused[0], "rrf_top3": fused[1],
                         "rerank_top1": reranked[0], "rerank_top3": reranked[1]}
    costs = [r["ms"] for data in rows.values() for r in data]
    results["rerank_ms"] = {"p50": percentile(costs, 0.5), "p95": percentile(costs, 0.95)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "partner-atlas-bench" / "rerank-index")
    parser.add_argument("--fit", action="store_true", help="fit the weights on the tune half and write them")
    args = parser.parse_args()
    results = run(args.index, do_fit=args.fit)
    print("| set | n | fusion top-1 | fusion top-3 | reranked top-1 | reranked top-3 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("tune", "check", "faq_dev"):
        r = results[name]
        print(f"| {name} | {r['n']} | {r['rrf_top1']:.3f} | {r['rrf_top3']:.3f} | {r['rerank_top1']:.3f} "
              f"| {r['rerank_top3']:.3f} |")
    print(f"reranker cost per question (features + scoring, after embedding and the index query): "
          f"p50 {results['rerank_ms']['p50']:.1f} ms, p95 {results['rerank_ms']['p95']:.1f} ms")
    print("weights:", json.dumps(results["weights"]))


if __name__ == "__main__":
    main()
