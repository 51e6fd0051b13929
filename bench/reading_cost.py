"""The understanding's own cost per question: reading a question (amounts, language, tolerant spelling,
exact linking, constraints) and reading its answer kind, without answering it: p50/p95 in ms over the
dev questions, wall clock and CPU (on a shared machine the CPU figure is the steadier one). Printed, not asserted.

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
    """Per-question cost of understanding on a loaded catalog: `read` (amounts, language, tolerant spelling,
    linking, constraints), then the answer kind (masking, one embedding of the shape, the nearest-neighbour
    vote), each question at first sight (the classifier's shape cache is emptied before each). The one-off
    vocabulary index and the bank's vectors are timed apart."""
    from retrieval.understanding.intent import shared_classifier  # noqa: PLC0415
    from retrieval.understanding.lexicon import lexicon  # noqa: PLC0415
    from retrieval.understanding.read import read  # noqa: PLC0415

    started = time.perf_counter()
    lexicon(catalog)
    classifier = shared_classifier()
    build_ms = 1000 * (time.perf_counter() - started)
    times: list[float] = []
    cpu: list[float] = []
    reading: list[float] = []
    for _ in range(passes):
        for question in questions:
            if classifier is not None:
                classifier._cache.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            linked = read(question, catalog)
            reading.append(time.perf_counter() - started)
            if classifier is not None:
                classifier.classify(linked.text, catalog.vocabulary)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return {"p50_ms": round(1000 * percentile(times, 0.5), 3), "p95_ms": round(1000 * percentile(times, 0.95), 3),
            "cpu_p95_ms": round(1000 * percentile(cpu, 0.95), 3),
            "reading_p95_ms": round(1000 * percentile(reading, 0.95), 3), "with_intent": classifier is not None,
            "vocabulary_index_ms": round(build_ms, 1), "questions": len(questions), "passes": passes,
            "target_p95_ms": TARGET_P95_MS}


def line(result: dict[str, Any]) -> str:
    kind = " + answer kind" if result.get("with_intent") else " (no intent model installed)"
    return (f"understanding (reading{kind}): p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms per "
            f"question, CPU p95 {result['cpu_p95_ms']:.2f} ms, reading alone p95 {result.get('reading_p95_ms', 0):.2f} ms "
            f"(target p95 ≤ {result['target_p95_ms']:.0f} ms; {result['questions']} questions × {result['passes']}; "
            f"vocabulary index and intent bank ready once in {result['vocabulary_index_ms']:.0f} ms)")


def main(argv: list[str]) -> int:
    from knowledge.loader import load_knowledge  # noqa: PLC0415
    from retrieval.catalog import Catalog  # noqa: PLC0415

    knowledge_dir = Path(argv[0]) if argv else CATALOG_DEV / "knowledge"
    catalog = Catalog(load_knowledge(knowledge_dir, documents=False))
    print(line(understanding_cost(catalog, dev_questions())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
