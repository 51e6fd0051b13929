"""The processes of a soak run: the server sampled from /proc, `bot.py index`, Locust started, waited on and stopped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, PYTHON, memory_mb
from bench.soak.load_profile import BENCH_DIR
from bench.soak.report import read_request_log

LOCUSTFILE = BENCH_DIR / "locustfile.py"


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



def index_command(knowledge: Path, index: Path) -> list[str]:
    return [PYTHON, "bot.py", "index", "--knowledge", str(knowledge), "--index", str(index), "--no-progress"]



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



def first_request_time(request_log: Path, locust: subprocess.Popen[Any], timeout: float) -> float:
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


def sleep_until(when: float, locust: subprocess.Popen[Any]) -> None:
    while (left := when - time.time()) > 0:
        if locust.poll() is not None:
            raise RuntimeError(f"locust stopped early (exit {locust.returncode})")
        time.sleep(min(left, 1.0))


def stop_locust(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM: Locust stops its users, writes its CSV stats and exits; SIGKILL after 60 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def code_state() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                         check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{rev}{' (uncommitted changes)' if dirty else ''}"
