"""bench/locustfile.py, run by Locust itself (in a subprocess: Locust monkey-patches the process it runs in)
against the bot's real HTTP app, so `make soak`'s load tool cannot rot: its activities must be accepted and
answered by the server, and its success check must catch every kind of non-answer.

Not timed: these tests assert what was sent and counted, never how fast.
"""
from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.common import CATALOG_DEV, FAQ_QUESTIONS, PROJECT_DIR, load_questions
from tests.dialogs import fakes
from tests.support.server import Connector, start_bot

pytestmark = pytest.mark.slow          # each test runs Locust as a process

LOCUSTFILE = PROJECT_DIR / "bench" / "locustfile.py"
QUESTIONS = load_questions(CATALOG_DEV / "questions.jsonl") + load_questions(FAQ_QUESTIONS, kind="faq")


async def run_locust(host: str, tmp_path: Path, *, users: int = 3, seconds: int = 4) -> tuple[int, str, dict[str, Any],
                                                                                            list[list[str]]]:
    """Locust headless for a few seconds against `host`: (exit code, output, aggregated stats, request-log rows)."""
    stats_file, request_log = tmp_path / "stats.json", tmp_path / "requests.csv"   # Locust adds the ".json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host, "-u", str(users),
        "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "10", "--only-summary", "--json-file", str(tmp_path / "stats"),
        "--request-log", str(request_log), "--think-min", "0.2", "--think-max", "0.4", "--loglevel", "WARNING",
        cwd=PROJECT_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)   # the server keeps serving meanwhile
    text = output.decode(errors="replace")
    assert stats_file.exists(), f"locust wrote no stats:\n{text[-3000:]}"
    [stats] = [s for s in json.loads(stats_file.read_text()) if s["name"] == "/api/messages"]
    rows = list(csv.reader(request_log.open())) if request_log.exists() else []
    assert proc.returncode is not None
    return proc.returncode, text, stats, rows


async def test_locust_users_send_teams_activities_the_bot_answers(tmp_path: Path) -> None:
    client, running = await start_bot(Connector())
    try:
        host = str(client.make_url("")).rstrip("/")
        code, output, stats, rows = await run_locust(host, tmp_path, users=3)
    finally:
        await client.close()
    assert code == 0, output[-3000:]
    assert stats["num_requests"] >= 3 and stats["num_failures"] == 0
    # every request reached the engine as a question from the dev sets, asked by the simulated user
    asked = running.engine.questions
    assert len(asked) == stats["num_requests"] == len(rows)
    assert set(asked) <= {q["question"] for q in QUESTIONS}
    assert all(row[2] == "1" and row[4] == "" for row in rows)
    users = running.engine.users
    assert {u.conversation_type for u in users} == {"personal"}
    # one channel manager (user 0: an ecm identity of access.yaml) and sellers with their own ids, in no group
    ids = {u.aad_object_id: u.groups for u in users}
    assert len(ids) == 3
    assert sorted(len(groups) for groups in ids.values()) == [0, 0, 1]
    assert fakes.ECM_ID in ids and ids[fakes.ECM_ID] == frozenset({"ecm"})
    assert running.connector.posts == []            # expectReplies: the replies came back in the HTTP responses


async def test_locust_counts_every_non_answer_as_a_failure(tmp_path: Path) -> None:
    """A server that answers with an error, nothing, non-JSON or no message: each request must fail, with its reason."""
    replies = [web.json_response({"error": "boom"}, status=500),
               web.json_response({"activities": []}),
               web.Response(text="<html>ok</html>", content_type="text/html"),
               web.json_response({"activities": [{"type": "typing"}]})]
    seen = 0

    async def messages(request: web.Request) -> web.Response:
        nonlocal seen
        body = await request.json()
        assert body["deliveryMode"] == "expectReplies" and body["type"] == "message"
        seen += 1
        template = replies[(seen - 1) % len(replies)]
        return web.Response(body=template.body, status=template.status, content_type=template.content_type)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    async with TestServer(app, host="127.0.0.1") as server:
        code, output, stats, rows = await run_locust(str(server.make_url("")).rstrip("/"), tmp_path, users=2)
    assert code != 0, output[-3000:]
    assert seen >= len(replies)
    assert stats["num_requests"] == stats["num_failures"] == seen == len(rows)
    assert {row[2] for row in rows} == {"0"}
    assert {row[4] for row in rows} == {"HTTP 500", "no activities in the reply", "body is not JSON",
                                        "no message activity with text or attachments"}


async def test_locust_refuses_a_host_that_is_not_loopback(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", "http://partner-atlas.invalid:9",
        "-u", "1", "-r", "1", "-t", "3s", "--request-log", str(tmp_path / "r.csv"), cwd=PROJECT_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode != 0
    assert "loopback only" in output.decode(errors="replace")
    assert not (tmp_path / "r.csv").exists()      # stopped before any user started
