"""The dialogs run on plain turns: no Bot Framework activity, TurnContext or dialog library is needed.

A turn here is dialogs.turn.Turn with its four channel methods implemented by a list, the state slots are
a dict and the dialog stack is a few lines: what another SDK's channel would provide.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dialogs import render
from dialogs.partner_bot import PartnerAtlas
from dialogs.reply import Reply
from dialogs.turn import Turn
from tests.dialogs.fakes import ECM_ID, FakeEngine, coverage_answer


@dataclass
class ListTurn(Turn):
    sent: list[Reply] = field(default_factory=list)

    async def send(self, reply: Reply) -> None:
        self.sent.append(reply)

    async def typing(self) -> None:
        pass


class DictSlot:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def get(self, turn: Turn) -> Any:
        return self.values.get(turn.conversation_id)

    async def set(self, turn: Turn, value: Any) -> None:
        self.values[turn.conversation_id] = value

    async def delete(self, turn: Turn) -> None:
        self.values.pop(turn.conversation_id, None)


class OneStepStack:
    """Answers each question at once (a clarifying question is sent, its answer is taken as a new question)."""

    atlas: PartnerAtlas

    async def in_dialog(self, turn: Turn) -> bool:
        return False

    async def run_dialog(self, turn: Turn) -> None:
        prompt = await self.atlas.questions.first_answer(turn)
        if prompt is not None:
            await turn.send(prompt)

    async def reset(self, turn: Turn) -> None:
        pass


def atlas(engine: FakeEngine) -> PartnerAtlas:
    stack = OneStepStack()
    stack.atlas = PartnerAtlas(lambda: engine, stack, quiz_state=DictSlot(), follow_up_state=DictSlot())
    return stack.atlas


async def test_a_question_in_a_personal_chat_is_answered_as_the_sender() -> None:
    engine = FakeEngine(coverage_answer(["Contoso Cloud"]))
    turn = ListTurn(text="Who covers AKS in Germany?", id="m-1", channel_id="msteams", conversation_id="c-1",
                    aad_object_id=ECM_ID, user_name="Ada")
    await atlas(engine).on_message(turn)
    assert engine.questions == ["Who covers AKS in Germany?"] and engine.users[0].aad_object_id == ECM_ID
    [reply] = turn.sent
    assert "Contoso Cloud" in json.dumps(reply.serialize()) and reply.reply_to_id is None


async def test_in_a_channel_only_a_mention_is_for_the_bot_and_the_reply_goes_into_its_thread() -> None:
    engine = FakeEngine()
    quiet = ListTurn(text="Who covers AKS?", id="m-2", conversation_id="19:c@thread", conversation_type="channel")
    await atlas(engine).on_message(quiet)
    assert quiet.sent == [] and engine.questions == []
    mention = {"type": "mention", "text": "<at>Partner Atlas</at>", "mentioned": {"id": "28:bot"}}
    asked = ListTurn(text="<at>Partner Atlas</at> help", id="m-3", conversation_id="19:c@thread",
                     conversation_type="channel", bot_id="28:bot", bot_mentions=[mention])
    await atlas(engine).on_message(asked)
    assert [r.serialize() for r in asked.sent] == [{**render.help_activity().serialize(), "replyToId": "m-3"}]
