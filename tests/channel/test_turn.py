"""Replies become activities unchanged, and activities are read into turns with the fields the dialogs rely on.

The size ladder (dialogs/render.py) measures `Reply.serialize()`: it must be exactly the activity the channel
posts, or an answer measured as fitting could be refused by Teams as too big.
"""
from __future__ import annotations

import pytest
from botbuilder.schema import Activity

from channel.turn import read_activity, to_activity
from dialogs import knowledge_gaps, quiz, render
from dialogs.reply import Reply
from tests.dialogs import fakes


def replies() -> list[tuple[str, Reply]]:
    out: list[tuple[str, Reply]] = []
    for kind, answer in {**fakes.every_kind(), **fakes.referral_kinds()}.items():
        out.append((kind, render.answer_to_activity(answer)))
        out.append((f"{kind} brief, rated", render.answer_to_activity(answer, brief=True, answer_id="a-1")))
        out.append((f"{kind} managed", render.answer_to_activity(answer, manage=True)))
    big = fakes.coverage_answer([f"Partner {i} " + "x" * 400 for i in range(300)])
    out.append(("shortened to fit", render.answer_to_activity(big, max_bytes=20_000)))
    out += [("help", render.help_activity()), ("welcome", render.welcome_activity()),
            ("text", render.text_activity("plain *markdown*")), ("prompt", Reply(text="Which country?", reply_to_id="7")),
            ("quiz again", quiz.QuizFlow._with_suggestions("again?", ["Security", "ECIF"])),
            ("gaps", knowledge_gaps.gaps_activity([]))]
    return out


@pytest.mark.parametrize(("label", "reply"), replies(), ids=[label for label, _ in replies()])
def test_a_reply_is_posted_as_exactly_the_activity_it_measured(label: str, reply: Reply) -> None:
    activity = to_activity(reply)
    assert activity.serialize() == reply.serialize()


def test_a_channel_message_is_read_into_a_turn() -> None:
    payload = fakes.teams_activity("channel_message_mention.json", id="m-1", value={"question": "x"})
    turn = read_activity(Activity().deserialize(payload))
    assert turn.type == "message" and turn.id == "m-1" and turn.channel_id == "msteams"
    assert turn.conversation_type == "channel" and not turn.personal and turn.conversation_id == payload["conversation"]["id"]
    assert turn.aad_object_id == payload["from"]["aadObjectId"] and turn.user_id == payload["from"]["id"]
    assert turn.bot_id == payload["recipient"]["id"] and len(turn.bot_mentions) == 1
    assert turn.tenant_ids == {payload["channelData"]["tenant"]["id"].lower()}
    assert turn.value == {"question": "x"} and not turn.expects_replies and not turn.is_invoke
