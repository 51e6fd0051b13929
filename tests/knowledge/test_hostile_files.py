"""Broken and hostile knowledge files: each is indexed or skipped with a reason, within a per-file time
limit, and the run completes. The table is produced by a real `bot.py index` run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.settings import PROJECT_DIR
from knowledge import parse_worker
from knowledge.documents import DocumentError
from knowledge.parse_worker import ParseWorker
from tests.knowledge.hostile_files import write_hostile_folder

TIMEOUT = 3.0


def outcome(reason: str | None) -> str:
    if reason is None:
        return "ok"
    return "timed out" if reason.startswith(parse_worker.TIMED_OUT) else f"skipped: {reason}"


@pytest.mark.slow
def test_bot_index_reports_every_hostile_file_and_completes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = write_hostile_folder(tmp_path / "knowledge")
    env = {k: v for k, v in os.environ.items() if k not in ("KNOWLEDGE_DIR", "INDEX_DIR", "EMBEDDER")}
    env["PARSE_TIMEOUT_SECONDS"] = str(TIMEOUT)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "bot.py", "index", "--knowledge", str(tmp_path / "knowledge"),
                          "--index", str(tmp_path / "index"), "--embedder", "hashing", "--no-progress"],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    skipped: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    for kind, path, reason in re.findall(r"^  (skipped|warning): ([^:]+): (.*)$", run.stdout, re.MULTILINE):
        if kind == "skipped":
            skipped[path] = reason
        else:
            warnings.setdefault(path, []).append(reason)
    table = {rel: outcome(skipped.get(rel)) for rel in expected}
    width = max(map(len, expected))
    lines = [f"{'file'.ljust(width)}  outcome"]
    lines += [f"{rel.ljust(width)}  {table[rel]}" + (f"  (warnings: {'; '.join(warnings[rel])})" if rel in warnings else "")
              for rel in expected]
    lines.append(f"`bot.py index` completed in {seconds:.1f}s with PARSE_TIMEOUT_SECONDS={TIMEOUT:g}; "
                 f"summary: {run.stdout.splitlines()[1].strip()}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    for rel, want in expected.items():
        assert table[rel].startswith(want), (rel, table[rel])
    assert set(skipped) <= set(expected)
    assert "timed out: parsing took longer than 3 s" in skipped["programs/pdf-bomb.pdf"]
    assert "documents: 5 ->" in run.stdout                   # good.pdf, good.docx and the three text encodings
    assert "Traceback" not in run.stderr
    assert any(w.startswith("1 rows with more cells than the header ignored (first: row 5)")
               for w in warnings["solution_maps/broken-rows.csv"])


# --------------------------------------------------------------------------- the worker itself
def _slow(path: Path) -> object:
    time.sleep(60)
    raise AssertionError("not reached")


def _crash(path: Path) -> object:
    os._exit(9)


def _greedy(path: Path) -> object:
    hog = bytearray(4 * 1024 * 1024 * 1024)      # 4 GB: over the worker's memory cap
    return hog


def test_a_slow_parse_is_stopped_and_the_next_file_still_parses(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge import documents

    slow, good = tmp_path / "slow.slowdoc", tmp_path / "good.txt"
    slow.write_text("x")
    good.write_text("Notes\n\nPartners run the assessment first.\n")
    monkeypatch.setitem(documents._PARSERS, ".slowdoc", _slow)      # the forked worker inherits it
    with ParseWorker(timeout=1) as worker:
        # the slow parser sleeps 60 s: this error is the worker stopping it at its 1 s timeout
        with pytest.raises(DocumentError, match=r"^timed out: parsing took longer than 1 s$"):
            worker.parse(slow, "programs/slow.slowdoc")
        assert worker.parse(good, "programs/good.txt").sections
        assert worker.timed_out == ["programs/slow.slowdoc"]


def test_a_crashing_or_greedy_parser_costs_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge import documents

    for name in ("crash.crashdoc", "greedy.greedydoc"):
        (tmp_path / name).write_text("x")
    good = tmp_path / "good.txt"
    good.write_text("Notes\n\nPartners run the assessment first.\n")
    monkeypatch.setitem(documents._PARSERS, ".crashdoc", _crash)
    monkeypatch.setitem(documents._PARSERS, ".greedydoc", _greedy)
    with ParseWorker(timeout=30, memory_mb=512) as worker:
        with pytest.raises(DocumentError, match=r"^the parser crashed on this file \(worker exit code 9\)$"):
            worker.parse(tmp_path / "crash.crashdoc", "programs/crash.crashdoc")
        with pytest.raises(DocumentError, match=r"^parsing needed more than 512 MB of memory$"):
            worker.parse(tmp_path / "greedy.greedydoc", "programs/greedy.greedydoc")
        assert worker.parse(good, "programs/good.txt").title == "Notes"


def test_timeout_zero_parses_in_process_and_the_setting_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Notes\n\nPartners run the assessment first.\n")
    with ParseWorker(timeout=0) as worker:
        assert worker.parse(good, "programs/good.txt").title == "Notes"
        assert worker._process is None
    monkeypatch.setenv("PARSE_TIMEOUT_SECONDS", "7.5")
    assert ParseWorker().timeout == 7.5
    monkeypatch.setenv("PARSE_TIMEOUT_SECONDS", "soon")
    assert ParseWorker().timeout == parse_worker.DEFAULT_TIMEOUT_SECONDS
    monkeypatch.delenv("PARSE_TIMEOUT_SECONDS")
    assert ParseWorker().timeout == parse_worker.DEFAULT_TIMEOUT_SECONDS


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((line.split()[1] for line in status if line.startswith("State:")), "")
    except FileNotFoundError:
        return "gone"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_the_worker_dies_with_an_indexer_killed_by_sigkill(tmp_path: Path) -> None:
    script = ("import sys, time\nfrom pathlib import Path\nfrom knowledge.parse_worker import ParseWorker\n"
              "w = ParseWorker(timeout=60)\nw._start()\nprint(w._process.pid, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _state(worker) in ("S", "R")
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _state(worker) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(worker) in ("gone", "Z")
    finally:
        parent.kill()
        parent.wait(10)
