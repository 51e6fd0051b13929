"""The real bot and Microsoft 365 Agents Playground for the end-to-end tests (tests/e2e).

`bot_url`: `bot.py index` + `bot.py serve` on the sample knowledge (local mode, loopback) in a temporary
folder; `playground_url`: the Playground (`e2e/node_modules`, pinned in `e2e/package-lock.json`) in front of
it as channel and connector, headless. Both are module-scoped: one bot and one Playground per test module.
Prerequisites: `make e2e-setup`. Each service's log is printed after it stops (pytest shows it on failure).
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.network import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLAYGROUND = PROJECT_DIR / "e2e" / "node_modules" / ".bin" / "agentsplayground"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_DIR / "tests" / "e2e" / "artifacts"

# How Chromium runs on these machines: without the background-networking flags its connections to
# Google's hosts are refused by the closed network, many at a time.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

INDEX_TIMEOUT = 90      # s: the real MiniLM embedder, ~6 s here
HEALTH_TIMEOUT = 45     # s: engine load ~2 s
PLAYGROUND_TIMEOUT = 30  # s: ~1 s here
UI_TIMEOUT_MS = 30_000  # per Playwright wait
REPLY_TIMEOUT_MS = 45_000

T = TypeVar("T")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({path}: {error})"


@dataclass
class Service:
    """A process started in its own process group, with its output in a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    extra_logs: list[Path] = field(default_factory=list)

    def diagnostics(self) -> str:
        parts = [f"--- {self.name} (pid {self.process.pid}, exit {self.process.poll()}): {self.log}\n{tail(self.log)}"]
        parts += [f"--- {path}\n{tail(path)}" for path in self.extra_logs if path.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        """Terminate the whole process group (node, python and their children), then kill it if need be."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):  # stragglers left in the group after the leader exited
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def start(name: str, args: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Service:
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, process, log)


def wait_until(service: Service, ready: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `ready()` until it returns something truthy; fail with the service's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = ready()
        if result:
            return result
        if service.process.poll() is not None:
            pytest.fail(f"{service.name} exited ({service.process.returncode}) before {what}\n{service.diagnostics()}")
        time.sleep(0.2)
    pytest.fail(f"{service.name}: no {what} after {timeout:.0f} s\n{service.diagnostics()}")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return -1


def bot_env(tmp: Path) -> dict[str, str]:
    """Local mode whatever the developer's environment or .env says (environment beats .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MicrosoftApp", "APP_"))}
    env.update(MicrosoftAppId="", MicrosoftAppPassword="", MicrosoftAppTenantId="", BOT_HOST="127.0.0.1",
               DATA_DIR=str(tmp / "data"), PYTHONUNBUFFERED="1", ORT_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="1")
    return env


@pytest.fixture(scope="module")
def bot_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real bot on the sample knowledge, indexed into a temporary folder, on a free loopback port."""
    tmp = tmp_path_factory.mktemp("bot")
    env = bot_env(tmp)
    knowledge, index = PROJECT_DIR / "knowledge" / "sample", tmp / "index"
    try:
        indexing = subprocess.run([sys.executable, "bot.py", "index", "--knowledge", str(knowledge), "--index", str(index),
                                   "--no-progress"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                                  timeout=INDEX_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"bot.py index took over {INDEX_TIMEOUT} s\n{error.output}")
    assert indexing.returncode == 0, f"bot.py index failed\n{indexing.stdout}\n{indexing.stderr}"

    port = free_port()
    service = start("bot.py serve", [sys.executable, "bot.py", "serve", "--knowledge", str(knowledge),
                                     "--index", str(index), "--port", str(port)],
                    cwd=PROJECT_DIR, env=env, log=tmp / "bot.log")
    try:
        wait_until(service, lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, HEALTH_TIMEOUT,
                   "GET /healthz 200")
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()
        print(service.diagnostics())  # pytest shows it only when something failed


@pytest.fixture(scope="module")
def playground_url(bot_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Agents Playground in front of the bot, headless (no browser of its own), logs in a temporary folder."""
    if not PLAYGROUND.exists():
        pytest.fail(f"{PLAYGROUND} is missing: run `make e2e-setup`")
    cwd = tmp_path_factory.mktemp("playground")
    env = dict(os.environ, TEAMSAPPTESTER_BROWSER="none", BROWSER="none")
    # -p: the UI port; the Playground falls back to a random one if it is taken, so read the one it took.
    service = start("agentsplayground", [str(PLAYGROUND), "-e", f"{bot_url}/api/messages", "-c", "msteams",
                                         "--dt", "-p", str(free_port())],
                    cwd=cwd, env=env, log=cwd / "agentsplayground.out")
    service.extra_logs.append(cwd / "devTools" / "m365agentsplayground.log")

    def listening() -> int | None:
        match = re.search(r"Listening on (\d+)", service.log.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    try:
        port = wait_until(service, listening, PLAYGROUND_TIMEOUT, "'Listening on PORT'")
        url = f"http://127.0.0.1:{port}"
        wait_until(service, lambda: http_status(url + "/") == 200, PLAYGROUND_TIMEOUT, "UI answering 200")
        yield url
    finally:
        service.stop()
        print(service.diagnostics())
