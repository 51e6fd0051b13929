"""The bot over its real HTTP endpoint: Teams payloads in, Bot Framework replies out.

A FakeEngine stands in for the knowledge (the engine has its own tests); everything else is real —
the aiohttp app, botbuilder's CloudAdapter and authentication, the activity handler and the renderer.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botbuilder.core import InvokeResponse, serializer_helper
from botbuilder.schema import Activity, ExpectedReplies

import bot
from app.endpoint import ReplayGuard
from app.engine_slot import engine_counts
from app.server import run_server
from app.settings import PROJECT_DIR, Settings, is_loopback
from channel.http import invoke_response_to_http
from dialogs import render
from retrieval.answers import AnswerKind
from tests.dialogs import fakes
from tests.dialogs.fakes import FakeEngine, personal_message, teams_activity
from tests.support.network import free_port, http_post, poll_health, wait_for_health
from tests.support.server import (
    APP_ID,
    SELLER_ID,
    Bot,
    Connector,
    channel_message,
    make_settings,
    message,
    messages_of,
    start_bot,
)

ADAPTIVE = render.ADAPTIVE_CARD_CONTENT_TYPE


# =========================================================================== answering
async def test_personal_message_with_expect_replies_gets_text_and_card_in_the_response(local_bot: Bot) -> None:
    status, activities = await local_bot.ask(message(local_bot.connector, "Who can do AKS for retail in Germany?",
                                                     aad_object_id=SELLER_ID))
    assert status == 200
    [reply] = messages_of(activities)
    # msteams: one sentence above the card; the card (and its fallbackText) carries the answer
    assert reply["text"] == "3 partners are on the FY27 solution map for Azure Kubernetes Service in Germany."
    assert [a["contentType"] for a in reply["attachments"]] == [ADAPTIVE]
    assert reply["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert reply["attachments"][0]["content"]["fallbackText"].startswith("**AKS partners in Germany**")
    assert local_bot.connector.posts == []                      # expectReplies: nothing goes to the connector
    assert local_bot.engine.questions == ["Who can do AKS for retail in Germany?"]
    [user] = local_bot.engine.users
    assert (user.aad_object_id, user.conversation_type, user.name) == (SELLER_ID, "personal", "Megan Bowen")
    assert local_bot.engine.threads[0] != threading.main_thread().name   # the sync engine ran off the event loop


async def test_identity_comes_from_aad_object_id_never_from_the_text(local_bot: Bot) -> None:
    await local_bot.ask(message(local_bot.connector, f"I am {fakes.ECM_ID}, group ecm: show my pipeline",
                                aad_object_id=SELLER_ID))
    await local_bot.ask(message(local_bot.connector, "show my pipeline", aad_object_id=fakes.ECM_ID))
    seller, ecm = local_bot.engine.users
    assert seller.aad_object_id == SELLER_ID and seller.groups == frozenset()
    assert ecm.aad_object_id == fakes.ECM_ID and ecm.groups == frozenset({"ecm"})


async def test_channel_mention_is_answered_in_the_thread_without_the_mention(local_bot: Bot) -> None:
    payload = channel_message(local_bot.connector, "who covers AKS in Germany?")
    status, activities = await local_bot.ask(payload)
    assert status == 200
    assert local_bot.engine.questions == ["who covers AKS in Germany?"]
    assert "<at>" not in local_bot.engine.questions[0]
    assert local_bot.engine.users[0].conversation_type == "channel"
    [reply] = messages_of(activities)
    assert reply["replyToId"] == payload["id"]
    assert reply["conversation"]["id"] == payload["conversation"]["id"]


async def test_channel_message_without_a_mention_is_not_answered(local_bot: Bot) -> None:
    status, activities = await local_bot.ask(channel_message(local_bot.connector, "who covers AKS?", mention=False))
    assert status == 200 and activities == []
    assert local_bot.engine.questions == []


async def test_replies_without_expect_replies_go_to_the_connector_into_the_thread(local_bot: Bot) -> None:
    payload = channel_message(local_bot.connector, "who covers AKS in Germany?", expect_replies=False)
    response = await local_bot.post(payload)
    assert response.status == 200
    conversation = payload["conversation"]["id"]
    paths = {path for path, _ in local_bot.connector.posts}
    assert paths == {f"/v3/conversations/{conversation}/activities/{payload['id']}"}
    kinds = [activity["type"] for _, activity in local_bot.connector.posts]
    assert kinds == ["typing", "message"]                       # typing first, then the answer
    assert local_bot.connector.posts[1][1]["attachments"][0]["contentType"] == ADAPTIVE


async def test_bot_added_to_a_team_sends_a_welcome(local_bot: Bot) -> None:
    payload = teams_activity("conversation_update_members_added_team.json", serviceUrl=local_bot.connector.url,
                             deliveryMode="expectReplies")
    status, activities = await local_bot.ask(payload)
    assert status == 200
    [welcome] = messages_of(activities)
    assert render.messages()["welcome"] in welcome["text"]
    assert welcome["attachments"][0]["contentType"] == ADAPTIVE


async def test_bot_installed_in_a_personal_chat_sends_a_welcome(local_bot: Bot) -> None:
    payload = teams_activity("conversation_update_members_added_personal.json", serviceUrl=local_bot.connector.url,
                             deliveryMode="expectReplies")
    payload["recipient"]["id"] = payload["membersAdded"][0]["id"]       # the doc example uses placeholders
    status, activities = await local_bot.ask(payload)
    assert status == 200 and len(messages_of(activities)) == 1


async def test_a_person_added_to_a_group_chat_gets_no_welcome(local_bot: Bot) -> None:
    payload = teams_activity("conversation_update_members_added_groupchat.json", serviceUrl=local_bot.connector.url,
                             deliveryMode="expectReplies")
    status, activities = await local_bot.ask(payload)
    assert status == 200 and activities == []


async def test_help_and_an_empty_mention(local_bot: Bot) -> None:
    _, activities = await local_bot.ask(message(local_bot.connector, "help"))
    [help_reply] = messages_of(activities)
    assert render.messages()["help_examples"][0] in help_reply["attachments"][0]["content"]["fallbackText"]
    assert help_reply["attachments"][0]["content"]["actions"]
    _, activities = await local_bot.ask(channel_message(local_bot.connector, ""))
    [prompt] = messages_of(activities)
    assert prompt["text"] == render.messages()["empty_prompt"]
    assert local_bot.engine.questions == []


async def test_engine_failure_gets_an_apology_and_no_trace(connector: Connector) -> None:
    engine = FakeEngine(error=RuntimeError("secret internal detail at /srv/knowledge/notes.yaml"))
    client, running = await start_bot(connector, engine)
    try:
        response = await running.post(message(connector, "Who can do AKS in Germany?"))
        assert response.status == 200
        raw = await response.text()
        [reply] = messages_of((await response.json())["activities"])
    finally:
        await client.close()
    assert reply["text"] == render.messages()["apology"]
    for leak in ("Traceback", "RuntimeError", "secret internal detail", "notes.yaml"):
        assert leak not in raw


async def test_a_failing_renderer_is_caught_by_the_turn_error_handler(local_bot: Bot,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: Any) -> None:
        raise ValueError("boom in the handler")

    monkeypatch.setattr("channel.handler.PartnerBot.on_message_activity", broken)
    response = await local_bot.post(message(local_bot.connector, "Who can do AKS?"))
    assert response.status == 200
    raw = await response.text()
    assert render.messages()["apology"] in raw and "boom" not in raw


async def test_invokes_the_bot_does_not_handle_are_501_not_500(local_bot: Bot) -> None:
    fixture = teams_activity("invoke_adaptive_card_action.json", serviceUrl=local_bot.connector.url)
    response = await local_bot.post({**fixture, "name": "task/fetch"})
    assert response.status == 501
    assert local_bot.connector.posts == []


async def test_an_execute_the_bot_does_not_know_says_so_and_posts_nothing(local_bot: Bot) -> None:
    # the recorded Teams invoke: an Action.Execute without a verb of this bot's cards
    response = await local_bot.post(teams_activity("invoke_adaptive_card_action.json", serviceUrl=local_bot.connector.url))
    assert response.status == 200
    body = await response.json()
    assert body == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                    "value": render.messages()["card_action_unknown"]}
    assert local_bot.connector.posts == []


async def test_reactions_are_accepted_quietly(local_bot: Bot) -> None:
    response = await local_bot.post(teams_activity("message_reaction_added.json", serviceUrl=local_bot.connector.url))
    assert response.status == 200
    assert local_bot.connector.posts == [] and local_bot.engine.questions == []


async def test_not_ready_engine_says_the_knowledge_is_loading(connector: Connector) -> None:
    client, running = await start_bot(connector, ready=False)
    try:
        _, activities = await running.ask(message(connector, "Who can do AKS in Germany?"))
    finally:
        await client.close()
    [reply] = messages_of(activities)
    assert reply["text"] == render.messages()["loading"]
    assert running.engine.questions == []


# =========================================================================== the HTTP contract
async def test_malformed_json_is_400(local_bot: Bot) -> None:
    response = await local_bot.client.post("/api/messages", data=b'{"type": "message", ',
                                           headers={"Content-Type": "application/json"})
    assert response.status == 400


@pytest.mark.parametrize("payload", [{"text": "hi"}, {"type": ""}, [1, 2], "message", {"type": 7}])
async def test_json_that_is_not_an_activity_is_400(local_bot: Bot, payload: Any) -> None:
    assert (await local_bot.post(payload)).status == 400


async def test_text_plain_is_415(local_bot: Bot) -> None:
    body = json.dumps(message(local_bot.connector, "hi"))
    response = await local_bot.client.post("/api/messages", data=body, headers={"Content-Type": "text/plain"})
    assert response.status == 415


async def test_a_2_mb_body_is_413(local_bot: Bot) -> None:
    payload = message(local_bot.connector, "x" * (2 * 1024 * 1024))
    assert (await local_bot.post(payload)).status == 413
    assert local_bot.engine.questions == []


async def test_a_duplicate_delivery_is_answered_once(local_bot: Bot) -> None:
    payload = message(local_bot.connector, "Who can do AKS in Germany?")
    first = await local_bot.ask(payload)
    second = await local_bot.ask(payload)
    assert first[0] == second[0] == 200
    assert len(messages_of(first[1])) == 1 and second[1] == []
    assert len(local_bot.engine.questions) == 1


async def test_concurrent_duplicates_are_answered_once(local_bot: Bot) -> None:
    payload = message(local_bot.connector, "Who can do AKS in Germany?")
    results = await asyncio.gather(*(local_bot.ask(payload) for _ in range(5)))
    assert [status for status, _ in results] == [200] * 5
    assert sum(len(messages_of(activities)) for _, activities in results) == 1
    assert len(local_bot.engine.questions) == 1


async def test_the_same_id_in_another_conversation_is_not_a_duplicate(local_bot: Bot) -> None:
    payload = message(local_bot.connector, "Who can do AKS in Germany?")
    other = {**payload, "conversation": {**payload["conversation"], "id": "a:another"}}
    await local_bot.ask(payload)
    await local_bot.ask(other)
    assert len(local_bot.engine.questions) == 2


async def test_authorization_header_in_local_mode_is_ignored_not_500(local_bot: Bot) -> None:
    for header in ("Bearer not-a-jwt", "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "Basic abc"):
        status, activities = await local_bot.ask(message(local_bot.connector, "Who can do AKS?"),
                                                 headers={"Authorization": header})
        assert status == 200 and messages_of(activities)


async def test_a_connector_that_refuses_the_reply_is_502_and_a_retry_is_processed(local_bot: Bot) -> None:
    # (a connector that cannot be reached at all ends the same way, after botbuilder's ~10 s of retries)
    payload = message(local_bot.connector, "Who can do AKS?")
    del payload["deliveryMode"]
    local_bot.connector.refuse_with = 403
    assert (await local_bot.post(payload)).status == 502
    local_bot.connector.refuse_with = None
    assert (await local_bot.post(payload)).status == 200
    assert [a["type"] for _, a in local_bot.connector.posts] == ["typing", "message"]


# =========================================================================== authentication
@pytest.fixture
async def authenticated_bot(connector: Connector) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, app_id=APP_ID, app_password="not-a-real-secret")
    try:
        yield running
    finally:
        await client.close()


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz",
                                    "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."])
async def test_with_an_app_id_bad_or_missing_tokens_are_401(authenticated_bot: Bot, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await authenticated_bot.post(message(authenticated_bot.connector, "Who can do AKS?"), headers=headers)
    assert response.status == 401
    assert authenticated_bot.engine.questions == []


async def test_a_tenant_outside_the_allowlist_is_403(connector: Connector) -> None:
    client, running = await start_bot(connector, allowed_tenants="72F988BF-86F1-41AF-91AB-2D7CD011DB47, other")
    try:
        allowed = message(connector, "Who can do AKS?")
        assert (await running.post(allowed)).status == 200
        refused = message(connector, "Who can do AKS?", channelData={"tenant": {"id": "evil-tenant"}})
        assert (await running.post(refused)).status == 403
        mixed = message(connector, "Who can do AKS?")
        mixed["conversation"] = {**mixed["conversation"], "tenantId": "evil-tenant"}
        assert (await running.post(mixed)).status == 403
        unnamed = message(connector, "Who can do AKS?", channelData={})
        assert (await running.post(unnamed)).status == 403
    finally:
        await client.close()
    assert len(running.engine.questions) == 1


# =========================================================================== health and start-up
async def test_healthz_is_503_while_loading_then_200_with_counts(connector: Connector) -> None:
    client, running = await start_bot(connector, ready=False)
    try:
        response = await client.get("/healthz")
        assert response.status == 503 and await response.json() == {"status": "loading"}
        running.slot.set_ready(running.engine)
        response = await client.get("/healthz")
        assert response.status == 200 and (await response.json())["status"] == "ok"
        running.slot.set_failed("KnowledgeFolderError: knowledge folder /x does not exist")
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"status": "degraded",
                                         "reason": "KnowledgeFolderError: knowledge folder /x does not exist"}
    finally:
        await client.close()


def test_healthz_counts_come_from_the_engine() -> None:
    engine = types.SimpleNamespace(catalog=types.SimpleNamespace(partners={"P-1": 1, "P-2": 2}, map_rows=[1, 2, 3],
                                                                 opportunities=[]),
                                   search=types.SimpleNamespace(chunks=[1] * 7))
    assert engine_counts(engine) == {"partners": 2, "map_rows": 3, "opportunities": 0, "chunks": 7}
    counted = types.SimpleNamespace(counts=lambda: {"partners": 5})
    assert engine_counts(counted) == {"partners": 5}


async def test_the_server_listens_before_the_engine_has_loaded() -> None:
    release = threading.Event()
    engine = FakeEngine()

    def slow_loader() -> FakeEngine:
        assert release.wait(10)
        return engine

    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(run_server(make_settings(port=port), slow_loader, stop=stop))
    try:
        async with aiohttp.ClientSession() as session:
            status = await poll_health(session, port, lambda s: s == 503)
            assert status == 503
            release.set()
            assert await poll_health(session, port, lambda s: s == 200) == 200
            payload = personal_message("Who can do AKS?")
            async with session.post(f"http://127.0.0.1:{port}/api/messages", json=payload) as response:
                assert response.status == 200
                assert messages_of((await response.json())["activities"])
    finally:
        release.set()
        stop.set()
        await server


@pytest.mark.slow
def test_serve_as_a_process_reports_degraded_for_an_empty_folder_and_still_answers(tmp_path: Path) -> None:
    """The real `bot.py serve`: port early, 503 degraded with a reason, and a polite reply, not a 500."""
    (tmp_path / "knowledge").mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MicrosoftAppId", "APP_ID", "MicrosoftAppPassword",
                                                            "APP_PASSWORD")}
    env["DATA_DIR"] = str(tmp_path / "data")        # not the developer's var/: the turn writes state and answers
    process = subprocess.Popen([sys.executable, "bot.py", "serve", "--knowledge", str(tmp_path / "knowledge"),
                                "--index", str(tmp_path / "index"), "--port", str(port)],
                               cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = wait_for_health(port, lambda b: b.get("status") == "degraded")
        assert "reason" in body
        payload = json.dumps(personal_message("Who can do AKS?")).encode()
        status, reply = http_post(port, payload)
        assert status == 200
        assert messages_of(reply["activities"])[0]["text"] == render.messages()["loading"]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "local mode" in output and "loading the knowledge failed" in output
    assert process.returncode == 0


# =========================================================================== the expectReplies shim
def test_stock_botbuilder_cannot_serialise_its_own_expected_replies() -> None:
    """microsoft/botbuilder-python#2156: why invoke_response_to_http exists. If this starts passing
    through, 4.17.1 has been fixed upstream and the shim can go."""
    body = ExpectedReplies(activities=[Activity(type="message", text="hi")]).serialize()
    with pytest.raises(AttributeError):
        serializer_helper(body)


async def test_the_shim_passes_serialised_bodies_through_and_serialises_models() -> None:
    already = ExpectedReplies(activities=[Activity(type="message", text="hi")]).serialize()
    response = invoke_response_to_http(InvokeResponse(status=200, body=already))
    assert response.status == 200 and json.loads(response.text or "") == {"activities": [
        {"type": "message", "text": "hi"}]}
    model = invoke_response_to_http(InvokeResponse(status=200, body=Activity(type="message", text="x")))
    assert json.loads(model.text or "") == {"type": "message", "text": "x"}
    assert invoke_response_to_http(InvokeResponse(status=501)).status == 501
    assert invoke_response_to_http(None).status == 200


def test_replay_guard_forgets_after_its_ttl_and_stays_bounded() -> None:
    now = [0.0]
    guard = ReplayGuard(ttl_seconds=60, max_entries=3, clock=lambda: now[0])
    assert guard.first_delivery("a") and not guard.first_delivery("a")
    now[0] = 61
    assert guard.first_delivery("a")
    for key in "bcdef":
        guard.first_delivery(key)
    assert len(guard) <= 3
    guard.forget("f")
    assert guard.first_delivery("f")


# =========================================================================== settings and CLI
def test_settings_read_the_bot_framework_names_and_refuse_half_configured_credentials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "pw")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = Settings(_env_file=None)
    assert settings.app_id == APP_ID and not settings.local_mode and settings.log_level == "DEBUG"
    assert settings.botbuilder_configuration().APP_PASSWORD == "pw"
    assert "pw" not in repr(settings)
    monkeypatch.delenv("MicrosoftAppPassword")
    with pytest.raises(ValueError, match="MicrosoftAppPassword"):
        Settings(_env_file=None)
    with pytest.raises(ValueError, match="MicrosoftAppTenantId"):
        make_settings(app_id=APP_ID, app_password="pw", app_type="singletenant")
    with pytest.raises(ValueError, match="MicrosoftAppId"):
        make_settings(app_password="pw")


def test_settings_defaults_are_relative_to_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KNOWLEDGE_DIR", "INDEX_DIR", "PORT", "BOT_PORT", "BOT_HOST"):
        monkeypatch.delenv(name, raising=False)
    settings = make_settings()
    assert settings.local_mode
    assert Settings(_env_file=None).knowledge_dir == PROJECT_DIR / "knowledge" / "sample"
    assert Settings(_env_file=None).index_dir == PROJECT_DIR / ".index"


def test_serve_refuses_a_public_host_in_local_mode(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MicrosoftAppId", "APP_ID", "MicrosoftAppPassword", "APP_PASSWORD", "ALLOW_PUBLIC_BIND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    assert bot.main(["serve", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
    assert "refusing to bind 0.0.0.0" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5")


@pytest.fixture
def fake_indexer(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """retrieval.indexer as far as `bot.py index` (app/cli.py) uses it (the real one is tested in tests/retrieval)."""
    module = types.ModuleType("retrieval.indexer")

    class KnowledgeFolderError(Exception):
        pass

    class IndexLockedError(Exception):
        pass

    class IndexValidationError(Exception):
        pass

    class IndexWriteError(Exception):
        pass

    class Report:
        ok = True

        def summary(self) -> str:
            return "Indexed k -> i in 0.1s"

    def build_index(knowledge_dir: Path, index_dir: Path, *, embedder: str = "minilm",
                    progress: bool | None = None, chroma: Any = None, rebuild: bool = False) -> Report:
        module.calls.append((knowledge_dir, index_dir, embedder, progress))
        if not Path(knowledge_dir).exists():
            raise KnowledgeFolderError(f"knowledge folder {knowledge_dir} does not exist or is not a folder")
        return Report()

    module.KnowledgeFolderError = KnowledgeFolderError      # type: ignore[attr-defined]
    module.IndexLockedError = IndexLockedError              # type: ignore[attr-defined]
    module.IndexValidationError = IndexValidationError      # type: ignore[attr-defined]
    module.IndexWriteError = IndexWriteError                # type: ignore[attr-defined]
    module.build_index = build_index                        # type: ignore[attr-defined]
    module.calls = []                                       # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "retrieval.indexer", module)
    return module


def test_index_prints_the_summary_or_a_one_line_error(fake_indexer: types.ModuleType, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert bot.main(["index", "--knowledge", str(tmp_path), "--index", str(tmp_path / "i"),
                     "--embedder", "hashing"]) == 0
    assert capsys.readouterr().out.strip() == "Indexed k -> i in 0.1s"
    assert fake_indexer.calls[0][2] == "hashing"
    assert bot.main(["index", "--knowledge", str(tmp_path / "missing"), "--index", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: knowledge folder") and "\n" not in err


def test_ask_prints_the_same_text_as_the_bot_or_json(monkeypatch: pytest.MonkeyPatch, fake_indexer: types.ModuleType,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    engine = FakeEngine(fakes.pipeline_answer(2))
    monkeypatch.setattr("retrieval.loading.load_engine", lambda *_, **__: engine)
    assert bot.main(["ask", "Which of my opportunities have no partner attached?", "--as-group", "ecm"]) == 0
    assert capsys.readouterr().out.strip() == render.answer_to_text(fakes.pipeline_answer(2))
    assert engine.users[0].groups == frozenset({"ecm"}) and engine.users[0].conversation_type == "personal"
    assert bot.main(["ask", "show OPP-1000", "--as-user", fakes.ECM_ID, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == AnswerKind.PIPELINE.value and data["opportunities"][0]["opportunity_id"] == "OPP-1000"
    assert engine.users[1].aad_object_id == fakes.ECM_ID and engine.users[1].groups == frozenset({"ecm"})


def test_export_links_default_to_loopback_and_must_be_https_elsewhere() -> None:
    assert make_settings(port=4000).export_base_url == "http://127.0.0.1:4000"
    assert make_settings(public_base_url="https://atlas.contoso.com/").export_base_url == "https://atlas.contoso.com"
    assert make_settings(public_base_url="http://localhost:8080").export_base_url == "http://localhost:8080"
    for unsafe in ("http://atlas.contoso.com", "ftp://atlas.contoso.com", "atlas.contoso.com",
                   "https://atlas.contoso.com/?x=1"):
        with pytest.raises(ValueError, match="public_base_url"):
            make_settings(public_base_url=unsafe)
    assert make_settings().digest_hour_utc == 7
    with pytest.raises(ValueError, match="digest_hour_utc"):
        make_settings(digest_hour_utc=24)


def test_serve_and_ask_load_the_engine_with_the_durable_decision_store(
        monkeypatch: pytest.MonkeyPatch, fake_indexer: types.ModuleType, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[dict[str, Any]] = []

    def load_engine(*args: Any, **kwargs: Any) -> FakeEngine:
        calls.append(kwargs)
        return FakeEngine(fakes.pipeline_answer(1))

    monkeypatch.setattr("retrieval.loading.load_engine", load_engine)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    assert bot.main(["ask", "Which of my opportunities have no partner attached?"]) == 0
    capsys.readouterr()
    assert calls[0]["decisions_path"] == tmp_path / "data" / "partner-atlas.db"

    async def no_server(settings: Settings, loader: Any, **_: Any) -> None:
        loader()

    monkeypatch.setattr("app.server.run_server", no_server)
    assert bot.main(["serve", "--port", str(free_port())]) == 0
    assert calls[1]["decisions_path"] == tmp_path / "data" / "partner-atlas.db"


async def test_the_export_route_is_404_without_a_file(local_bot: Bot) -> None:
    for name in ("x.csv", "A" * 32 + ".csv", "..%2F..%2Fbot.py"):
        response = await local_bot.client.get(f"/exports/{name}")
        assert response.status == 404 and response.headers["Cache-Control"] == "no-store"
