"""Sweep benchmark (issue 5): every unattached opportunity of a large pipeline, with its top partner suggestion.

Generates a catalog with ../shared/tools/gen_catalog.py's functions (default 10,000 partners, 100,000 opportunities),
loads its structured records, and times the full sweep export (what "Export CSV" of
"Which opportunities have no partner attached?" computes) plus one interactive sweep page.
Prints the figures and peak RSS; medians over --repeat runs.

  .venv/bin/python bench/sweep.py [--partners 10000] [--opps 100000] [--repeat 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from knowledge.loader import load_knowledge  # noqa: E402
from retrieval.catalog import Catalog  # noqa: E402
from retrieval.collector import loading_records  # noqa: E402
from retrieval.engine import KnowledgeEngine  # noqa: E402

GENERATOR = PROJECT.parent / "shared" / "tools" / "gen_catalog.py"
ECM = "00000000-0000-0000-0000-00000000e001"
QUESTION = "Which opportunities have no partner attached?"


def generate(knowledge: Path, partners: int, opportunities: int) -> None:
    """The shared generator's own records and writers (dev flavour), without its question step,
    whose ground-truth search is quadratic in the pipeline size and takes hours at 100,000."""
    spec = importlib.util.spec_from_file_location("gen_catalog", GENERATOR)
    assert spec and spec.loader
    gen: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    # Its names are A x B x C = 40 x 20 x 12 = 9,600 combinations, so it loops forever at 10,000
    # partners: add regional variants of the suffixes (57,600 names).
    gen.NAME_C = [f"{c}{region}" for c in gen.NAME_C for region in ("", " EMEA", " Americas", " APAC", " Nordics", " Iberia")]
    rng = random.Random(3)
    people = gen.make_partners(rng, partners, "CONF0003")
    smap = gen.make_solution_map(rng, people)
    opps = gen.make_opportunities(rng, people, smap, opportunities)
    (knowledge / "partners").mkdir(parents=True)
    (knowledge / "partners" / "partners.json").write_text(json.dumps(people))
    gen.write_table(knowledge / "solution_maps" / "solution_map.csv", smap, "dev")
    gen.write_table(knowledge / "opportunities" / "pipeline_export.csv", opps, "dev")
    (knowledge / "access.yaml").write_text(f"groups:\n  ecm:\n  - aad_object_id: {ECM}\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partners", type=int, default=10_000)
    ap.add_argument("--opps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this folder instead of a temp one")
    args = ap.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        if not (out / "knowledge").exists():
            t0 = time.perf_counter()
            generate(out / "knowledge", args.partners, args.opps)
            print(f"generated {args.partners} partners / {args.opps} opportunities in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        with loading_records():     # as `serve` loads them (retrieval/loading.py): frozen for the cycle collector
            knowledge = load_knowledge(out / "knowledge", documents=False)
        load_s = time.perf_counter() - t0
        print(f"loaded records in {load_s:.1f}s: {len(knowledge.partners)} partners, {len(knowledge.map_rows)} map rows, "
              f"{len(knowledge.opportunities)} opportunities (peak RSS {peak_rss_mb():.0f} MB)")
        full, pages, rows = [], [], 0
        for _ in range(args.repeat):
            with loading_records():
                engine = KnowledgeEngine(Catalog(knowledge), None)   # a fresh catalog: no warm ranking cache
            user = engine.user_context(ECM)
            t0 = time.perf_counter()
            exported = engine.export_sweep(QUESTION, user)
            full.append(time.perf_counter() - t0)
            assert exported is not None
            rows = len(exported[1])
            t0 = time.perf_counter()
            engine.answer(QUESTION, user)                        # the interactive first page, cache warm
            pages.append(time.perf_counter() - t0)
        print(f"full sweep: {rows} unattached opportunities with top suggestions: median {statistics.median(full):.2f}s "
              f"(runs: {', '.join(f'{t:.2f}' for t in full)}), {rows / statistics.median(full):,.0f} opportunities/s")
        print(f"interactive sweep page (25 lines, warm): median {statistics.median(pages) * 1000:.0f} ms")
        print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
