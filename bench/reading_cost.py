"""The understanding's own cost per question: reading a question (amounts, language, tolerant spelling,
exact linking, constraints) without answering it, p50/p95 in ms over the dev questions, wall clock and CPU
(on a shared machine the CPU figure is the steadier one). Printed, not asserted.

    .venv/bin/python -m bench.reading_cost [KNOWLEDGE_DIR]      # default: ../shared/catalog-dev/knowledge
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CATALOG_DEV, percentile

TARGET_P95_MS = 10.0


def dev_questions() -> list[str]:
    out: list[str] = []
    for name in ("questions.jsonl", "questions_natural.jsonl"):
        path = CATALOG_DEV / name
        if path.exists():
            out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def understanding_cost(catalog: Any, questions: list[str], passes: int = 3) -> dict[str, Any]:
    """Per-question cost of `read` on a loaded catalog; the one-off vocabulary index is timed apart."""
    from retrieval.understanding.lexicon import lexicon  # noqa: PLC0415
    from retrieval.understanding.read import read  # noqa: PLC0415

    started = time.perf_counter()
    lexicon(catalog)
    build_ms = 1000 * (time.perf_counter() - started)
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(passes):
        for question in questions:
            started, started_cpu = time.perf_counter(), time.process_time()
            read(question, catalog)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return {"p50_ms": round(1000 * percentile(times, 0.5), 3), "p95_ms": round(1000 * percentile(times, 0.95), 3),
            "cpu_p95_ms": round(1000 * percentile(cpu, 0.95), 3),
            "vocabulary_index_ms": round(build_ms, 1), "questions": len(questions), "passes": passes,
            "target_p95_ms": TARGET_P95_MS}


def line(result: dict[str, Any]) -> str:
    return (f"understanding: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms per question, "
            f"CPU p95 {result['cpu_p95_ms']:.2f} ms "
            f"(target p95 ≤ {result['target_p95_ms']:.0f} ms; {result['questions']} questions × {result['passes']}; "
            f"vocabulary index built once in {result['vocabulary_index_ms']:.0f} ms)")


def main(argv: list[str]) -> int:
    from knowledge.loader import load_knowledge  # noqa: PLC0415
    from retrieval.catalog import Catalog  # noqa: PLC0415

    knowledge_dir = Path(argv[0]) if argv else CATALOG_DEV / "knowledge"
    catalog = Catalog(load_knowledge(knowledge_dir, documents=False))
    print(line(understanding_cost(catalog, dev_questions())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
