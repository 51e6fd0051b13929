"""Partner Atlas in a real Teams-like client: Microsoft 365 Agents Playground, driven by Playwright.

Everything is real: `bot.py index` + `bot.py serve` on the sample knowledge (local mode, loopback), the
Playground (`e2e/node_modules`, pinned in `e2e/package-lock.json`) as the channel and connector in front of it,
and its web UI in Debian's headless Chromium. A question typed in the compose box must come back as a
message whose Adaptive Card, rendered by the client's card renderer, names the partner.

Prerequisites: `make e2e-setup` (Debian chromium, `npm ci` in e2e/, the Python playwright package).
The screenshot lands in tests/e2e/artifacts/ (git-ignored); docs/playground-partner-card.png, the committed copy,
is written when missing or with UPDATE_SCREENSHOTS=1. On failure: artifacts/failure.png, the browser console,
and the tails of the bot's and the Playground's logs.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
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
from playwright.sync_api import Page, sync_playwright

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLAYGROUND = PROJECT_DIR / "e2e" / "node_modules" / ".bin" / "agentsplayground"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOT = ARTIFACTS / "playground-partner-card.png"
EVIDENCE = PROJECT_DIR / "docs" / "playground-partner-card.png"

QUESTION = "Who can do AKS for a retail customer in Germany?"
TOP_PARTNER = "Deltawave Consulting"
# The reply text names what the bot understood; the welcome message does not say "Azure Kubernetes Service".
REPLY_TEXT = re.compile(r"Azure Kubernetes Service.*Germany", re.DOTALL)

# How Chromium runs on these machines: without the background-networking flags its connections to
# Google's hosts are refused by the closed network, many at a time.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

INDEX_TIMEOUT = 90      # s: the real MiniLM embedder, ~6 s here
HEALTH_TIMEOUT = 45     # s: engine load ~2 s
PLAYGROUND_TIMEOUT = 30  # s: ~1 s here
UI_TIMEOUT_MS = 30_000  # per Playwright wait
REPLY_TIMEOUT_MS = 45_000

pytestmark = pytest.mark.e2e
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def test_question_in_playground_shows_partner_card(playground_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make e2e-setup`")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "failure.png").unlink(missing_ok=True)
    console: list[str] = []

    # Chromium's profile and the crash/dconf folders it writes under HOME stay in tmp_path.
    browser_env: dict[str, str | float | bool] = {**os.environ, "HOME": str(tmp_path),
                                                  "XDG_CONFIG_HOME": str(tmp_path / ".config"),
                                                  "XDG_CACHE_HOME": str(tmp_path / ".cache")}
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            env=browser_env, viewport={"width": 1400, "height": 1000}, timeout=UI_TIMEOUT_MS)
        try:
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            try:
                page.goto(playground_url, wait_until="domcontentloaded")

                compose = page.locator('[contenteditable="true"][role="textbox"]').first
                compose.wait_for(state="visible")
                cards = page.locator(".ac-adaptiveCard")
                cards.first.wait_for(state="visible")  # the welcome card: the bot is connected and answering

                compose.click()
                compose.fill(QUESTION)
                page.get_by_role("button", name="Send Message").click()

                # The card comes from the client's Adaptive Card renderer, not from a string in the page.
                partner_card = cards.filter(has_text=TOP_PARTNER).first
                partner_card.wait_for(state="visible", timeout=REPLY_TIMEOUT_MS)
                partner_card.get_by_text(TOP_PARTNER, exact=True).first.wait_for(state="attached")

                # The reply's text (the answer in a sentence; the card carries the details) is shown outside the card.
                reply_text = page.locator(".fai-OutputCard").filter(has_not=page.locator(".ac-adaptiveCard")).filter(
                    has_text=REPLY_TEXT).last
                reply_text.wait_for(state="visible")
                reply_text.scroll_into_view_if_needed()
                assert reply_text.is_visible()
                assert page.get_by_text(QUESTION, exact=True).first.is_visible()  # the question, as sent

                partner_card.scroll_into_view_if_needed()
                page.wait_for_timeout(500)  # let the card's layout settle before the picture
                save_screenshot(page)
            except Exception:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
                print("browser console:\n" + "\n".join(console[-60:]))
                raise
        finally:
            context.close()

    assert SCREENSHOT.stat().st_size > 10_000
    # The committed copy changes at every run (timestamps in the page): refresh it only when asked or missing.
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not EVIDENCE.exists():
        EVIDENCE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCREENSHOT, EVIDENCE)


def save_screenshot(page: Page) -> None:
    """A full-page picture of the whole conversation.

    The chat is an inner scrolling pane, so a full-page screenshot alone shows only what fits in the window:
    grow the window by what that pane hides (bounded), then take it.
    """
    hidden = page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll('*')]
               .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY))
               .map(e => e.scrollHeight - e.clientHeight))""")
    size = page.viewport_size or {"width": 1400, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": min(size["height"] + int(hidden) + 40, 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
