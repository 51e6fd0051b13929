"""Two `bot.py serve` processes on one PostgreSQL database behave as one bot, checked over HTTP.

Each instance has its own data folder and its own copy of the index, so nothing but the database is
shared: a decision taken on one is seen by the next answer on the other, an export link made on one
downloads from the other, an activity delivered to both is answered once, and each subscriber's daily
digest goes out once a day although both instances' schedulers check several times a second.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

import bot
from app.settings import PROJECT_DIR
from retrieval.indexer import build_index
from storage.database import opened
from tests.dialogs.fakes import personal_message
from tests.factories import ECM, make_knowledge
from tests.services import Postgres, free_port
from tests.support.cards import card_of, submits, suggested_partner_ids, text_of
from tests.support.server import Connector

SUBSCRIBERS = [f"00000000-0000-0000-0000-0000000e{n:04d}" for n in range(1, 9)]


@dataclass
class Instance:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    instances: list[Instance]
    database_url: str
    session: aiohttp.ClientSession

    async def post(self, which: int, payload: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(f"{self.instances[which].url}/api/messages", json=payload) as response:
            body = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, body

    async def say(self, which: int, text: str = "", *, user: str = ECM, value: Any = None,
                  conversation: str = "a:ecm-1:1", service_url: str | None = None) -> list[dict[str, Any]]:
        payload = personal_message(text, aad_object_id=user)
        payload["conversation"] = {**payload["conversation"], "id": conversation}
        if service_url:
            payload["serviceUrl"] = service_url
        if value is not None:
            payload.update(value=value, text="")
            payload.pop("attachments", None)
        status, body = await self.post(which, payload)
        assert status == 200, body
        return [a for a in body["activities"] if a["type"] == "message"]


def knowledge_with_subscribers(root: Path) -> Path:
    folder = make_knowledge(root)
    access = yaml.safe_load((folder / "access.yaml").read_text())
    access["groups"]["ecm"] += [{"aad_object_id": user, "name": f"ECM {n}"} for n, user in enumerate(SUBSCRIBERS)]
    (folder / "access.yaml").write_text(yaml.safe_dump(access))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("scale-out")
    folder = knowledge_with_subscribers(root / "kb")
    build_index(folder, root / "index", embedder="hashing", progress=False)
    yield folder, root / "index"


def start(folder: Path, index: Path, data: Path, database_url: str) -> Instance:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MicrosoftAppId", "APP_ID", "MicrosoftAppPassword",
                                                            "APP_PASSWORD", "CHROMA_HOST")}
    env.update(DATA_DIR=str(data), DATABASE_URL=database_url, STATE_STORE="postgres", DIGEST_HOUR_UTC="0",
               DIGEST_CHECK_SECONDS="0.1", LOG_LEVEL="INFO")
    data.mkdir(parents=True)
    log = data / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "bot.py", "serve", "--knowledge", str(folder), "--index", str(index),
                                    "--embedder", "hashing", "--port", str(port)], cwd=PROJECT_DIR, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Instance(port, process, log)


async def until_healthy(session: aiohttp.ClientSession, instance: Instance, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        assert instance.process.poll() is None, instance.log.read_text(errors="replace")
        try:
            async with session.get(f"{instance.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"never healthy: {instance.log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def instances(built: tuple[Path, Path], postgres: Postgres,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Instance], str]]:
    """Two `bot.py serve` processes on one new database, for every test of this module (each uses its own
    opportunities, users and activity ids, so the order does not matter)."""
    folder, index = built
    root = tmp_path_factory.mktemp("instances")
    database_url = postgres.new_database()
    running = []
    try:
        for n in (1, 2):
            shutil.copytree(index, root / f"index-{n}")
            running.append(start(folder, root / f"index-{n}", root / f"data-{n}", database_url))
        yield running, database_url
    finally:
        for instance in running:
            instance.process.terminate()
        for instance in running:
            try:
                instance.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait()
    for instance in running:
        assert instance.process.returncode == 0, instance.log.read_text(errors="replace")[-3000:]
        assert "Traceback" not in instance.log.read_text(errors="replace")


@pytest.fixture
async def cluster(instances: tuple[list[Instance], str]) -> AsyncIterator[Cluster]:
    running, database_url = instances
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    try:
        for instance in running:
            await until_healthy(session, instance)
        yield Cluster(running, database_url, session)
    finally:
        await session.close()


@pytest.mark.slow
async def test_a_decision_made_on_one_instance_shapes_the_next_answer_on_the_other(cluster: Cluster) -> None:
    before = card_of(await cluster.say(1, "Suggest partners for OPP-100"))
    assert suggested_partner_ids(before)[:2] == ["P-1", "P-2"]
    on_first = card_of(await cluster.say(0, "Suggest partners for OPP-100"))
    dismiss = next(d for d in submits(on_first, "attach") if d["action"] == "dismiss" and d["partnerId"] == "P-2")
    await cluster.say(0, value={**dismiss, "reason_P-2": "No capacity before the close date"})

    after = await cluster.say(1, "Suggest partners for OPP-100")      # the other instance, asked the same again
    assert "P-2" not in suggested_partner_ids(card_of(after))
    assert "Dismissed Beta Systems" in text_of(after)

    unattached = text_of(await cluster.say(1, "Which of my opportunities have no partner attached?"))
    assert "OPP-100" in unattached
    attach = next(d for d in submits(on_first, "attach") if d["action"] == "attach" and d["partnerId"] == "P-1")
    await cluster.say(0, value=attach)
    unattached = text_of(await cluster.say(1, "Which of my opportunities have no partner attached?"))
    assert "Marked attached here since the pipeline export: OPP-100" in unattached


@pytest.mark.slow
async def test_an_export_link_made_on_one_instance_downloads_from_the_other(cluster: Cluster) -> None:
    [reply] = await cluster.say(0, "export decisions")
    [(link, name)] = re.findall(r"\((http://\S+/exports/(\S+?))\)", reply["text"])
    assert link.startswith(cluster.instances[0].url)
    async with cluster.session.get(f"{cluster.instances[0].url}/exports/{name}") as response:
        assert response.status == 200
        made_here = await response.read()
    async with cluster.session.get(f"{cluster.instances[1].url}/exports/{name}") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
        assert await response.read() == made_here
        assert made_here.decode("utf-8-sig").startswith("opportunity_id,partner_id,partner_name,action")
    async with cluster.session.get(f"{cluster.instances[1].url}/exports/{name[:-5]}x.csv") as response:
        assert response.status == 404


@pytest.mark.slow
async def test_a_redelivered_activity_is_answered_once_whichever_instance_gets_it(cluster: Cluster,
                                                                                   connector: Connector) -> None:  # noqa: F811
    payload = personal_message("Who can do AKS in Germany?", aad_object_id=ECM)
    assert messages_in(await cluster.post(0, payload))
    # what people type goes into PostgreSQL text columns, which cannot hold NUL: still answered
    assert messages_in(await cluster.post(1, personal_message("Who can do AKS\x00 in Germany?", aad_object_id=ECM)))
    assert await cluster.post(1, payload) == (200, {"activities": []})      # the redelivery lands on the other one
    assert await cluster.post(0, payload) == (200, {"activities": []})

    # delivered to both instances at once (twice each), replies through the connector: one answer each time
    ids = []
    for round_ in range(5):
        racing = personal_message(f"Who can do AKS in Germany? ({round_})", expect_replies=False, aad_object_id=ECM,
                                  serviceUrl=connector.url)
        ids.append(racing["id"])
        statuses = await asyncio.gather(*(cluster.post(n % 2, racing) for n in range(4)))
        assert [status for status, _ in statuses] == [200] * 4
    answered = [body["replyToId"] for _, body in connector.posts if body.get("type") == "message"]
    assert sorted(answered) == sorted(ids)


def messages_in(response: tuple[int, Any]) -> list[dict[str, Any]]:
    status, body = response
    assert status == 200, body
    return [a for a in body["activities"] if a["type"] == "message"]


@pytest.mark.slow
async def test_each_subscriber_gets_one_digest_a_day_from_either_instance(cluster: Cluster,
                                                                          connector: Connector) -> None:  # noqa: F811
    conversations = {user: f"a:digest-{uuid.uuid4().hex[:8]}" for user in SUBSCRIBERS}
    for n, (user, conversation) in enumerate(conversations.items()):
        [reply] = await cluster.say(n % 2, "Send me a daily sweep", user=user, conversation=conversation,
                                    service_url=connector.url)
        assert reply["text"].startswith("Subscribed")
    # subscribed after today's digest hour: the first digest is tomorrow's. Two days turn; both schedulers race.
    for day in (1, 2):
        with opened(cluster.database_url) as database:
            database.write(lambda tx: tx.execute("update digest_subscriptions set last_sent_date = null"))
        expected = day * len(SUBSCRIBERS)
        await until(lambda: len(digests(connector)) >= expected)  # noqa: B023 - awaited within the iteration
        # both instances keep checking every 0.1 s: give a second digest every chance to appear
        await asyncio.sleep(1.0)
        sent = digests(connector)
        assert sorted(sent) == sorted(conversation for conversation in conversations.values() for _ in range(day))
    with opened(cluster.database_url) as database:
        rows = database.read(lambda tx: tx.rows("select last_sent_date, claimed_until from digest_subscriptions"))
    assert len(rows) == len(SUBSCRIBERS) and all(sent and until_ is None for sent, until_ in rows)


def digests(stub: Connector) -> list[str]:
    """The conversation of every proactive message the connector received (a digest: it replies to nothing)."""
    return [path.split("/")[3] for path, body in stub.posts
            if body.get("type") == "message" and not body.get("replyToId")]


async def until(done: Any, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_the_gaps_command_reads_the_shared_database(postgres: Postgres, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from dialogs.feedback import FeedbackStore

    url = postgres.new_database()
    store = FeedbackStore(url)
    store.record_answer(question_id="q", conversation_type="personal", user_id="u", question="Who covers Atlantis?",
                        kind="no_match", title="No match", outcome="no_match")
    store.close()
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    assert bot.main(["gaps", "--format", "csv"]) == 0
    assert "Who covers Atlantis?" in capsys.readouterr().out
    assert not (tmp_path / "empty").exists()                    # no SQLite file made beside it
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    assert bot.main(["gaps"]) == 2
    assert "DATABASE_URL must be a postgresql:// URL" in capsys.readouterr().err


def test_serve_with_an_unreachable_database_exits_with_a_reason(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    monkeypatch.setattr("storage.database.CONNECT_TIMEOUT_SECONDS", 2.0)
    for name in ("MicrosoftAppId", "APP_ID", "MicrosoftAppPassword", "APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://atlas:s3cret@127.0.0.1:{free_port()}/partner_atlas")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert bot.main(["serve", "--port", str(free_port()), "--knowledge", str(tmp_path), "--index",
                     str(tmp_path / "index")]) == 2
    err = capsys.readouterr().err
    assert "error: cannot connect to PostgreSQL 127.0.0.1:" in err and "s3cret" not in err
