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

Modules: `load_profile` (the plan, the targets, the knowledge and its edit), `processes` (server sampling,
`bot.py index`, Locust), `report` (phases, figures, verdicts, SOAK.md) and `run` (the run and the command line).
"""
from __future__ import annotations

from bench.soak.load_profile import P95_TARGET_MS, REINDEX_BUDGET_S, RSS_SLOPE_LIMIT_MB_PER_MIN, Plan
from bench.soak.report import markdown, phase_figures, slope_per_minute, verdicts
from bench.soak.run import main, run

__all__ = ["P95_TARGET_MS", "REINDEX_BUDGET_S", "RSS_SLOPE_LIMIT_MB_PER_MIN", "Plan", "main", "markdown", "phase_figures",
           "run", "slope_per_minute", "verdicts"]
