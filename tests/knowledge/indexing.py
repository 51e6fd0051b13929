"""`bot.py index` and `bot.py ask` as subprocesses, bounded in time and address space.

A regression in a hostile-input guard must fail a test, not take the machine down: every run gets a
timeout and an RLIMIT_AS, so a file that would expand to gigabytes ends in a MemoryError inside the
child (and a failed assertion here) within seconds.
"""
from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.settings import PROJECT_DIR

MEMORY_MB = 1024          # `bot.py index` on a small folder needs ~600 MB of address space (hashing embedder)
TIMEOUT = 120
PARSE_TIMEOUT = 20
_SETTINGS = ("KNOWLEDGE_DIR", "INDEX_DIR", "EMBEDDER", "CHROMA_HOST", "CHROMA_PORT", "CHROMA_SSL",
             "CHROMA_TENANT", "CHROMA_DATABASE", "CHROMA_SERVER_URL")


def _limit(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_bot(*args: str, memory_mb: int = MEMORY_MB, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["PARSE_TIMEOUT_SECONDS"] = str(PARSE_TIMEOUT)
    return subprocess.run([sys.executable, "bot.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False, preexec_fn=lambda: _limit(memory_mb))


def index(knowledge: Path, index_dir: Path, **limits: Any) -> subprocess.CompletedProcess[str]:
    return run_bot("index", "--knowledge", str(knowledge), "--index", str(index_dir), "--embedder", "hashing",
                   "--no-progress", **limits)


def ask(knowledge: Path, index_dir: Path, question: str, *, user: str = "", **limits: Any) -> dict[str, Any]:
    """The Answer as JSON: for a seller, or for the Teams user `user` (an aadObjectId looked up in access.yaml)."""
    extra = ["--as-user", user] if user else []
    run = run_bot("ask", "--knowledge", str(knowledge), "--index", str(index_dir), "--embedder", "hashing",
                  "--json", *extra, question, **limits)
    assert run.returncode == 0, run.stderr[-2000:]
    answer: dict[str, Any] = json.loads(run.stdout)
    return answer


def summary(stdout: str) -> dict[str, list[tuple[str, str]]]:
    """path -> [(skipped|warning, reason)] from an index summary."""
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, path, reason in re.findall(r"^  (skipped|warning): (.+?): (.*)$", stdout, re.MULTILINE):
        out.setdefault(path, []).append((kind, reason))
    return out


def partner_names(answer: dict[str, Any]) -> list[str]:
    return [p["name"] for p in answer.get("partners") or []]
