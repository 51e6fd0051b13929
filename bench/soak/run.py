"""One soak run end to end (the steps of the package docstring), and the `python -m bench.soak` command line."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, bot_env, percentile, run_measured, serve
from bench.soak.load_profile import (
    BENCH_DIR,
    CACHE,
    REINDEX_BUDGET_S,
    RSS_SLOPE_LIMIT_MB_PER_MIN,
    Plan,
    give_reindex_work,
    prepare_knowledge,
)
from bench.soak.processes import (
    Sampler,
    code_state,
    cpu_seconds,
    first_request_time,
    healthz,
    index_command,
    locust_command,
    log,
    sleep_until,
    stop_locust,
    uptime,
)
from bench.soak.report import locust_summary, markdown, phase_figures, read_request_log, slope_per_minute, verdicts


def run(plan: Plan, index_dir: Path, work: Path) -> dict[str, Any]:
    started_wall = time.time()
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": code_state(),
                              "cpus": os.cpu_count(), "users": plan.users, "ramp_s": plan.ramp_s, "soak_s": plan.soak_s,
                              "warmup_s": plan.warmup_s, "tail_s": plan.tail_s, "think_s": list(plan.think_s),
                              "uptime_before": uptime()}
    log(f"uptime before: {result['uptime_before']}")
    knowledge = prepare_knowledge(CACHE / "knowledge")
    log(f"indexing {knowledge} into {index_dir} (incremental: seconds if already indexed)")
    out, seconds, _ = run_measured(index_command(knowledge, index_dir), env=bot_env(work), timeout=REINDEX_BUDGET_S)
    result["initial_index"] = {"seconds": round(seconds, 1), "summary": out.strip().splitlines()[-1] if out.strip() else ""}

    request_log = work / "requests.csv"
    csv_prefix = work / "locust"
    with serve(knowledge, index_dir) as server:
        log(f"serving on {server.url} (pid {server.pid}, ready in {server.ready_seconds:.1f} s)")
        sampler = Sampler(server.pid, plan.sample_every_s)
        sampler.start()
        cap = plan.ramp_s + plan.soak_s + REINDEX_BUDGET_S + plan.tail_s + 120
        cmd = locust_command(server.url, plan.users, plan.users / plan.ramp_s, cap, csv_prefix, request_log)
        cmd += ["--think-min", str(plan.think_s[0]), "--think-max", str(plan.think_s[1])]
        locust_log = open(work / "locust.log", "w")  # noqa: SIM115 - closed below
        locust = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=bot_env(work), stdout=locust_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            t_ramp = first_request_time(request_log, locust, timeout=60.0)
            soak_start, soak_end = t_ramp + plan.ramp_s, t_ramp + plan.ramp_s + plan.soak_s
            log(f"ramping to {plan.users} users over {plan.ramp_s:.0f} s, then soaking {plan.soak_s:.0f} s")
            sleep_until(soak_start, locust)
            locust_cpu = (time.time(), cpu_seconds(locust.pid))
            sleep_until(soak_end, locust)
            result["locust_cpu_percent_soak"] = round(100 * (cpu_seconds(locust.pid) - locust_cpu[1])
                                                      / (time.time() - locust_cpu[0]))
            health_before = healthz(server.url)
            changed = give_reindex_work(knowledge)
            log(f"soak over; re-indexing under load after changing {changed}")
            reindex_start = time.time()
            try:
                out, seconds, peak = run_measured(index_command(knowledge, index_dir), env=bot_env(work),
                                                  timeout=REINDEX_BUDGET_S)
                reindex = {"exit": 0, "seconds": round(seconds, 1), "peak_rss_mb": round(peak), "summary": out[-2000:]}
            except RuntimeError as exc:
                reindex = {"exit": "failed", "seconds": time.time() - reindex_start, "peak_rss_mb": float("nan"),
                           "summary": str(exc)[-2000:]}
            reindex_end = time.time()
            log(f"re-index done in {reindex_end - reindex_start:.1f} s; load goes on for {plan.tail_s:.0f} s")
            sleep_until(reindex_end + plan.tail_s, locust)
            reindex["health_before"] = {k: health_before.get(k) for k in ("status", "chunks", "error") if k in health_before}
            health_after = healthz(server.url)
            reindex["health_after"] = {k: health_after.get(k) for k in ("status", "chunks", "error") if k in health_after}
        finally:
            stop_at = time.time()
            stop_locust(locust)
            locust_log.close()
            sampler.stop()
    result["uptime_after"] = uptime()
    log(f"uptime after: {result['uptime_after']}")

    requests = read_request_log(request_log)
    samples = sampler.samples
    result["phases"] = [
        phase_figures("ramp", t_ramp, soak_start, requests, samples),
        phase_figures("soak", soak_start, soak_end, requests, samples),
        phase_figures(f"soak after {plan.warmup_s:.0f} s warm-up", soak_start + plan.warmup_s, soak_end, requests, samples),
        phase_figures("re-index", reindex_start, reindex_end, requests, samples),
        phase_figures("after re-index", reindex_end, stop_at, requests, samples),
        phase_figures("whole run", t_ramp, stop_at, requests, samples),
    ]
    soak_samples = [s for s in samples if soak_start <= s["t"] <= soak_end]
    warm = [s for s in soak_samples if s["t"] >= soak_start + plan.warmup_s]
    result["memory"] = {
        "rss_soak_start_mb": round(soak_samples[0]["rss_mb"], 1), "rss_soak_end_mb": round(soak_samples[-1]["rss_mb"], 1),
        "rss_soak_max_mb": round(max(s["rss_mb"] for s in soak_samples), 1),
        "rss_after_warmup_start_mb": round(warm[0]["rss_mb"], 1),
        "slope_whole_soak_mb_per_min": round(slope_per_minute([(s["t"], s["rss_mb"]) for s in soak_samples]), 3),
        "slope_after_warmup_mb_per_min": round(slope_per_minute([(s["t"], s["rss_mb"]) for s in warm]), 3),
        "hwm_max_mb": round(max(s["hwm_mb"] for s in samples), 1), "limit_mb_per_min": RSS_SLOPE_LIMIT_MB_PER_MIN,
    }
    by_kind: dict[str, list[float]] = {}
    for req in requests:
        if soak_start <= req["start"] < soak_end:
            by_kind.setdefault(req["kind"], []).append(req["ms"])
    result["by_kind"] = {k: {"n": len(v), "p95_ms": round(percentile(v, 0.95), 1)} for k, v in by_kind.items()}
    result["reindex"] = {**reindex, "changed": changed, "start_s_after_ramp_start": round(reindex_start - t_ramp, 1)}
    result["locust"] = locust_summary(csv_prefix)
    result["locust_exit"] = locust.returncode
    result["verdicts"] = verdicts(result)
    result["total_minutes"] = round((time.time() - started_wall) / 60, 1)
    result["samples"] = [{k: round(v, 3) for k, v in s.items()} for s in samples]
    return result



def main() -> None:
    from bench import soak  # noqa: PLC0415 - the package docstring is the command's help

    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=soak.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("SOAK_QUICK") == "1",
                        help="10 users, 10 s ramp, 60 s soak (a smoke run; results under the temp dir)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--ramp", type=float, help="seconds to reach --users")
    parser.add_argument("--soak", type=float, help="seconds at the peak before the re-index")
    parser.add_argument("--warmup", type=float, help="seconds of the soak left out of the RSS slope")
    parser.add_argument("--tail", type=float, help="seconds of load after the re-index")
    parser.add_argument("--sample-every", type=float, help="seconds between /proc samples of the server")
    parser.add_argument("--index", type=Path, default=CACHE / "index", help="index folder (kept between runs)")
    parser.add_argument("--out-dir", type=Path, help="where soak.json and SOAK.md go (default bench/, "
                                                     "or the temp dir with --quick)")
    args = parser.parse_args()
    plan = Plan.quick() if args.quick else Plan()
    overrides = {k: v for k, v in {"users": args.users, "ramp_s": args.ramp, "soak_s": args.soak, "warmup_s": args.warmup,
                                   "tail_s": args.tail, "sample_every_s": args.sample_every}.items() if v is not None}
    plan = Plan(**{**plan.__dict__, **overrides})
    if plan.users < 1 or plan.ramp_s <= 0 or plan.soak_s <= plan.warmup_s or plan.tail_s < 0:
        parser.error("need users ≥ 1, ramp > 0, soak > warmup, tail ≥ 0")
    out_dir = args.out_dir or (CACHE if args.quick else BENCH_DIR)
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="soak-", dir=CACHE))
    result = run(plan, args.index, work)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "soak.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    text = markdown(result)
    (out_dir / "SOAK.md").write_text(text)
    print(text)
    log(f"wrote {out_dir / 'soak.json'} and {out_dir / 'SOAK.md'}; Locust's files are in {work}")
