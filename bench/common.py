"""Shared by every benchmark part: paths, the acceptance harness's scoring module, statistics, processes.

Scoring is never copied: `load_evaluate()` imports ../shared/eval/evaluate.py itself, so the benchmark
scores exactly as the acceptance harness does. `serve()` starts a real `bot.py serve` on a free
loopback port and always kills its process group on the way out.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_DIR.parent / "shared"
CATALOG_DEV = SHARED_DIR / "catalog-dev"
FAQ_QUESTIONS = SHARED_DIR / "eval" / "faq_dev.jsonl"
EVALUATE_PY = SHARED_DIR / "eval" / "evaluate.py"
GEN_CATALOG_PY = SHARED_DIR / "tools" / "gen_catalog.py"
PYTHON = sys.executable

@functools.cache
def load_evaluate() -> types.ModuleType:
    """../shared/eval/evaluate.py as a module: its `score`, `load_catalog_names`, `incentive_names`, `reply_text`."""
    spec = importlib.util.spec_from_file_location("shared_evaluate", EVALUATE_PY)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {EVALUATE_PY}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_questions(path: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Questions from a JSONL file; `kind` overrides the kind (the FAQ file has none), as evaluate.py does."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            q = json.loads(line)
            out.append({**q, "kind": kind} if kind else q)
    return out


def user_id_for(question: dict[str, Any]) -> str:
    ev = load_evaluate()
    return str(ev.ECM_ID if question.get("as_group") == "ecm" else ev.SELLER_ID)


# ------------------------------------------------------------------ statistics
def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, the same rule evaluate.py uses for its p95."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: Sequence[float]) -> list[float]:
    """All repetitions, rounded, for results.json: a median is only as good as what it was taken over."""
    return [round(v, 4) for v in values]


# ------------------------------------------------------------------ processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak resident set since start) of a process, in MB, from /proc/PID/status."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def dir_size_mb(path: Path) -> float:
    """Apparent size of every file under path."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def bot_env(data_dir: Path) -> dict[str, str]:
    """The environment for bot.py subprocesses: local mode (no credentials), a throw-away data dir."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATA_DIR": str(data_dir), "ORT_DISABLE_TELEMETRY": "1"}
    for key in ("MicrosoftAppId", "MicrosoftAppPassword", "APP_ID", "APP_PASSWORD", "CHROMA_SERVER_URL"):
        env.pop(key, None)
    return env


@dataclass
class Server:
    url: str
    pid: int
    ready_seconds: float
    log_path: Path
    health: dict[str, Any]


@contextlib.contextmanager
def serve(knowledge_dir: Path, index_dir: Path, *, timeout: float = 300.0) -> Iterator[Server]:
    """A real `bot.py serve` on 127.0.0.1:<free port>, ready (GET /healthz 200) when yielded; killed in finally."""
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    log_path = work / "serve.log"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PYTHON, "bot.py", "serve", "--knowledge", str(knowledge_dir), "--index", str(index_dir),
             "--port", str(port), "--host", "127.0.0.1"],
            cwd=PROJECT_DIR, env=bot_env(work), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bot.py serve exited with {proc.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bot.py serve not ready within {timeout:.0f}s; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        health = json.loads(r.read() or b"{}")
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        ready = time.perf_counter() - started
        if not health.get("chunks"):
            raise RuntimeError(f"bot.py serve has no document index ({health}); see {log_path}")
        yield Server(url, proc.pid, ready, log_path, health)
    except BaseException:
        stop_process_group(proc)
        raise  # the work dir stays: its serve.log is what the error points at
    stop_process_group(proc)
    shutil.rmtree(work, ignore_errors=True)


def stop_process_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group started with start_new_session, SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 1800.0,
                 cwd: Path = PROJECT_DIR) -> tuple[str, float, float]:
    """Run a child to completion: (stdout, wall seconds, peak RSS in MB from wait4). Killed on timeout or error."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{cmd[:4]} still running after {timeout:.0f}s")
                time.sleep(0.05)
        finally:
            stop_process_group(proc)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {proc.returncode}:\n{text[-3000:]}")
    return text, seconds, usage.ru_maxrss / 1024
