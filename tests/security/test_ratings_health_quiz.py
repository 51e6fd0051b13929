"""Lower-risk holes, over the real HTTP app: who may rate an answer, what /healthz shows to whom, and quiz
buttons whose data was tampered with.

- A rating counts only from someone who was shown the answer: its asker, or anyone in a conversation its
  card was delivered into. Anyone else who knows (or guesses) an answer id is told the answer is unknown.
- /healthz says "ok/loading/degraded" to anyone; record counts, generation and reasons only to this
  machine (a loopback peer) or a caller with a valid Bot Framework token. The "outside" caller connects
  through this machine's non-loopback address, so its peer address really is not loopback.
- A quiz button's indexes are user input: a negative, bool or huge index is answered as a stale button.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from dialogs import quiz, render
from dialogs.feedback import FeedbackStore
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.dialogs.fakes import FakeEngine
from tests.factories import make_knowledge
from tests.support.network import outward_address
from tests.support.server import APP_ID, Bot, Connector, channel_message, make_settings, message, messages_of, start_bot
from tests.support.tokens import IdentityProvider

ASKER = "00000000-0000-0000-0000-0000000a5e01"
OTHER = "00000000-0000-0000-0000-0000000a5e02"
TEAMMATE = "00000000-0000-0000-0000-0000000a5e03"


def answer_id_of(reply: dict[str, Any]) -> str:
    for action in reply["attachments"][0]["content"].get("actions", []):
        data = action.get("data") or {}
        if data.get(render.FEEDBACK_KEY) == "feedback":
            return str(data["answerId"])
    raise AssertionError("no rating buttons on the answer")


def rating(running: Bot, answer_id: str, *, user: str, conversation: str, rating: str = "down") -> dict[str, Any]:
    payload = message(running.connector, "", aad_object_id=user,
                      value={render.FEEDBACK_KEY: "feedback", "rating": rating, "answerId": answer_id})
    payload["conversation"] = {**payload["conversation"], "id": conversation}
    return payload


# =========================================================================== who may rate
@pytest.fixture
async def rated_bot(connector: Connector, tmp_path: Path) -> AsyncIterator[tuple[Bot, FeedbackStore]]:
    client, running = await start_bot(connector, FakeEngine(), data_dir=tmp_path)
    store = FeedbackStore(tmp_path / "partner-atlas.db")
    try:
        yield running, store
    finally:
        store.close()
        await client.close()


async def test_only_people_shown_an_answer_may_rate_it(rated_bot: tuple[Bot, FeedbackStore]) -> None:
    running, store = rated_bot
    asked = message(running.connector, "Who can do AKS in Germany?", aad_object_id=ASKER)
    asked["conversation"] = {**asked["conversation"], "id": "a:asker-chat"}
    _, activities = await running.ask(asked)
    answer_id = answer_id_of(messages_of(activities)[0])
    unknown = render.messages()["feedback_unknown"]

    # someone else, from their own chat, with the id: refused as if the answer did not exist
    _, activities = await running.ask(rating(running, answer_id, user=OTHER, conversation="a:other-chat"))
    assert messages_of(activities)[0]["text"] == unknown
    assert store.ratings([answer_id]) == {answer_id: {"up": 0, "down": 0}}

    _, activities = await running.ask(rating(running, answer_id, user=ASKER, conversation="a:asker-chat"))
    assert messages_of(activities)[0]["text"] == render.messages()["feedback_thanks_down"]
    assert store.ratings([answer_id]) == {answer_id: {"up": 0, "down": 1}}


async def test_everyone_in_the_channel_an_answer_went_to_may_rate_it(rated_bot: tuple[Bot, FeedbackStore]) -> None:
    running, store = rated_bot
    asked = channel_message(running.connector, "who covers AKS in Germany?")
    asked["from"] = {**asked["from"], "aadObjectId": ASKER}
    _, activities = await running.ask(asked)
    answer_id = answer_id_of(messages_of(activities)[0])
    channel = asked["conversation"]["id"]

    teammate = rating(running, answer_id, user=TEAMMATE, conversation=channel, rating="up")
    teammate["conversation"] = {**asked["conversation"]}
    _, activities = await running.ask(teammate)
    assert messages_of(activities)[0]["text"] == render.messages()["feedback_thanks_up"]
    outsider = rating(running, answer_id, user=OTHER, conversation="19:another-channel@thread.tacv2", rating="up")
    _, activities = await running.ask(outsider)
    assert messages_of(activities)[0]["text"] == render.messages()["feedback_unknown"]
    assert store.ratings([answer_id]) == {answer_id: {"up": 1, "down": 0}}


# =========================================================================== what /healthz shows
@pytest.fixture
async def public_bot(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[TestClient, str, IdentityProvider]]:
    """The app with credentials, listening on every address; the outside URL goes through a non-loopback one."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    idp = IdentityProvider()
    idp.install(monkeypatch)
    slot = EngineSlot()
    slot.set_ready(FakeEngine())             # type: ignore[arg-type]
    slot.counts = {"partners": 12, "opportunities": 34}
    settings = make_settings(app_id=APP_ID, app_password="not-a-real-secret", host="0.0.0.0")
    client = TestClient(TestServer(create_app(settings, slot), host="0.0.0.0"))
    await client.start_server()
    try:
        yield client, f"http://{address}:{client.port}", idp
    finally:
        await client.close()


async def _health(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz", headers=headers or {}) as response:
        return response.status, await response.json()


async def test_healthz_shows_counts_only_to_this_machine_or_an_authenticated_caller(
        public_bot: tuple[TestClient, str, IdentityProvider]) -> None:
    client, outside_url, idp = public_bot
    assert await _health(outside_url) == (200, {"status": "ok"})
    forged = idp.token(idp.claims(app_id="someone-else", service_url="https://smba.trafficmanager.net/amer/"))
    assert await _health(outside_url, {"Authorization": f"Bearer {forged}"}) == (200, {"status": "ok"})
    token = idp.token(idp.claims(app_id=APP_ID, service_url="https://smba.trafficmanager.net/amer/"))
    status, shown = await _health(outside_url, {"Authorization": f"Bearer {token}"})
    assert status == 200 and shown["partners"] == 12 and shown["opportunities"] == 34
    status, shown = await _health(f"http://127.0.0.1:{client.port}")
    assert status == 200 and shown["partners"] == 12
    # a reverse proxy on this machine forwarding someone else's request is not this machine
    assert await _health(f"http://127.0.0.1:{client.port}", {"X-Forwarded-For": "203.0.113.9"}) == \
        (200, {"status": "ok"})


async def test_a_degraded_reason_is_not_shown_outside(public_bot: tuple[TestClient, str, IdentityProvider]) -> None:
    _, outside_url, _ = public_bot
    slot_reason = "KnowledgeFolderError: knowledge folder /srv/partner-atlas/knowledge does not exist"
    slot = EngineSlot()                  # a second app, whose knowledge failed to load
    slot.set_failed(slot_reason)
    settings = make_settings(app_id=APP_ID, app_password="not-a-real-secret", host="0.0.0.0")
    degraded = TestClient(TestServer(create_app(settings, slot), host="0.0.0.0"))
    await degraded.start_server()
    try:
        outside = outside_url.rsplit(":", 1)[0] + f":{degraded.port}"
        assert await _health(outside) == (503, {"status": "degraded"})
        assert await _health(f"http://127.0.0.1:{degraded.port}") == (503, {"status": "degraded",
                                                                          "reason": slot_reason})
    finally:
        await degraded.close()


# =========================================================================== quiz buttons
@pytest.fixture
async def quiz_bot(connector: Connector, tmp_path: Path) -> AsyncIterator[Bot]:
    engine = KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)), None)
    client, running = await start_bot(connector, engine, data_dir=tmp_path / "data")  # type: ignore[arg-type]
    try:
        yield running
    finally:
        await client.close()


@pytest.mark.parametrize("tampered", [{"q": -1, "choice": 0}, {"q": 0, "choice": -1}, {"q": True, "choice": 0},
                                      {"q": 0, "choice": False}, {"q": 10**12, "choice": 0}, {"q": 0.0, "choice": 0}],
                         ids=["negative question", "negative option", "bool question", "bool option",
                              "huge question", "float question"])
async def test_a_tampered_quiz_button_is_stale_not_question_zero(quiz_bot: Bot, tampered: dict[str, Any]) -> None:
    start = message(quiz_bot.connector, "quiz me on Modernize SecOps", aad_object_id=ASKER)
    _, activities = await quiz_bot.ask(start)
    card = next(a["attachments"][0]["content"] for a in messages_of(activities) if a.get("attachments"))
    data = card["actions"][0]["data"][quiz.QUIZ_ANSWER_KEY]
    press = message(quiz_bot.connector, "", aad_object_id=ASKER,
                    value={quiz.QUIZ_ANSWER_KEY: {"quiz": data["quiz"], **tampered}})
    status, activities = await quiz_bot.ask(press)
    assert status == 200
    [reply] = messages_of(activities)
    assert reply["text"] == quiz.STALE
    # the quiz is still waiting for question 1: a real button press is taken
    _, activities = await quiz_bot.ask(message(quiz_bot.connector, "", aad_object_id=ASKER,
                                               value=card["actions"][0]["data"]))
    assert messages_of(activities)[0]["text"].startswith(("✅", "❌"))
