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
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.playground import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PROJECT_DIR, REPLY_TIMEOUT_MS, UI_TIMEOUT_MS

SCREENSHOT = ARTIFACTS / "playground-partner-card.png"
EVIDENCE = PROJECT_DIR / "docs" / "playground-partner-card.png"

QUESTION = "Who can do AKS for a retail customer in Germany?"
TOP_PARTNER = "Deltawave Consulting"
# The reply text names what the bot understood; the welcome message does not say "Azure Kubernetes Service".
REPLY_TEXT = re.compile(r"Azure Kubernetes Service.*Germany", re.DOTALL)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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
