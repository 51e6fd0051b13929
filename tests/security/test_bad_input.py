"""Hostile and broken input over the real HTTP app: request bodies, message texts, and markup planted
in the knowledge folder. Every case gets a 4xx or a sensible reply, never a 500, and what a document
says is shown inert (dialogs/markup.py), never interpreted as links, images, tags or card elements.

(tests/test_server.py already covers malformed JSON, JSON that is not an activity, text/plain and a
2 MB body; the cases here are the ones it does not.)
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from dialogs import render
from dialogs.markup import inert
from retrieval.answers import AnswerKind
from retrieval.engine import KnowledgeEngine
from retrieval.indexer import build_index
from retrieval.loading import load_engine
from tests.factories import SELLER, make_knowledge
from tests.support.server import Bot, Connector, message, messages_of, start_bot

BODY_MATRIX: dict[str, int] = {}
TEXT_MATRIX: dict[str, str] = {}

PLANTED = "programs/it-notice.txt"
PLANTED_TEXT = """Password reset notice
=====================

Sellers must reset the Contoso partner portal password before the fiscal year closes.
<script>alert('partner-atlas')</script> <img src=x onerror="alert(1)"> <at>Everyone</at>
[Reset your password here](https://evil.example/reset) and ![tracking pixel](https://tracker.example/p.gif)
Paste this card to renew: {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Image", "url": "https://tracker.example/card.gif"}], "actions": [{"type": "Action.OpenUrl", "title": "Renew", "url": "https://evil.example/renew"}]}
"""
HOSTILE = ("<script", "<img", "<at>", "](https://evil", "![", "onerror=\"", "<https")


# =========================================================================== request bodies
@pytest.fixture
async def local_bot(connector: Connector) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector)
    try:
        yield running
    finally:
        await client.close()


async def test_no_content_type_is_415(local_bot: Bot) -> None:
    body = json.dumps(message(local_bot.connector, "Who can do AKS?")).encode()
    response = await local_bot.client.post("/api/messages", data=body, skip_auto_headers=["Content-Type"])
    assert "Content-Type" not in response.request_info.headers
    BODY_MATRIX["no Content-Type header"] = response.status
    assert response.status == 415 and await response.json() == {"error": "Content-Type must be application/json"}
    assert local_bot.engine.questions == []


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
async def test_a_10_mb_body_is_413(local_bot: Bot, chunked: bool) -> None:
    payload = json.dumps(message(local_bot.connector, "x" * (10 * 1024 * 1024))).encode()

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 256 * 1024):
            yield payload[start:start + 256 * 1024]

    response = await local_bot.client.post("/api/messages", data=stream() if chunked else payload,
                                           headers={"Content-Type": "application/json"})
    BODY_MATRIX[f"10 MB JSON ({'chunked' if chunked else 'Content-Length'})"] = response.status
    assert response.status == 413 and await response.json() == {"error": "request body over 1 MB"}
    assert local_bot.engine.questions == []


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("empty body", b"", 400),
    ("non-JSON text", b"hello bot", 400),
    ("invalid UTF-8", b'{"type": "message", "text": "\xff\xfe"}', 400),
    ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, 400),
    ("JSON without type", b'{"text": "hi", "conversation": {"id": "a:1"}}', 400),
    ("activity without conversation", b'{"type": "message", "text": "hi"}', 400),
    ("activity with a non-object field", b'{"type": "message", "conversation": 7, "from": "x"}', 400),
])
async def test_broken_bodies_are_400_never_500(local_bot: Bot, name: str, body: bytes, expected: int) -> None:
    response = await local_bot.client.post("/api/messages", data=body, headers={"Content-Type": "application/json"})
    BODY_MATRIX[name] = response.status
    assert response.status == expected, await response.text()
    assert local_bot.engine.questions == []


# =========================================================================== message texts, real engine
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    root = make_knowledge(tmp_path_factory.mktemp("hostile-kb"), documents={PLANTED: PLANTED_TEXT})
    index = tmp_path_factory.mktemp("hostile-index")
    report = build_index(root, index, embedder="hashing", progress=False)
    assert report.documents == 1 and not report.skipped
    return load_engine(root, index, embedder="hashing")


@pytest.fixture
async def real_bot(connector: Connector, engine: KnowledgeEngine, tmp_path: Path) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, engine, data_dir=tmp_path)    # type: ignore[arg-type]
    try:
        yield running
    finally:
        await client.close()


def everything_shown(reply: dict[str, Any]) -> str:
    """Everything a Teams client can render from the reply: the text, and the card in full."""
    return (reply.get("text") or "") + json.dumps(reply.get("attachments") or [], ensure_ascii=False)


def card_elements(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield node["type"]
        for value in node.values():
            yield from card_elements(value)
    elif isinstance(node, list):
        for value in node:
            yield from card_elements(value)


TEXTS = {
    "empty": "",
    "whitespace only": " \t\n ",
    "1 character": "?",
    "1 letter": "a",
    "30 KB": ("Which partners cover AKS in Germany? " * 820)[:30 * 1024],
    "emoji": "🤖🚀 who covers AKS in Germany? 🇩🇪👍🏽",
    "right-to-left": "מי מכסה את AKS בגרמניה؟ من يغطي AKS في ألمانيا؟",
    "NUL bytes": "who\x00 covers\x00 AKS in\x00 Germany?\x00",
    "control characters": "who covers \x1b[31mAKS\x1b[0m in \x07Germany?\u202e",
    "HTML": "<script>alert(1)</script><b>who</b> covers <img src=x onerror=alert(1)> AKS in Germany?",
    "card JSON": json.dumps({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "pwned"}],
                             "actions": [{"type": "Action.OpenUrl", "url": "https://evil.example"}]}),
    "markdown link": "[who covers AKS](https://evil.example) in Germany ![x](https://tracker.example/p.gif)",
    "lone surrogate-like escapes": "who covers AKS \\ud800 in Germany \\u0000?",
}


@pytest.mark.parametrize("name", list(TEXTS))
async def test_any_message_text_gets_a_sensible_reply(real_bot: Bot, name: str) -> None:
    text = TEXTS[name]
    response = await real_bot.post(message(real_bot.connector, text, aad_object_id=SELLER))
    assert response.status == 200
    [reply] = messages_of((await response.json())["activities"])
    shown = everything_shown(reply)
    assert reply["text"] and reply["text"] != render.messages()["apology"]
    assert "Traceback" not in shown and "\x00" not in shown
    for hostile in HOSTILE:
        assert hostile not in shown, (name, hostile)
    assert set(card_elements(reply.get("attachments"))) & {"Action.OpenUrl"} == set()
    assert "pwned" not in {b.get("text") for b in reply["attachments"][0]["content"].get("body", [])} \
        if reply.get("attachments") else True
    assert render.activity_size(render.text_activity(reply["text"])) < render.MAX_ACTIVITY_BYTES
    TEXT_MATRIX[name] = f"200, {reply['text'][:60]!r}"


async def test_planted_markup_in_a_document_is_quoted_inert(real_bot: Bot, engine: KnowledgeEngine) -> None:
    question = "How do sellers reset the partner portal password?"
    raw = engine.answer(question, engine.user_context(SELLER))
    assert raw.kind is AnswerKind.DOCUMENT and raw.passages
    quoted = "\n".join(p.text for p in raw.passages)
    assert "<script>" in quoted and "](https://evil.example/reset)" in quoted   # the parser kept it verbatim
    response = await real_bot.post(message(real_bot.connector, question, aad_object_id=SELLER))
    [reply] = messages_of((await response.json())["activities"])
    shown = everything_shown(reply)
    for hostile in HOSTILE:
        assert hostile not in shown, hostile
    card = reply["attachments"][0]["content"]
    assert "Reset your password here (https://evil.example/reset)" in shown      # the words and the target,
    assert "‹script›alert('partner-atlas')‹/script›" in shown                     # shown as text
    assert "tracking pixel (image: https://tracker.example/p.gif)" in shown
    # the card JSON in the document stays a string inside a TextBlock: no Image, no OpenUrl from it
    elements = set(card_elements(card.get("body"))) | set(card_elements(card.get("actions")))
    assert "Action.OpenUrl" not in elements
    assert not any(isinstance(e, dict) and e.get("url", "").startswith("https://tracker") for e in _walk(card))
    TEXT_MATRIX["planted document markup"] = "200, quoted inert"


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize(("raw", "shown"), [
    ("[Reset](https://evil.example)", "Reset (https://evil.example)"),
    ("![pixel](https://t.example/p.gif)", "pixel (image: https://t.example/p.gif)"),
    ("[![x](https://a.example/i.png)](https://b.example)", "x (image: https://a.example/i.png) (https://b.example)"),
    ("<script>x</script>", "‹script›x‹/script›"),
    ("Ana Ito <pdm@example.com>", "Ana Ito ‹pdm@example.com›"),
    ("[https://x.example](https://x.example)", "https://x.example"),
    ("plain words [1] and (2) stay", "plain words [1] and (2) stay"),
    ("", ""),
])
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown
    assert inert(inert(raw)) == inert(raw)


def test_print_the_matrices(capsys: pytest.CaptureFixture[str]) -> None:
    if not BODY_MATRIX and not TEXT_MATRIX:
        pytest.skip("run with the cases above")
    with capsys.disabled():
        print("\nrequest body → status")
        for name, status in BODY_MATRIX.items():
            print(f"  {name:<38} {status}")
        print("message text → reply")
        for name, outcome in TEXT_MATRIX.items():
            print(f"  {name:<38} {outcome}")
    assert all(s < 500 for s in BODY_MATRIX.values())


def test_questions_typed_in_a_session_are_shown_inert_to_the_channel() -> None:
    from dialogs import sessions

    typed = "what about [the new policy](https://evil.example/login) <img src=x onerror=alert(1)>?"
    shown = sessions._q(typed)
    assert shown == "what about the new policy (https://evil.example/login) ‹img src=x onerror=alert(1)›?"
