"""`make soak`: Locust against a real `bot.py serve` on loopback — ramp, 10-minute soak, then a live re-index.

  python -m bench.soak [--users 50] [--ramp 60] [--soak 600] [--warmup 120] [--tail 60] [--index DIR] [--quick]
                                                                   (SOAK_QUICK=1 is --quick: 10 users, 60 s soak)

1. The catalog-dev knowledge folder is copied (mtimes kept) to <tmp>/partner-atlas-bench/soak/knowledge and
   indexed with `bot.py index` into <tmp>/partner-atlas-bench/soak/index (or --index DIR): incremental, so
   seconds when it is already there, about a minute cold.
2. `bot.py serve` starts on a free 127.0.0.1 port (bench.common.serve); every --sample-every seconds its
   VmRSS, open file descriptors (/proc/PID/fd), threads and CPU time are read from /proc.
3. Locust (bench/locustfile.py: sellers and channel managers in their 1:1 chats, expectReplies, think time
   1–3 s) ramps to --users over --ramp seconds, then holds them for the --soak seconds.
4. Re-index while the load goes on: a new program document is added to the folder and an existing one
   changed, and the real `bot.py index` runs into the live index folder; after it, the load goes on for
   --tail seconds, then Locust is stopped (SIGTERM: it writes its CSV stats and exits).
5. Every request's latency and outcome come from the locustfile's request log and are cut into phases by
   start time: ramp, soak, re-index (index command running), after re-index. Percentiles are nearest-rank
   over every request of the phase; Locust's own (bucketed) summary is kept as a cross-check.

"No memory growth" is judged on the soak after --warmup seconds (caches fill while the questions are first
seen): the least-squares slope of the server's RSS must be ≤ RSS_SLOPE_LIMIT_MB_PER_MIN (0.5 MB/min,
i.e. ≤ 4 MB over the 8 minutes, ~1 % of the serving RSS — within what the allocator moves without a leak;
a leak from per-request state would show as MB per minute at ~20 requests/s), and the open file
descriptors must not end that window above where they started it.

Writes bench/soak.json (every sample) and bench/SOAK.md, and prints the table; --quick writes them under
<tmp>/partner-atlas-bench/soak/ instead, so a smoke run never replaces measured figures. Only loopback;
every phase is bounded and Locust also has a hard --run-time cap; the server is killed on the way out.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import CATALOG_DEV, PROJECT_DIR, PYTHON, bot_env, memory_mb, percentile, run_measured, serve

BENCH_DIR = Path(__file__).resolve().parent
CACHE = Path(tempfile.gettempdir()) / "partner-atlas-bench" / "soak"
LOCUSTFILE = BENCH_DIR / "locustfile.py"
RSS_SLOPE_LIMIT_MB_PER_MIN = 0.5
P95_TARGET_MS = 1000.0
REINDEX_BUDGET_S = 900.0
ADDED_DOCUMENT = "programs/soak-reindex-fy27-update.md"
CHANGED_DOCUMENT = "programs/ecif.md"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# ------------------------------------------------------------------ the server process, sampled from /proc
def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


@dataclass
class Sampler:
    """Every `every` seconds: time, server RSS / peak / fds / threads / CPU seconds, load average."""

    pid: int
    every: float
    samples: list[dict[str, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        try:
            memory = memory_mb(self.pid)
            self.samples.append({"t": time.time(), "rss_mb": memory["VmRSS"], "hwm_mb": memory["VmHWM"],
                                 "fds": open_fds(self.pid), "threads": threads(self.pid),
                                 "cpu_s": cpu_seconds(self.pid), "load1": os.getloadavg()[0]})
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            pass   # the server is gone: the run will fail on its own

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                self.sample()
                self._stop.wait(self.every)

        self._thread = threading.Thread(target=run, name="soak-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.sample()


# ------------------------------------------------------------------ knowledge and re-index
def prepare_knowledge(target: Path) -> Path:
    """A fresh copy of catalog-dev's knowledge (mtimes kept, so an existing index of it stays unchanged)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(CATALOG_DEV / "knowledge", target)
    for path in [target, *target.rglob("*")]:       # ../shared is read-only: the copy must be writable
        path.chmod(path.stat().st_mode | 0o200)
    return target


def index_command(knowledge: Path, index: Path) -> list[str]:
    return [PYTHON, "bot.py", "index", "--knowledge", str(knowledge), "--index", str(index), "--no-progress"]


def give_reindex_work(knowledge: Path) -> list[str]:
    """Add one program document and change another, as a knowledge admin's edit would: the index has work."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections = []
    for n, (area, workload) in enumerate([("Security", "Microsoft Sentinel"), ("Modern Work", "Microsoft Teams Phone"),
                                          ("Data & AI", "Azure AI Foundry"), ("Infrastructure", "Azure VMware Solution"),
                                          ("Business Applications", "Dynamics 365 Sales"),
                                          ("Digital & App Innovation", "GitHub Copilot")], 1):
        sections.append(
            f"## {area}: {workload} readiness offer\n\n"
            f"- Funding: partner-delivered readiness workshops for {workload}, up to USD {n * 5},000 per customer.\n"
            f"- Eligible partners: Solutions Partner designation in {area}, with at least one certified engineer.\n"
            f"- Customer segments: SMC and Enterprise; available in every country where {workload} is sold.\n"
            f"- How to request: the partner submits the workshop plan in Partner Center before delivery; the claim "
            f"follows within 30 days with the attendee list and the customer's sign-off.\n\n"
            f"Sellers should nominate customers whose {workload} adoption is below plan. Workshops cannot be "
            f"combined with another Microsoft-funded engagement for the same workload in the same quarter.\n")
    added = knowledge / ADDED_DOCUMENT
    added.write_text("---\ntitle: FY27 readiness workshop update\nprogram: Readiness workshops\nfiscal_year: FY27\n"
                     f"updated: {time.strftime('%Y-%m-%d')}\n---\n# FY27 readiness workshop update\n\n"
                     f"Published {stamp}. Readiness workshops help partners land new workloads with customers.\n\n"
                     + "\n".join(sections), encoding="utf-8")
    changed = knowledge / CHANGED_DOCUMENT
    changed.write_text(changed.read_text(encoding="utf-8")
                       + f"\n\nUpdated {stamp}: claims now need the customer's sign-off within 60 days.\n", encoding="utf-8")
    return [ADDED_DOCUMENT, CHANGED_DOCUMENT]


def healthz(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
            return dict(json.loads(r.read() or b"{}"), status=r.status)
    except Exception as exc:  # noqa: BLE001 - a failing health check is a figure here, not a crash
        return {"error": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------ Locust
def locust_command(url: str, users: int, spawn_rate: float, cap_s: float, csv_prefix: Path, request_log: Path) -> list[str]:
    return [PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
            "-u", str(users), "-r", f"{spawn_rate:.4f}", "--run-time", f"{int(cap_s)}s", "--stop-timeout", "10",
            "--csv", str(csv_prefix), "--only-summary", "--request-log", str(request_log), "--loglevel", "WARNING"]


def read_request_log(path: Path) -> list[dict[str, Any]]:
    """Rows of the locustfile's log, each with its start time (end time less latency)."""
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 5:
                end, ms = float(row[0]), float(row[1])
                out.append({"start": end - ms / 1000, "ms": ms, "ok": row[2] == "1", "kind": row[3], "reason": row[4]})
    return out


def locust_summary(csv_prefix: Path) -> dict[str, Any]:
    """Locust's own aggregated row and the most users it reports running (its bucketed percentiles)."""
    out: dict[str, Any] = {}
    stats = Path(f"{csv_prefix}_stats.csv")
    if stats.exists():
        with open(stats, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("Name") == "Aggregated":
                    out = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                           "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
                           "max_ms": float(row["Max Response Time"]), "requests_per_s": float(row["Requests/s"])}
    history = Path(f"{csv_prefix}_stats_history.csv")
    if history.exists():
        with open(history, newline="") as f:
            users = [int(r["User Count"]) for r in csv.DictReader(f) if r.get("Name") == "Aggregated"]
        out["max_users"] = max(users, default=0)
    failures = Path(f"{csv_prefix}_failures.csv")
    if failures.exists():
        with open(failures, newline="") as f:
            out["failure_reasons"] = {r["Error"]: int(r["Occurrences"]) for r in csv.DictReader(f)}
    return out


# ------------------------------------------------------------------ figures
def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (unix time, value) points, in value per minute."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return float("nan")
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def phase_figures(name: str, start: float, end: float, requests: list[dict[str, Any]],
                  samples: list[dict[str, float]]) -> dict[str, Any]:
    mine = [r for r in requests if start <= r["start"] < end]
    latencies = [r["ms"] for r in mine]
    failed = [r for r in mine if not r["ok"]]
    reasons: dict[str, int] = {}
    for r in failed:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    inside = [s for s in samples if start <= s["t"] <= end]
    seconds = max(end - start, 1e-9)
    out: dict[str, Any] = {
        "phase": name, "seconds": round(end - start, 1), "requests": len(mine),
        "requests_per_s": round(len(mine) / seconds, 2),
        "p50_ms": round(percentile(latencies, 0.50), 1), "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies, default=float("nan")), 1),
        "errors": len(failed), "error_rate": round(len(failed) / len(mine), 5) if mine else float("nan"),
        "error_reasons": reasons,
    }
    if len(inside) >= 2:
        first, last = inside[0], inside[-1]
        out.update({
            "rss_start_mb": round(first["rss_mb"], 1), "rss_end_mb": round(last["rss_mb"], 1),
            "rss_max_mb": round(max(s["rss_mb"] for s in inside), 1),
            "rss_slope_mb_per_min": round(slope_per_minute([(s["t"], s["rss_mb"]) for s in inside]), 3),
            "fds_start": first["fds"], "fds_end": last["fds"], "fds_max": max(s["fds"] for s in inside),
            "threads_max": max(s["threads"] for s in inside),
            "server_cpu_percent": round(100 * (last["cpu_s"] - first["cpu_s"]) / max(last["t"] - first["t"], 1e-9)),
            "load1_mean": round(sum(s["load1"] for s in inside) / len(inside), 2),
        })
    return out


def verdicts(r: dict[str, Any]) -> list[dict[str, Any]]:
    phases = {p["phase"]: p for p in r["phases"]}
    soak, reindex, whole = phases["soak"], phases.get("re-index"), phases["whole run"]
    warm = r["memory"]
    rows = [
        {"target": "errors over the whole run (ramp, soak, re-index, after)", "goal": "0",
         "measured": f"{whole['errors']} of {whole['requests']}", "met": whole["errors"] == 0},
        {"target": f"p95 latency over the soak at {r['users']} users", "goal": f"≤ {P95_TARGET_MS:.0f} ms",
         "measured": f"{soak['p95_ms']:.0f} ms", "met": soak["p95_ms"] <= P95_TARGET_MS},
    ]
    if reindex:
        rows.append({"target": "p95 latency while the re-index runs", "goal": f"≤ {P95_TARGET_MS:.0f} ms",
                     "measured": f"{reindex['p95_ms']:.0f} ms", "met": reindex["p95_ms"] <= P95_TARGET_MS})
    rows.append({"target": f"RSS slope over the soak after {r['warmup_s']:.0f} s warm-up", "goal":
                 f"≤ {RSS_SLOPE_LIMIT_MB_PER_MIN} MB/min",
                 "measured": f"{warm['slope_after_warmup_mb_per_min']:+.3f} MB/min "
                             f"({warm['rss_after_warmup_start_mb']:.0f} → {warm['rss_soak_end_mb']:.0f} MB)",
                 "met": warm["slope_after_warmup_mb_per_min"] <= RSS_SLOPE_LIMIT_MB_PER_MIN})
    after = phases[f"soak after {r['warmup_s']:.0f} s warm-up"]
    rows.append({"target": f"open fds over the soak after {r['warmup_s']:.0f} s warm-up", "goal": "end ≤ start",
                 "measured": f"{after.get('fds_start')} → {after.get('fds_end')} (max {after.get('fds_max')}; "
                             f"whole soak {soak.get('fds_start')} → {soak.get('fds_end')})",
                 "met": after.get("fds_end", 1 << 30) <= after.get("fds_start", -1)})
    return rows


def markdown(r: dict[str, Any]) -> str:
    mem = r["memory"]
    lines = [
        "# Soak test (`make soak`): Locust → `bot.py serve` on loopback, expectReplies", "",
        f"{r['started']} · code {r['code']} · {r['cpus']} CPUs · {r['users']} users (ramp {r['ramp_s']:.0f} s, "
        f"think time {r['think_s'][0]:g}–{r['think_s'][1]:g} s), soak {r['soak_s']:.0f} s at the peak, then a "
        f"re-index under load · total {r['total_minutes']:.1f} min", "",
        f"Machine shared with other work — `uptime` before: `{r['uptime_before']}`; after: `{r['uptime_after']}`.", "",
        "| target | goal | measured | met |", "|---|---|---|---|",
        *[f"| {v['target']} | {v['goal']} | {v['measured']} | {'✅' if v['met'] else '❌'} |" for v in r["verdicts"]],
        "",
        "| phase | s | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors (rate) | RSS start / end / max MB "
        "| RSS slope MB/min | fds start / end / max | server CPU | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|",
    ]
    for p in r["phases"]:
        mem_cells = (f"{p['rss_start_mb']:.0f} / {p['rss_end_mb']:.0f} / {p['rss_max_mb']:.0f} | "
                     f"{p['rss_slope_mb_per_min']:+.2f} | {p['fds_start']} / {p['fds_end']} / {p['fds_max']} | "
                     f"{p['server_cpu_percent']} % | {p['load1_mean']}") if "rss_start_mb" in p else "– | – | – | – | –"
        lines.append(f"| {p['phase']} | {p['seconds']:.0f} | {p['requests']} | {p['requests_per_s']:.1f} | "
                     f"{p['p50_ms']:.0f} | {p['p95_ms']:.0f} | {p['p99_ms']:.0f} | {p['max_ms']:.0f} | "
                     f"{p['errors']} ({100 * p['error_rate']:.2f} %) | {mem_cells} |")
    ri = r.get("reindex") or {}
    lc = r.get("locust") or {}
    lines += [
        "",
        f"Memory over the soak: RSS {mem['rss_soak_start_mb']:.0f} MB at its start, {mem['rss_soak_end_mb']:.0f} MB at "
        f"its end, {mem['rss_soak_max_mb']:.0f} MB max (peak VmHWM over the run {mem['hwm_max_mb']:.0f} MB); slope "
        f"{mem['slope_whole_soak_mb_per_min']:+.3f} MB/min over the whole soak, "
        f"{mem['slope_after_warmup_mb_per_min']:+.3f} MB/min after the {r['warmup_s']:.0f} s warm-up. Criterion for "
        f"\"no memory growth\": that last slope ≤ {RSS_SLOPE_LIMIT_MB_PER_MIN} MB/min, and fds back to their "
        "soak-start count.",
        "",
        f"Re-index under load: added `{ADDED_DOCUMENT}`, changed `{CHANGED_DOCUMENT}`, then `bot.py index` into the "
        f"live index folder: exit {ri.get('exit', '?')} in {ri.get('seconds', float('nan')):.1f} s, indexer peak RSS "
        f"{ri.get('peak_rss_mb', float('nan')):.0f} MB — `{_index_line(ri.get('summary', ''))}`. "
        f"`/healthz` before: {ri.get('health_before')}; after: {ri.get('health_after')}.",
        "",
        f"Locust's own summary (bucketed percentiles, whole run): {lc.get('requests')} requests, "
        f"{lc.get('failures')} failures, p50 / p95 / p99 {lc.get('p50_ms')} / {lc.get('p95_ms')} / "
        f"{lc.get('p99_ms')} ms, {lc.get('requests_per_s', 0):.1f} req/s, most users running {lc.get('max_users')}; "
        f"Locust itself used {r.get('locust_cpu_percent_soak')} % of a CPU over the soak.",
    ]
    if r.get("by_kind"):
        lines += ["", "p95 by question kind over the soak (ms): "
                  + ", ".join(f"{k} {v['p95_ms']:.0f} (n={v['n']})" for k, v in sorted(r["by_kind"].items()))]
    return "\n".join(lines) + "\n"


def _index_line(summary: str) -> str:
    """The chunk counts of `bot.py index`'s summary (added / removed / unchanged), or its last line."""
    lines = [line.strip() for line in summary.strip().splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("documents:")), lines[-1] if lines else "")


# ------------------------------------------------------------------ the run
@dataclass(frozen=True)
class Plan:
    users: int = 50
    ramp_s: float = 60.0
    soak_s: float = 600.0
    warmup_s: float = 120.0
    tail_s: float = 60.0
    sample_every_s: float = 2.0
    think_s: tuple[float, float] = (1.0, 3.0)

    @classmethod
    def quick(cls) -> Plan:
        return cls(users=10, ramp_s=10.0, soak_s=60.0, warmup_s=15.0, tail_s=15.0)


def run(plan: Plan, index_dir: Path, work: Path) -> dict[str, Any]:
    started_wall = time.time()
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _code_state(),
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
            t_ramp = _first_request_time(request_log, locust, timeout=60.0)
            soak_start, soak_end = t_ramp + plan.ramp_s, t_ramp + plan.ramp_s + plan.soak_s
            log(f"ramping to {plan.users} users over {plan.ramp_s:.0f} s, then soaking {plan.soak_s:.0f} s")
            _sleep_until(soak_start, locust)
            locust_cpu = (time.time(), cpu_seconds(locust.pid))
            _sleep_until(soak_end, locust)
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
            _sleep_until(reindex_end + plan.tail_s, locust)
            reindex["health_before"] = {k: health_before.get(k) for k in ("status", "chunks", "error") if k in health_before}
            health_after = healthz(server.url)
            reindex["health_after"] = {k: health_after.get(k) for k in ("status", "chunks", "error") if k in health_after}
        finally:
            stop_at = time.time()
            _stop_locust(locust)
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


def _first_request_time(request_log: Path, locust: subprocess.Popen[Any], timeout: float) -> float:
    """When the ramp began: the first request's start (the first user asks as soon as it is spawned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if locust.poll() is not None:
            raise RuntimeError(f"locust exited with {locust.returncode} before its first request")
        rows = read_request_log(request_log)
        if rows:
            return min(r["start"] for r in rows)
        time.sleep(0.2)
    raise RuntimeError(f"no request within {timeout:.0f} s of starting locust")


def _sleep_until(when: float, locust: subprocess.Popen[Any]) -> None:
    while (left := when - time.time()) > 0:
        if locust.poll() is not None:
            raise RuntimeError(f"locust stopped early (exit {locust.returncode})")
        time.sleep(min(left, 1.0))


def _stop_locust(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM: Locust stops its users, writes its CSV stats and exits; SIGKILL after 60 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _code_state() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                         check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{rev}{' (uncommitted changes)' if dirty else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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


if __name__ == "__main__":
    main()
