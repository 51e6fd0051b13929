"""Mentions, question text and conversation type, on the recorded Teams payloads read into turns."""
from __future__ import annotations

from botbuilder.schema import Activity

from channel.turn import read_activity
from dialogs import teams
from dialogs.turn import Turn
from tests.dialogs.fakes import teams_activity


def activity(name: str, **overrides: object) -> Turn:
    return read_activity(Activity().deserialize(teams_activity(name, **overrides)))


def test_the_bot_mention_is_stripped_from_a_channel_message() -> None:
    recorded = activity("channel_message_mention.json")
    assert teams.is_bot_mentioned(recorded) and teams.addressed_to_bot(recorded)
    assert teams.question_text(recorded) == "1"
    assert teams.question_text(activity("channel_message_mention_2025.json")) == "reply to thread"


def test_a_mention_of_someone_else_keeps_the_name_and_does_not_address_the_bot() -> None:
    recorded = teams_activity("channel_message_mention.json", text="<at>Megan</at> who covers AKS in Germany?")
    recorded["entities"][0]["mentioned"] = {"id": "29:someone-else", "name": "Megan"}
    recorded["entities"][0]["text"] = "<at>Megan</at>"
    message = read_activity(Activity().deserialize(recorded))
    assert not teams.is_bot_mentioned(message) and not teams.addressed_to_bot(message)
    assert teams.question_text(message) == "Megan who covers AKS in Germany?"


def test_a_mention_by_bare_app_id_counts() -> None:
    recorded = teams_activity("channel_message_mention.json")
    recorded["entities"][0]["mentioned"]["id"] = "eac5e5c6-ab14-4f50-80cb-49213fe51b1a"
    assert teams.is_bot_mentioned(read_activity(Activity().deserialize(recorded)))


def test_conversation_types() -> None:
    assert teams.conversation_type(activity("personal_message.json")) == teams.PERSONAL
    assert teams.conversation_type(activity("channel_message_mention.json")) == teams.CHANNEL
    assert teams.conversation_type(activity("conversation_update_members_added_groupchat.json")) == teams.GROUP_CHAT
    # a group conversation without a type is never taken for a private chat
    unknown = teams_activity("personal_message.json")
    unknown["conversation"] = {"id": "c1", "isGroup": True}
    assert teams.conversation_type(read_activity(Activity().deserialize(unknown))) == teams.GROUP_CHAT


def test_personal_messages_are_always_for_the_bot_and_keep_their_text() -> None:
    message = activity("personal_message.json", text="  Who can do AKS&nbsp;in Germany?\n")
    assert teams.addressed_to_bot(message)
    assert teams.question_text(message) == "Who can do AKS in Germany?"


def test_a_card_submit_carries_its_question_and_counts_as_addressed() -> None:
    recorded = teams_activity("channel_message_mention.json", text="", entities=[],
                              value={"question": "Which partners cover AKS in Germany?"})
    message = read_activity(Activity().deserialize(recorded))
    assert teams.addressed_to_bot(message)
    assert teams.question_text(message) == "Which partners cover AKS in Germany?"
