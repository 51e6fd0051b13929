"""Quiz mode as a dialog: start, card per question, typed and button answers, scoring, questions asked in
the middle of a quiz, stop, stale buttons — with the real engine over the factories' knowledge."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import BotAdapter, MemoryStorage, PrivateConversationState, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount, ResourceResponse

from channel.turn import AccessorSlot, TeamsTurn, read_activity
from dialogs import quiz as flow_module
from dialogs import render
from dialogs.quiz import QUIZ_ANSWER_KEY, QuizFlow, answer_of, is_quiz_submit, parse_command, question_activity
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from retrieval.quiz import Quiz, make_quiz, quiz_subjects
from tests.dialogs.fakes import FakeEngine
from tests.factories import MARKER, make_knowledge
from tests.support.cards import assert_valid_card

SEED = 7
SUBJECT = "Modernize SecOps"


class RecordingAdapter(BotAdapter):
    """Keeps what the bot sends instead of posting it to a connector."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Activity] = []

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        self.sent.extend(activities)
        return [ResourceResponse(id=str(uuid.uuid4())) for _ in activities]

    async def update_activity(self, context: TurnContext, activity: Activity) -> None:
        raise NotImplementedError

    async def delete_activity(self, context: TurnContext, reference: Any) -> None:
        raise NotImplementedError


class Harness:
    def __init__(self, engine_source: Callable[[], Any], seed: int = SEED) -> None:
        self.state = PrivateConversationState(MemoryStorage())
        self.flow = QuizFlow(engine_source, AccessorSlot(self.state.create_property("Quiz")), seed_source=lambda: seed)
        self.adapter = RecordingAdapter()
        self.last_id = ""

    async def say(self, text: str = "", *, value: Any = None, user: str = "u-1", conversation: str = "a:chat-1",
                  channel: bool = False) -> tuple[bool, list[Activity]]:
        self.last_id = str(uuid.uuid4())
        activity = Activity(
            type=ActivityTypes.message, id=self.last_id, text=text, value=value, channel_id="msteams",
            service_url="https://smba.example.com/", from_property=ChannelAccount(id=f"29:{user}", aad_object_id=user),
            recipient=ChannelAccount(id="28:bot"),
            conversation=ConversationAccount(id=conversation, conversation_type="channel" if channel else "personal",
                                             is_group=channel))
        self.adapter.sent = []
        context = TurnContext(self.adapter, activity)
        handled = await self.flow.on_message(TeamsTurn.of(context), text)
        await self.state.save_changes(context)
        return handled, list(self.adapter.sent)


def texts(activities: list[Activity]) -> str:
    """What a reader sees: the text and the card's text blocks."""
    out = []
    for activity in activities:
        out.append(activity.text or "")
        for attachment in activity.attachments or []:
            out += [b["text"] for b in attachment.content["body"] if b.get("type") == "TextBlock"]
    return "\n".join(out)


def cards(activities: list[Activity]) -> list[dict[str, Any]]:
    return [a.content for activity in activities for a in activity.attachments or []
            if a.content_type == render.ADAPTIVE_CARD_CONTENT_TYPE]


@pytest.fixture
def engine(tmp_path: Path) -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)), None)


@pytest.fixture
def expected(engine: KnowledgeEngine) -> Quiz:
    quiz = make_quiz(engine.catalog, SUBJECT, seed=SEED)
    assert quiz is not None and len(quiz.questions) == 3
    return quiz


def button(card: dict[str, Any], choice: int) -> dict[str, Any]:
    data: dict[str, Any] = card["actions"][choice]["data"]
    return data


# --------------------------------------------------------------------------- the whole flow
@pytest.mark.parametrize("channel", [False, True])
async def test_a_quiz_with_typed_and_button_answers_scores_two_of_three(engine: KnowledgeEngine, expected: Quiz,
                                                                        channel: bool) -> None:
    bot = Harness(lambda: engine)
    handled, replies = await bot.say(f"quiz me on {SUBJECT}", channel=channel)
    assert handled
    if channel:      # every reply goes into the thread of the message it answers
        assert all(r.reply_to_id == bot.last_id for r in replies)
    assert "Quiz: Modernize SecOps" in replies[0].text
    [card] = cards(replies)
    assert_valid_card(card)
    first = expected.questions[0]
    assert replies[-1].text == f"Question 1 of 3: {first.prompt}"          # brief in Teams, like answers
    assert first.prompt in card["fallbackText"] and all(o in card["fallbackText"] for o in first.options)
    assert [a["title"] for a in card["actions"]] == [f"{'ABCD'[i]}) {o}" for i, o in enumerate(first.options)]
    quiz_id = button(card, 0)[QUIZ_ANSWER_KEY]["quiz"]
    assert quiz_id.startswith(expected.quiz_id)
    assert all(button(card, i) == {QUIZ_ANSWER_KEY: {"quiz": quiz_id, "q": 0, "choice": i}}
               for i in range(len(first.options)))

    # 1: right, typed as a letter
    handled, replies = await bot.say("ABCD"[first.correct].lower() + ")", channel=channel)
    assert handled
    assert replies[0].text.startswith("✅ Right")
    assert first.explanation in replies[0].text and f"Source: {first.source.label()}" in replies[0].text  # type: ignore[union-attr]
    second = expected.questions[1]
    [card] = cards(replies)
    assert_valid_card(card)
    assert replies[1].text == f"Question 2 of 3: {second.prompt}"

    # 2: wrong, by button
    wrong = next(i for i in range(len(second.options)) if i != second.correct)
    handled, replies = await bot.say(value=button(card, wrong), channel=channel)
    assert handled
    assert replies[0].text.startswith("❌ Not quite")
    assert f"The answer is {'ABCD'[second.correct]}) {second.options[second.correct]}" in replies[0].text
    assert second.explanation in replies[0].text and "Source: " in replies[0].text
    third = expected.questions[2]
    [card] = cards(replies)

    # 3: right, by typing the option's text
    handled, replies = await bot.say(third.options[third.correct].upper(), channel=channel)
    assert handled
    [final] = replies
    assert final.text.startswith("✅ Right")
    assert "You got 2 of 3" in final.text
    assert f"Q1 ✅ · Q2 ❌ (answer {'ABCD'[second.correct]}: {second.options[second.correct]}) · Q3 ✅" in final.text
    if channel:
        assert final.reply_to_id == bot.last_id

    # the quiz is over: a letter is no answer any more, and its old buttons are stale
    assert await bot.say("B", channel=channel) == (False, [])
    handled, replies = await bot.say(value=button(card, 0), channel=channel)
    assert handled and texts(replies) == flow_module.STALE


async def test_a_question_during_a_quiz_goes_to_the_bot_and_the_quiz_waits(engine: KnowledgeEngine,
                                                                          expected: Quiz) -> None:
    bot = Harness(lambda: engine)
    await bot.say(f"quiz me about {SUBJECT}")
    for question in ("Which partners cover AKS in Germany?", "what is ECIF", "Who covers Sentinel in Germany"):
        assert await bot.say(question) == (False, [])
    handled, replies = await bot.say("hmm")             # short and unclear: asked again, not passed on
    assert handled and "didn't catch" in texts(replies) and "A, B" in texts(replies)
    first = expected.questions[0]
    handled, replies = await bot.say(str(first.correct + 1))          # "2" picks option B
    assert handled and replies[0].text.startswith("✅ Right")


async def test_stop_quiz_ends_it_with_the_score_so_far(engine: KnowledgeEngine, expected: Quiz) -> None:
    bot = Harness(lambda: engine)
    await bot.say(f"start quiz on {SUBJECT}")
    first = expected.questions[0]
    await bot.say(f"option {first.correct + 1}")
    handled, replies = await bot.say("stop quiz")
    assert handled
    assert "Quiz stopped" in texts(replies) and "You got 1 of 1" in texts(replies) and "Q1 ✅" in texts(replies)
    assert await bot.say("A") == (False, [])
    handled, replies = await bot.say("end quiz")
    assert handled and texts(replies) == flow_module.NOT_RUNNING

    await bot.say(f"quiz on {SUBJECT}")
    handled, replies = await bot.say("cancel quiz")
    assert handled and texts(replies) == flow_module.STOPPED_NOTHING


async def test_stale_and_already_answered_buttons(engine: KnowledgeEngine, expected: Quiz) -> None:
    bot = Harness(lambda: engine)
    _, replies = await bot.say(f"quiz me on {SUBJECT}")
    [first_card] = cards(replies)
    _, replies = await bot.say(value=button(first_card, expected.questions[0].correct))
    assert replies[0].text.startswith("✅")
    # the same question's button again
    handled, replies = await bot.say(value=button(first_card, 0))
    assert handled and texts(replies) == flow_module.ALREADY_ANSWERED.format(number=1)
    # a button of another quiz, and someone else pressing this one
    handled, replies = await bot.say(value={QUIZ_ANSWER_KEY: {"quiz": "quiz-other", "q": 1, "choice": 0}})
    assert handled and texts(replies) == flow_module.STALE
    handled, replies = await bot.say(value=button(first_card, 1), user="u-2")
    assert handled and texts(replies) == flow_module.STALE
    # a new run of the same quiz (same seed) makes the old buttons stale
    await bot.say(f"quiz me on {SUBJECT}")
    handled, replies = await bot.say(value=button(first_card, 0))
    assert handled and texts(replies) == flow_module.STALE


async def test_two_users_in_one_channel_have_their_own_quiz(engine: KnowledgeEngine, expected: Quiz) -> None:
    bot = Harness(lambda: engine)
    await bot.say(f"quiz me on {SUBJECT}", user="u-1", channel=True)
    assert await bot.say("A", user="u-2", channel=True) == (False, [])
    handled, replies = await bot.say("ABCD"[expected.questions[0].correct], user="u-1", channel=True)
    assert handled and replies[0].text.startswith("✅")


# --------------------------------------------------------------------------- subjects
async def test_unknown_and_missing_subjects_list_what_can_be_quizzed(engine: KnowledgeEngine) -> None:
    bot = Harness(lambda: engine)
    subjects = quiz_subjects(engine.catalog)
    handled, replies = await bot.say("quiz me on quantum computing")
    assert handled
    assert "“quantum computing”" in texts(replies) and all(s in texts(replies) for s in subjects)
    assert replies[0].suggested_actions is not None
    assert replies[0].suggested_actions.actions[0].value == f"quiz me on {subjects[0]}"
    for bare in ("quiz me", "Quiz me!", "what can you quiz me on?"):
        handled, replies = await bot.say(bare)
        assert handled and all(s in texts(replies) for s in subjects), bare
    # nothing pending: the unknown subject started nothing
    assert await bot.say("A") == (False, [])


async def test_a_typo_in_the_subject_still_starts_the_quiz(engine: KnowledgeEngine) -> None:
    bot = Harness(lambda: engine)
    handled, replies = await bot.say("quiz me on modernise secop")
    assert handled and "Quiz: Modernize SecOps" in replies[0].text and len(cards(replies)) == 1


async def test_loading_and_engines_without_quizzes(engine: KnowledgeEngine) -> None:
    handled, replies = await Harness(lambda: None).say("quiz me on ECIF")
    assert handled and texts(replies) == render.messages()["loading"]
    handled, replies = await Harness(lambda: FakeEngine(ready=False)).say("quiz me on ECIF")
    assert handled is False and replies == []        # FakeEngine has no quiz: the bot answers as usual
    handled, replies = await Harness(lambda: engine).say("Who covers AKS in Germany?")
    assert handled is False and replies == []


async def test_a_failing_quiz_gets_the_apology(engine: KnowledgeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(subject: str, *, seed: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "quiz", broken)
    handled, replies = await Harness(lambda: engine).say("quiz me on ECIF")
    assert handled and texts(replies) == render.messages()["apology"]


async def test_no_confidential_text_reaches_a_quiz_reply(engine: KnowledgeEngine) -> None:
    bot = Harness(lambda: engine)
    sent: list[Activity] = []
    for subject in ["ECIF", "Security", "Azure Innovate", SUBJECT, "Digital & App Innovation (Azure)"]:
        for _ in range(4):
            _, replies = await bot.say(f"quiz me on {subject}")
            sent += replies
            _, replies = await bot.say("A")
            sent += replies
    dump = json.dumps([a.serialize() for a in sent])
    assert MARKER not in dump and "OPP-" not in dump


# --------------------------------------------------------------------------- parts
def test_commands_and_button_data_are_recognised() -> None:
    assert parse_command("quiz me on Data & AI (Azure)") == ("start", "Data & AI (Azure)")
    assert parse_command("Quiz me about ECIF?") == ("start", "ECIF")
    assert parse_command("start a quiz on Modernize SecOps") == ("start", "Modernize SecOps")
    assert parse_command("quiz on ECIF") == ("start", "ECIF")
    assert parse_command("quiz me") == ("start", "")
    assert parse_command("stop quiz") == parse_command("end the quiz") == ("stop", "")
    assert parse_command("what can you quiz me on") == ("list", "")
    for text in ("Which partners cover AKS?", "quizzes", "B", "ECIF"):
        assert parse_command(text) is None
    value = {QUIZ_ANSWER_KEY: {"quiz": "q-1", "q": 2, "choice": 1}}
    assert answer_of(value) == ("q-1", 2, 1)
    assert answer_of({"question": "Who covers AKS?"}) is None
    assert answer_of({QUIZ_ANSWER_KEY: {"quiz": "q-1", "q": "2", "choice": 1}}) is None
    assert is_quiz_submit(read_activity(Activity(type=ActivityTypes.message, text="", value=value)))
    assert not is_quiz_submit(read_activity(Activity(type=ActivityTypes.message, text="B", value=value)))


def test_every_question_card_is_a_valid_adaptive_card(engine: KnowledgeEngine) -> None:
    for subject in ("ECIF", "Security", "Azure Innovate", SUBJECT, "Digital & App Innovation (Azure)"):
        for seed in range(3):
            quiz = make_quiz(engine.catalog, subject, seed=seed)
            assert quiz is not None
            for index in range(len(quiz.questions)):
                for brief in (False, True):
                    activity = question_activity(quiz, index, brief=brief)
                    [card] = activity.cards or []
                    assert_valid_card(card)
                    question = quiz.questions[index]
                    assert question.prompt in card["fallbackText"]
                    assert all(option in card["fallbackText"] for option in question.options)
                    assert question.prompt in (activity.text or "")
                    assert all(option in (activity.text or "") for option in question.options) is not brief


async def test_markup_in_quiz_text_is_shown_inert(engine: KnowledgeEngine, expected: Quiz) -> None:
    """Prompts and options quote the solution map and incentive rules: a planted link or tag stays text."""
    from dataclasses import replace as change

    class Planted:
        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def quiz(self, subject: str, seed: int | None = None) -> Quiz:
            real = engine.quiz(subject, seed=seed)
            assert real is not None
            first = change(real.questions[0], prompt="[Win a prize](https://evil.example) <img src=x> which partner?",
                           options=("![pixel](https://t.example/p.gif) Alpha", *real.questions[0].options[1:]))
            return change(real, questions=(first, *real.questions[1:]))

    bot = Harness(Planted)
    _, replies = await bot.say(f"quiz me on {SUBJECT}")
    shown = texts(replies) + json.dumps(cards(replies))
    assert "](https://evil" not in shown and "<img" not in shown and "![" not in shown
    assert "Win a prize (https://evil.example) ‹img src=x› which partner?" in shown
