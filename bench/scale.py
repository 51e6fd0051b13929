"""Scale curve: catalogs of 1k, 10k and 50k partners (10× as many opportunities) from gen_catalog.py --flavour dev.

Per size: cold index time (a child process running `build_index`, with its peak RSS and where the time
went), on-disk size of the index directory, then real `bot.py serve` processes on that catalog: time to
ready, p50/p95 latency of each of the catalog's own generated questions asked once of a fresh server
(medians over servers), and the last server's RSS (VmRSS, and VmHWM for its peak) after a few hundred
expectReplies POSTs.

Generation runs `gen_catalog.main()` in a child process with three changes that leave its data as designed:
- partner names are drawn from 40×20×12 = 9,600 combinations and its loop would never finish above that,
  so for sizes past half of it the third name part gets regional suffixes ("Consulting Europe", …);
- YAML is written with libyaml's CSafeDumper instead of the pure-Python SafeDumper (same documents, 10× faster);
- its opportunity step scans every map row of the workload per opportunity (hours at 500,000): the same
  draws run against map rows indexed by workload and country, which gives the same rows.
Nothing of the 200 Partner Center documents is copied: only the generator's own program documents.
Generated catalogs are deterministic (fixed seed), so they are kept under the temp dir between runs,
keyed by the generator's hash; `--fresh-catalogs` regenerates them.

Also runnable as a worker: `python -m bench.scale generate N OUT` and `python -m bench.scale index K I`.
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import GEN_CATALOG_PY, PYTHON, bot_env, dir_size_mb, load_questions, median, run_measured
from bench.load import fresh_server_pass, summarize_passes
from retrieval.indexer import SNAPSHOT

SEED = 7
OPPORTUNITIES_PER_PARTNER = 10
_WRAPPER_VERSION = 1
_NAME_SUFFIXES = ["", " Europe", " Americas", " Asia Pacific", " Nordics", " Iberia", " DACH", " Benelux", " UK", " India"]


# ------------------------------------------------------------------ generation
def catalog_cache_root() -> Path:
    digest = hashlib.sha256(GEN_CATALOG_PY.read_bytes()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "partner-atlas-bench" / f"catalogs-{digest}-w{_WRAPPER_VERSION}"


def catalog_dir(partners: int) -> Path:
    return catalog_cache_root() / f"dev-{partners}"


def start_generation(sizes: list[int], fresh: bool) -> subprocess.Popen[Any] | None:
    """Generate the missing catalogs in one background child (sequentially); None when all are there."""
    missing = [n for n in sizes if fresh or not (catalog_dir(n) / "done").exists()]
    if not missing:
        return None
    for n in missing:
        shutil.rmtree(catalog_dir(n), ignore_errors=True)
    catalog_cache_root().mkdir(parents=True, exist_ok=True)
    log = open(catalog_cache_root() / "generate.log", "w")  # noqa: SIM115 - closed by the child's exit
    script = "; ".join(f"generate({n}, {str(catalog_dir(n))!r})" for n in missing)
    return subprocess.Popen([PYTHON, "-c", f"from bench.scale import generate; {script}"],
                            cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def generate(partners: int, out: str) -> None:
    """gen_catalog.py --flavour dev --seed 7 --partners N --opps 10N --out OUT, with the two changes above."""
    import functools  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("gen_catalog", GEN_CATALOG_PY)
    assert spec is not None and spec.loader is not None
    gen: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    capacity = len(gen.NAME_A) * len(gen.NAME_B) * len(gen.NAME_C)
    if 2 * partners > capacity:
        gen.NAME_C = [c + s for s in _NAME_SUFFIXES for c in gen.NAME_C]
    gen.yaml.safe_dump = functools.partial(yaml.dump, Dumper=yaml.CSafeDumper)
    gen.make_opportunities = functools.partial(_indexed_opportunities, gen)
    started = time.perf_counter()
    sys.argv = ["gen_catalog.py", "--flavour", "dev", "--seed", str(SEED), "--partners", str(partners),
                "--opps", str(OPPORTUNITIES_PER_PARTNER * partners), "--out", out]
    gen.main()
    (Path(out) / "done").write_text(f"{time.perf_counter() - started:.1f}\n")


def _indexed_opportunities(gen: Any, rng: Any, partners: list[dict[str, Any]], smap: list[dict[str, Any]],
                           n: int) -> list[dict[str, Any]]:
    """gen_catalog.make_opportunities, its candidate scan indexed by (workload, country): same draws, same rows."""
    from datetime import date, timedelta  # noqa: PLC0415

    candidates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in smap:
        for country in dict.fromkeys(row["countries"]):
            candidates.setdefault((row["workload"], country), []).append(row)
    workloads, countries = list(gen.WORKLOAD_PLAY), list(gen.COUNTRIES)
    opps = []
    for i in range(n):
        wl = rng.choice(workloads)
        country = rng.choice(countries)
        attached = ""
        if rng.random() < 0.62:
            cands = candidates.get((wl, country), [])
            if cands:
                attached = rng.choice(cands)["partner_id"]
        opps.append({
            "opportunity_id": f"OPP-{20000 + i}", "account": f"{rng.choice(gen.CUST_A)}{rng.choice(gen.CUST_B)}",
            "industry": rng.choice(gen.INDUSTRIES), "country": country, "segment": rng.choices(gen.SEGMENTS, [3, 1])[0],
            "solution_play": gen.WORKLOAD_PLAY[wl], "workload": wl,
            "estimated_value_usd": rng.choice([15000, 40000, 80000, 120000, 250000, 600000, 1200000]),
            "stage": rng.choice(gen.STAGES), "close_date": str(date(2026, 9, 1) + timedelta(days=rng.randint(0, 300))),
            "partner_id": attached, "owner": f"seller{rng.randint(1, 40)}@example.com",
        })
    return opps


def wait_generation(proc: subprocess.Popen[Any] | None, timeout: float = 1800) -> None:
    if proc is None:
        return
    try:
        if proc.wait(timeout) != 0:
            raise RuntimeError(f"catalog generation failed; see {catalog_cache_root() / 'generate.log'}")
    finally:
        from bench.common import stop_process_group  # noqa: PLC0415

        stop_process_group(proc)


# ------------------------------------------------------------------ index worker
def index_worker(knowledge_dir: str, index_dir: str) -> None:
    """Child process: one cold build_index (or an unchanged re-index when the index exists), as JSON on the last line."""
    if Path(index_dir).exists():
        from retrieval.indexer import build_index  # noqa: PLC0415

        report = build_index(Path(knowledge_dir), Path(index_dir), embedder="minilm", progress=False)
        print(json.dumps({"seconds": report.seconds, "added": report.stats.added}))
        return
    from bench.speed import cold_index  # noqa: PLC0415

    result = cold_index(Path(knowledge_dir), Path(index_dir))
    print(json.dumps(result))


def measure_size(partners: int, index_repetitions: int, serve_repetitions: int, warm_requests: int,
                 log: Any = print) -> dict[str, Any]:
    kdir = catalog_dir(partners) / "knowledge"
    questions = load_questions(catalog_dir(partners) / "questions.jsonl")
    work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{partners}-"))
    try:
        builds = []
        for rep in range(index_repetitions):
            index_dir = work / "index"
            shutil.rmtree(index_dir, ignore_errors=True)  # a new process per build: chromadb's client cache is gone too
            out, wall, peak = run_measured([PYTHON, "-m", "bench.scale", "index", str(kdir), str(index_dir)],
                                           env=bot_env(work))
            build = json.loads(out.strip().splitlines()[-1])
            builds.append({**build, "wall_seconds": wall, "peak_rss_mb": peak})
            log(f"  {partners}: cold index {rep + 1}/{index_repetitions}: {build['seconds']:.1f}s "
                f"(wall {wall:.1f}s, peak RSS {peak:.0f} MB)")
        out, wall, _ = run_measured([PYTHON, "-m", "bench.scale", "index", str(kdir), str(work / "index")],
                                    env=bot_env(work))
        reindex = json.loads(out.strip().splitlines()[-1])["seconds"]
        log(f"  {partners}: unchanged re-index {reindex:.1f}s (wall {wall:.1f}s)")
        size = dir_size_mb(work / "index")
        # blue/green: the snapshot lives in the generation the build made (gen-N/records.snapshot)
        pickle_mb = max(p.stat().st_size for p in (work / "index").rglob(SNAPSHOT)) / 1e6
        passes = []
        for rep in range(serve_repetitions):
            last = rep == serve_repetitions - 1
            passes.append(fresh_server_pass(kdir, work / "index", questions, 1, warm_requests=warm_requests if last else 0))
            log(f"  {partners}: serve ready in {passes[-1]['ready_seconds']:.1f}s, cold pass p95 "
                f"{1000 * passes[-1]['cold']['p95_s']:.0f} ms over {len(questions)} questions")
        http = summarize_passes(passes)
        result = {
            "partners": partners, "opportunities": OPPORTUNITIES_PER_PARTNER * partners, "questions": len(questions),
            "index_seconds": round(median([b["seconds"] for b in builds]), 2),
            "index_seconds_runs": [round(b["seconds"], 2) for b in builds],
            "index_breakdown_seconds": {
                "parse_chunk_snapshot": round(median([b["parse_snapshot_seconds"] for b in builds]), 2),
                "model": round(median([b["model_seconds"] for b in builds]), 2),
                "chroma_writes": round(median([b["chroma_seconds"] for b in builds]), 2)},
            "reindex_seconds": round(reindex, 2), "index_chunks": builds[0]["chunks"], "index_peak_rss_mb": round(median([b["peak_rss_mb"] for b in builds])),
            "index_dir_mb": round(size, 1), "records_pickle_mb": round(pickle_mb, 1),
            "serve_ready_seconds": http["ready_seconds"], "p50_ms": http["p50_ms"], "p95_ms": http["p95_ms"],
            "p95_ms_runs": http["p95_ms_runs"], "warm_p95_ms": http.get("warm_p95_ms"),
            "p95_by_kind_ms": http["p95_by_kind_ms"],
            # memory of the last server, after its cold pass and `warm_requests` more
            "serve_rss_mb": round(passes[-1]["rss_mb"]), "serve_peak_rss_mb": round(passes[-1]["peak_rss_mb"]),
            "requests_before_rss": passes[-1]["requests"], "errors": http["errors"],
        }
        log(f"  {partners}: p95 {result['p95_ms']:.0f} ms, serve RSS {result['serve_rss_mb']} MB, "
            f"index dir {result['index_dir_mb']} MB")
        log(f"  {partners}: against the targets for 50,000 partners: " + "; ".join(check_targets(result)))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Targets for a worldwide catalog (50,000 partners / 500,000 opportunities): printed, never asserted.
TARGETS = {"index_seconds": 60.0, "reindex_seconds": 5.0, "serve_ready_seconds": 5.0, "serve_rss_mb": 1024.0,
           "first_ask_p95_ms": 300.0}


def check_targets(result: dict[str, Any]) -> list[str]:
    """Each target with the measured value and whether it is met (documents are not in these catalogs)."""
    measured = {"index_seconds": result["index_seconds"], "reindex_seconds": result["reindex_seconds"],
                "serve_ready_seconds": result["serve_ready_seconds"], "serve_rss_mb": result["serve_rss_mb"],
                "first_ask_p95_ms": max(result["p95_by_kind_ms"].values(), default=result["p95_ms"])}
    return [f"{key} {measured[key]:g} (≤ {goal:g}: {'met' if measured[key] <= goal else 'NOT met'})"
            for key, goal in TARGETS.items()]


def growth_between(rows: list[dict[str, Any]], key: str) -> list[str]:
    """Each step of the curve as a factor, and that factor scaled to 10× partners: superlinear growth shows here."""
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        if a.get(key) and b.get(key):
            factor = b[key] / a[key]
            per_10x = factor ** (1 / math.log10(b["partners"] / a["partners"]))
            out.append(f"{a['partners'] // 1000}k→{b['partners'] // 1000}k ×{factor:.1f} (×{per_10x:.1f} per 10×)")
    return out


def growth_per_10x(rows: list[dict[str, Any]], key: str) -> float | None:
    """Least-squares slope of log10(metric) on log10(partners), as a factor per 10× partners (10**slope)."""
    points = [(math.log10(r["partners"]), math.log10(r[key])) for r in rows if r.get(key, 0) > 0]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return round(10 ** slope, 2)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "index":
        index_worker(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: python -m bench.scale index KNOWLEDGE INDEX | generate PARTNERS OUT")
