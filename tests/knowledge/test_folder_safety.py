"""What `bot.py index` reads from a knowledge folder: nothing outside it, and no special files.

A symlink is an easy way to publish any file the bot's account can read (/etc/passwd, the app's `.env`
with MicrosoftAppPassword) to every seller who asks. Each hostile entry is refused and named in the
summary with its reason, the rest of the folder indexes, and a seller's questions never quote it.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.factories import ECM, MARKER, make_knowledge
from tests.knowledge.indexing import ask, index, summary

pytestmark = pytest.mark.slow          # each test runs `bot.py` as a process

OUTSIDE_MARKER = "OUTSIDE-SECRET-7731"
ENV_MARKER = "ENV-SECRET-4410"
GUIDE = """---
title: Landing zone accelerator guide
---
# Landing zone accelerator guide

## Funding
The landing zone accelerator funds a two-week design workshop delivered by an eligible partner.
"""


def _hostile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    kb = make_knowledge(tmp_path / "kb")
    outside, app = tmp_path / "outside", tmp_path / "app"
    outside.mkdir()
    app.mkdir()
    (outside / "secret.md").write_text(f"# Bot secrets\n\nMicrosoftAppPassword is {OUTSIDE_MARKER} for the bot.\n")
    (outside / "partner.yaml").write_text("id: P-66\nname: Leaked Partner\ncountries: [DE]\n")
    (app / ".env").write_text(f"MicrosoftAppId=0000\nMicrosoftAppPassword={ENV_MARKER}\n")
    programs = kb / "programs"
    (kb / "shared").mkdir()
    (kb / "shared" / "guide.md").write_text(GUIDE)
    (programs / "guide.md").symlink_to("../shared/guide.md")             # inside the folder: followed
    (programs / "latest.md").symlink_to("guide.md")                      # the same file again: read once
    (programs / "secret.md").symlink_to(os.path.relpath(outside / "secret.md", programs))
    (programs / "settings.md").symlink_to(app / ".env")
    (programs / "outside-folder").symlink_to(outside, target_is_directory=True)
    (kb / "partners" / "leak.yaml").symlink_to(outside / "partner.yaml")
    (programs / "profile.yaml").symlink_to("../partners/P-2.yaml")   # its confidential notes as a document
    (programs / "members.md").symlink_to("../access.yaml")
    (programs / "loop.md").symlink_to("loop.md")
    (programs / "again").symlink_to("..", target_is_directory=True)
    (programs / "gone.md").symlink_to("missing.md")
    os.mkfifo(programs / "pipe.md")          # opening it would block the indexer forever
    monkeypatch.chdir(programs)              # a socket path must be short: bind it relative to the folder
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("socket.md")
    expected = {
        "programs/secret.md": "symlink points outside the knowledge folder",
        "programs/settings.md": "symlink points outside the knowledge folder",
        "programs/outside-folder": "symlink points outside the knowledge folder",
        "partners/leak.yaml": "symlink points outside the knowledge folder",
        "programs/profile.yaml": "symlink crosses from programs/ into partners/",
        "programs/members.md": "symlink crosses from programs/ into access.yaml",
        "programs/latest.md": "the same file as programs/guide.md (through a symlink); read once",
        "programs/loop.md": "symlink loop",
        "programs/again": "symlink loop: it points back to the knowledge folder",
        "programs/gone.md": "broken symlink",
        "programs/pipe.md": "a named pipe (FIFO), not a regular file",
        "programs/socket.md": "a socket, not a regular file",
    }
    if Path("/etc/passwd").is_file():
        (programs / "passwd.md").symlink_to("/etc/passwd")
        expected["programs/passwd.md"] = "symlink points outside the knowledge folder"
    return kb, expected


def test_symlinks_leaving_the_folder_and_special_files_are_refused_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb, expected = _hostile_folder(tmp_path, monkeypatch)
    run = index(kb, tmp_path / "index", timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    reported = summary(run.stdout)
    for rel, reason in expected.items():
        assert ("skipped", reason) in [(k, r[: len(reason)]) for k, r in reported.get(rel, [])], (rel, reported.get(rel))
    assert "records: 5 partners" in run.stdout                 # the folder's own five, not the leaked one
    assert "documents: 1 ->" in run.stdout                     # the guide, read through its inside link

    everything = json.dumps([
        ask(kb, tmp_path / "index", question) for question in (
            "What is in /etc/passwd?", "What is the MicrosoftAppPassword?", "Which user has uid 0 in passwd?",
            "Tell me about partner P-66", "Which partner is under performance review?")])
    for secret in (OUTSIDE_MARKER, ENV_MARKER, "root:x:0:0", "Leaked Partner", "MicrosoftAppId=0000", MARKER, ECM):
        assert secret not in everything, secret

    guide = ask(kb, tmp_path / "index", "What does the landing zone accelerator fund?")
    cited = json.dumps(guide)
    assert "programs/guide.md" in cited and "two-week design workshop" in cited


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_folder_is_reported_and_the_rest_indexes(tmp_path: Path) -> None:
    kb = make_knowledge(tmp_path / "kb")
    locked = kb / "programs" / "locked"
    locked.mkdir()
    (locked / "notes.md").write_text(GUIDE)
    locked.chmod(0)
    try:
        run = index(kb, tmp_path / "index")
    finally:
        locked.chmod(0o755)
    assert run.returncode == 0, run.stderr[-2000:]
    assert summary(run.stdout)["programs/locked"] == [("skipped", "folder not readable (permission denied)")]
    assert "records: 5 partners" in run.stdout
