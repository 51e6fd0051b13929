"""HTTP load on real `bot.py serve` processes: latency at concurrency 1, messages/s at higher concurrency, RSS.

Speaks the Bot Framework protocol exactly as evaluate.py does (a Teams message activity, deliveryMode
"expectReplies", replies in the HTTP response) with an aiohttp client. Only 127.0.0.1; every run sends
a fixed number of requests. Each request is its own 1:1 conversation, so no answer is a follow-up of
another, and has a fresh activity id (the server answers a redelivered id only once).
"""
from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.common import load_evaluate, median, memory_mb, percentile, serve, spread, user_id_for

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def activity(question: dict[str, Any], service_url: str) -> dict[str, Any]:
    user = user_id_for(question)
    return {
        "type": "message", "id": str(uuid.uuid4()), "channelId": "msteams", "serviceUrl": service_url,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "from": {"id": f"29:{user}", "name": "Bench User", "aadObjectId": user},
        "conversation": {"id": f"a:bench-{uuid.uuid4().hex}", "conversationType": "personal", "tenantId": TENANT},
        "recipient": {"id": "28:partner-bot", "name": "Partner Bot"},
        "text": question["question"], "textFormat": "plain", "locale": "en-US", "deliveryMode": "expectReplies",
        "channelData": {"tenant": {"id": TENANT}},
    }


async def _post(session: Any, url: str, question: dict[str, Any]) -> tuple[float, int, str]:
    body = activity(question, service_url=url)  # never called back: expectReplies returns the replies inline
    started = time.perf_counter()
    async with session.post(f"{url}/api/messages", json=body) as response:
        data = await response.json(content_type=None) if response.status == 200 else {}
        status = response.status
    elapsed = time.perf_counter() - started
    activities = data.get("activities", []) if isinstance(data, dict) else []
    return elapsed, status, load_evaluate().reply_text(activities)


async def _run(url: str, questions: list[dict[str, Any]], concurrency: int, requests: int) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415

    if urlparse(url).hostname != "127.0.0.1":
        raise ValueError("load goes to 127.0.0.1 only")
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(questions[i % len(questions)])
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors = 0
    empty = 0
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
        async def worker() -> None:
            nonlocal errors, empty
            while not queue.empty():
                question = queue.get_nowait()
                try:
                    elapsed, status, text = await _post(session, url, question)
                except (TimeoutError, aiohttp.ClientError):
                    errors += 1
                    continue
                latencies.append(elapsed)
                by_kind.setdefault(question["kind"], []).append(elapsed)
                if status != 200:
                    errors += 1
                elif not text.strip():
                    empty += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {"wall_s": wall, "messages_per_s": requests / wall, "p50_s": percentile(latencies, 0.5),
            "p95_s": percentile(latencies, 0.95), "errors": errors, "empty_replies": empty,
            "p95_by_kind_s": {kind: percentile(values, 0.95) for kind, values in by_kind.items()}}


def run_load(url: str, questions: list[dict[str, Any]], concurrency: int, requests: int) -> dict[str, Any]:
    return asyncio.run(_run(url, questions, concurrency, requests))


def fresh_server_pass(knowledge_dir: Path, index_dir: Path, questions: list[dict[str, Any]], concurrency: int,
                      warm_requests: int = 0) -> dict[str, Any]:
    """A new `bot.py serve`, every question once at `concurrency` (cold: nothing cached yet), then optionally
    `warm_requests` more cycling through the same questions at concurrency 1; memory read last.

    The engine caches rankings per need, so a question asked twice is answered from cache: only a server's
    first sight of a question measures the work, as the acceptance harness (one fresh server, each question
    once) sees it. The warm pass shows the cached cost and lets memory settle after a few hundred requests.
    """
    with serve(knowledge_dir, index_dir) as server:
        cold = run_load(server.url, questions, concurrency, len(questions))
        warm = run_load(server.url, questions, 1, warm_requests) if warm_requests else None
        memory = memory_mb(server.pid)
    return {"ready_seconds": server.ready_seconds, "cold": cold, "warm": warm, "rss_mb": memory["VmRSS"],
            "peak_rss_mb": memory["VmHWM"], "requests": len(questions) + warm_requests}


def summarize_passes(passes: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over fresh-server passes: cold p50/p95 (the figure), warm p95, messages/s, memory."""
    cold = [p["cold"] for p in passes]
    warm = [p["warm"] for p in passes if p["warm"]]
    out = {"p50_ms": round(1000 * median([c["p50_s"] for c in cold]), 1),
           "p95_ms": round(1000 * median([c["p95_s"] for c in cold]), 1),
           "p95_ms_runs": spread([1000 * c["p95_s"] for c in cold]),
           "messages_per_s": round(median([c["messages_per_s"] for c in cold]), 2),
           "messages_per_s_runs": spread([c["messages_per_s"] for c in cold]),
           "errors": sum(c["errors"] + c["empty_replies"] for c in cold) + sum(w["errors"] + w["empty_replies"] for w in warm),
           "ready_seconds": round(median([p["ready_seconds"] for p in passes]), 2),
           "rss_mb": round(median([p["rss_mb"] for p in passes])),
           "peak_rss_mb_max": round(max(p["peak_rss_mb"] for p in passes)),
           "requests_per_server": passes[0]["requests"], "servers": len(passes),
           "p95_by_kind_ms": {kind: round(1000 * median([c["p95_by_kind_s"][kind] for c in cold]), 1)
                              for kind in cold[0]["p95_by_kind_s"]}}
    if warm:
        out["warm_p50_ms"] = round(1000 * median([w["p50_s"] for w in warm]), 1)
        out["warm_p95_ms"] = round(1000 * median([w["p95_s"] for w in warm]), 1)
    return out
