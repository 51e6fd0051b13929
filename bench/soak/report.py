"""The soak's figures and report: requests cut into phases, percentiles, the RSS slope, verdicts, SOAK.md."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.common import percentile
from bench.soak.load_profile import ADDED_DOCUMENT, CHANGED_DOCUMENT, P95_TARGET_MS, RSS_SLOPE_LIMIT_MB_PER_MIN


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
