"""Quiz mode for readiness sessions: `quiz me on <program or solution play>`.

Three multiple-choice questions generated from the records (retrieval/quiz/), one Adaptive Card
each with a lettered button per option. An answer (a button, or typed: "B", "2", the option's text)
gets right or wrong with the correct option, the fact behind it and its source, then the next
question; after the last one the score ("You got 2 of 3") and a one-line recap. `stop quiz` ends it
with the score so far.

The pending quiz is kept per user and conversation (PrivateConversationState), so in a channel each
seller answers their own quiz. A typed message that does not look like an answer is not swallowed:
`on_message` returns False and the bot answers it as a question, with the quiz still pending.
"""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dialogs import card_update, render
from dialogs.card_actions import Outcome, execute
from dialogs.conversation import EngineSource, send
from dialogs.markup import inert_value
from dialogs.reply import Reply
from dialogs.turn import Slot, Turn
from retrieval.quiz import Quiz, QuizQuestion, check_answer, describe, letter, options_text, quiz_subjects

log = logging.getLogger(__name__)


QUIZ_ANSWER_KEY = "quiz_answer"       # the data of our buttons: {"quiz_answer": {"quiz", "q", "choice"}}
QUIZ_VERB = "quiz"                    # their Universal Actions verb (cards posted before them: Action.Submit)
QUIZ_TTL_SECONDS = 2 * 60 * 60        # an unanswered quiz is forgotten after two hours
MAX_LISTED_SUBJECTS = 8
MAX_BUTTON_CHARS = 60
MAX_ANSWER_WORDS = 2                  # a longer reply that is not an answer is a question for the bot

# user-facing phrases
PROMPT_WHAT = "What should I quiz you on? Name a program or solution play, for example: {subjects}."
PROMPT_WHAT_NO_SUBJECTS = "What should I quiz you on? Name a program or solution play: `quiz me on <name>`."
UNKNOWN_SUBJECT = ("I can't make a quiz on “{subject}”: it isn't a program, solution play or solution area in the "
                   "records. Try one of: {subjects}.")
UNKNOWN_SUBJECT_NO_LIST = ("I can't make a quiz on “{subject}”: it isn't a program, solution play or solution area "
                           "in the records.")
SUBJECTS = "I can quiz you on: {subjects}. Say `quiz me on <name>`."
NO_SUBJECTS = "The records hold no program or solution play I can quiz you on yet."
STARTED = "**Quiz: {subject}** — {count} question{s} from the {source}. Answer with a button or type the letter."
QUESTION_HEADER = "Question {number} of {total} · {subject}"
QUESTION_FOOTER = "Press a button or type the letter. `stop quiz` ends the quiz."
RIGHT = "✅ Right: {option}."
WRONG = "❌ Not quite: you picked {picked}. The answer is {option}."
SOURCE = "Source: {label}"
SCORE = "**You got {right} of {total}** on {subject}."
STOPPED = "Quiz stopped. **You got {right} of {answered}** answered so far ({total} questions in all)."
STOPPED_NOTHING = "Quiz stopped before the first answer."
NOT_RUNNING = "No quiz is running. `quiz me on <program or solution play>` starts one."
RECAP = "Recap: {items}"
RECAP_RIGHT = "Q{number} ✅"
RECAP_WRONG = "Q{number} ❌ (answer {letter}: {option})"
UNCLEAR = "I didn't catch that answer: reply with {letters}, or the option's text. `stop quiz` ends the quiz."
STALE = "That quiz is over (or it was someone else's): `quiz me on <program or solution play>` starts a new one."
ALREADY_ANSWERED = "You already answered question {number} of this quiz."
YOUR_ANSWER = "Your answer: {option}"
AGAIN = "quiz me on {subject}"

_POLITE = r"(?:(?:please|pls|ok|okay|now|hey|can\s+you|could\s+you|let's|lets)\s+)*"
_LIST = re.compile(rf"^{_POLITE}(?:what\s+(?:can|could|will)\s+you\s+quiz\s+(?:me\s+)?(?:on|about)|"
                   r"(?:list\s+(?:the\s+)?)?quiz\s+(?:topics|subjects|options)|what\s+quizzes(?:\s+are\s+there)?|"
                   r"which\s+quizzes)\W*$", re.IGNORECASE)
_START = re.compile(rf"^{_POLITE}(?:(?:start|begin|run|do|take|give\s+me|make)\s+(?:me\s+)?(?:a\s+|the\s+|an?\s+new\s+)?"
                    r"quiz|quiz\s+me|quiz)\b(?:\s*(?:on|about|for|in|of)\b)?[\s:\-–]*(?P<subject>.*?)[\s?!.]*$",
                    re.IGNORECASE | re.DOTALL)
_STOP = re.compile(rf"^{_POLITE}(?:(?:stop|end|cancel|quit|exit|finish|abort|close)\s+(?:the\s+|this\s+|my\s+)?quiz|"
                   r"quiz\s+(?:stop|end|over|off|done))\W*$", re.IGNORECASE)
_STOP_PENDING = re.compile(r"^(?:stop|quit|exit|end|i'?m\s+done|done)\W*$", re.IGNORECASE)


def parse_command(text: str) -> tuple[str, str] | None:
    """('start', subject) ('' for a bare "quiz me") | ('list', '') | ('stop', '') for a whole-message quiz command."""
    said = " ".join((text or "").split())
    if not said:
        return None
    if _LIST.match(said):
        return "list", ""
    if _STOP.match(said):
        return "stop", ""
    match = _START.match(said)
    if match:
        return "start", match.group("subject").strip(" \"'“”‘’")
    return None


MAX_BUTTON_INDEX = 100     # far above any quiz's questions or options: a larger index is not our button


def _button_index(value: object) -> int | None:
    """A question or option index from a button: a plain int in range (not a bool, not negative)."""
    return value if type(value) is int and 0 <= value < MAX_BUTTON_INDEX else None


def _button_data(value: object) -> dict[str, Any] | None:
    if isinstance(value, dict) and isinstance(value.get(QUIZ_ANSWER_KEY), dict):
        return value[QUIZ_ANSWER_KEY]
    return None


def answer_of(value: object) -> tuple[str, int, int] | None:
    """(quiz id, question index, option index) when a card submit is one of our quiz buttons, with its
    indexes in range; None for anything else, including a quiz button whose data was tampered with."""
    data = _button_data(value)
    if data is None:
        return None
    quiz_id, question, choice = data.get("quiz"), _button_index(data.get("q")), _button_index(data.get("choice"))
    if not isinstance(quiz_id, str) or not quiz_id or question is None or choice is None:
        return None
    return quiz_id, question, choice


def is_quiz_submit(turn: Turn) -> bool:
    """A press of a quiz button, valid or not (in a channel it carries no @mention: let it through like our
    other buttons; an invalid one is answered as stale rather than treated as a question)."""
    return not (turn.text or "").strip() and _button_data(turn.value) is not None


# --------------------------------------------------------------------------- rendering
def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def question_card(quiz: Quiz, index: int) -> dict[str, Any]:
    """One question as an Adaptive Card 1.5: the prompt, the lettered options, a button per option (pressed, the
    buttons give way to the answer on the same card and the feedback and next question follow as messages)."""
    question = quiz.questions[index]
    body = [render.text_block(QUESTION_HEADER.format(number=index + 1, total=len(quiz.questions), subject=quiz.subject),
                              isSubtle=True, size="Small"),
            render.text_block(question.prompt, weight="Bolder", size="Medium"),
            *[render.text_block(f"**{letter(i)})** {option}", spacing="Small") for i, option in enumerate(question.options)],
            render.text_block(QUESTION_FOOTER, isSubtle=True, size="Small", spacing="Medium")]
    actions = [execute(_shorten(f"{letter(i)}) {option}", MAX_BUTTON_CHARS), QUIZ_VERB,
                       {QUIZ_ANSWER_KEY: {"quiz": quiz.quiz_id, "q": index, "choice": i}})
               for i, option in enumerate(question.options)]
    return render.adaptive_card(body, actions)


def question_markdown(quiz: Quiz, index: int) -> str:
    question = quiz.questions[index]
    header = QUESTION_HEADER.format(number=index + 1, total=len(quiz.questions), subject=quiz.subject)
    return f"{header}\n\n**{question.prompt}**\n\n{options_text(question.options)}\n\n{QUESTION_FOOTER}"


def question_activity(quiz: Quiz, index: int, *, brief: bool = False) -> Reply:
    """The card, whose fallbackText is the whole question as Markdown. The message text is that Markdown too,
    except in Teams (`brief`), which shows the text above the card: there it is the prompt only, as render
    does for answers."""
    card = question_card(quiz, index)
    text = question_markdown(quiz, index)
    card["fallbackText"] = text
    if brief:
        text = f"Question {index + 1} of {len(quiz.questions)}: {quiz.questions[index].prompt}"
    return Reply(text=text, text_format="markdown", cards=[card])


def feedback_text(question: QuizQuestion, choice: int) -> str:
    verdict = RIGHT.format(option=describe(question)) if choice == question.correct else \
        WRONG.format(picked=describe(question, choice), option=describe(question))
    parts = [verdict, question.explanation]
    if question.source is not None:
        parts.append(SOURCE.format(label=question.source.label()))
    return "\n\n".join(p for p in parts if p)


def recap(quiz: Quiz, answers: list[int]) -> str:
    items = [RECAP_RIGHT.format(number=i + 1) if choice == quiz.questions[i].correct
             else RECAP_WRONG.format(number=i + 1, letter=letter(quiz.questions[i].correct),
                                    option=quiz.questions[i].answer)
             for i, choice in enumerate(answers)]
    return RECAP.format(items=" · ".join(items))


def _score(quiz: Quiz, answers: list[int]) -> int:
    return sum(1 for i, choice in enumerate(answers) if choice == quiz.questions[i].correct)


def _listing(subjects: list[str]) -> str:
    return ", ".join(f"**{s}**" for s in subjects)


# --------------------------------------------------------------------------- the flow
class QuizFlow:
    def __init__(self, engine_source: EngineSource, state: Slot, *,
                 seed_source: Callable[[], int] | None = None) -> None:
        self._engine_source = engine_source
        self._state = state
        self._seed = seed_source or (lambda: secrets.randbelow(1 << 31))

    async def on_message(self, turn: Turn, text: str) -> bool:
        """Handle the turn when it is a quiz command, a quiz button or an answer to the pending quiz."""
        if is_quiz_submit(turn):
            refused = await self.press(turn, turn.value)
            if refused:
                await send(turn, render.text_activity(refused))
            return True
        command = parse_command(text)
        if command is not None and command[0] == "stop":
            await self._stop(turn)
            return True
        if command is not None:
            return await self._start(turn, *command)
        pending = await self._pending(turn)
        if pending is None:
            return False
        quiz, answers = pending
        question = quiz.questions[len(answers)]
        choice = check_answer(question, text)
        if choice is not None:
            await self._answer(turn, quiz, answers, choice)
            return True
        if _STOP_PENDING.match(text.strip()):
            await self._stop(turn)
            return True
        if "?" in text or len(text.split()) > MAX_ANSWER_WORDS or not text.strip():
            return False                  # a question for the bot: the quiz stays pending
        letters = ", ".join(letter(i) for i in range(len(question.options)))
        await send(turn, render.text_activity(UNCLEAR.format(letters=letters)))
        return True

    # ------------------------------------------------------------------ commands
    async def _start(self, turn: Turn, action: str, subject: str) -> bool:
        engine: Any = self._engine_source()     # the knowledge engine makes quizzes: `quiz(subject, seed=)`
        if engine is not None and not hasattr(engine, "quiz"):
            return False
        if engine is None or not engine.ready:
            await send(turn, render.text_activity(render.messages()["loading"]))
            return True
        if action == "list":
            subjects = await self._subjects(engine)
            await send(turn, self._with_suggestions(
                SUBJECTS.format(subjects=_listing(subjects)) if subjects else NO_SUBJECTS, subjects))
            return True
        if not subject:
            subjects = await self._subjects(engine)
            await send(turn, self._with_suggestions(
                PROMPT_WHAT.format(subjects=_listing(subjects)) if subjects else PROMPT_WHAT_NO_SUBJECTS, subjects))
            return True
        try:
            quiz: Quiz | None = await asyncio.to_thread(engine.quiz, subject, seed=self._seed())
        except Exception:
            log.exception("making a quiz failed")
            await send(turn, render.text_activity(render.messages()["apology"]))
            return True
        if quiz is None or not quiz.questions:
            subjects = await self._subjects(engine)
            phrase = UNKNOWN_SUBJECT if subjects else UNKNOWN_SUBJECT_NO_LIST
            await send(turn, self._with_suggestions(
                phrase.format(subject=subject, subjects=_listing(subjects)), subjects))
            return True
        # a fresh id per run: buttons of an earlier run of the same quiz are stale
        # (and its text inert: prompts and options quote the solution map and incentive rules, see dialogs/markup.py)
        quiz = inert_value(replace(quiz, quiz_id=f"{quiz.quiz_id}-{uuid.uuid4().hex[:8]}"))
        await self._save(turn, quiz, [])
        log.info("quiz started kind=%s questions=%d", quiz.kind, len(quiz.questions))
        source = "solution map" if quiz.kind in ("solution_play", "solution_area") else "incentive rules"
        count = len(quiz.questions)
        await send(turn, render.text_activity(
            STARTED.format(subject=quiz.subject, count=count, s="" if count == 1 else "s", source=source)))
        await send(turn, question_activity(quiz, 0, brief=self._brief(turn)))
        return True

    async def _stop(self, turn: Turn) -> None:
        pending = await self._pending(turn)
        if pending is None:
            await send(turn, render.text_activity(NOT_RUNNING))
            return
        quiz, answers = pending
        await self._state.delete(turn)
        if not answers:
            await send(turn, render.text_activity(STOPPED_NOTHING))
            return
        text = STOPPED.format(right=_score(quiz, answers), answered=len(answers), total=len(quiz.questions))
        await send(turn, render.text_activity(f"{text}\n\n{recap(quiz, answers)}"))

    # ------------------------------------------------------------------ answers
    async def press(self, turn: Turn, data: object) -> str:
        """A quiz button's data: the answer is recorded (feedback and the next question sent) and "" returned,
        or why it was not (a stale, someone else's, already answered or tampered button)."""
        pressed = answer_of(data)
        if pressed is None:               # tampered button data (a negative index, a bool, …): check, don't guess
            log.info("quiz button with invalid data: answered as stale")
            return STALE
        quiz_id, index, choice = pressed
        pending = await self._pending(turn)
        if pending is None or pending[0].quiz_id != quiz_id:
            return STALE
        quiz, answers = pending
        if index < len(answers):
            return ALREADY_ANSWERED.format(number=index + 1)
        if index != len(answers) or not 0 <= choice < len(quiz.questions[index].options):
            return STALE
        await self._answer(turn, quiz, answers, choice)
        return ""

    async def on_press(self, turn: Turn, data: dict[str, Any]) -> Outcome:
        """The same press as a Universal Action: the pressed question's buttons give way to the answer given."""
        refused = await self.press(turn, data)
        if refused:
            return Outcome(refused, refused=True)
        pressed = answer_of(data)
        assert pressed is not None
        choice = pressed[2]

        def update(card: dict[str, Any]) -> dict[str, Any]:
            titles = [a.get("title", "") for a in card.get("actions", []) if a.get("verb") == QUIZ_VERB]
            option = titles[choice] if choice < len(titles) else letter(choice)
            return card_update.answered(card, QUIZ_VERB, YOUR_ANSWER.format(option=option))
        return Outcome("", update=update)   # the feedback and the next question are posted already

    async def _answer(self, turn: Turn, quiz: Quiz, answers: list[int], choice: int) -> None:
        question = quiz.questions[len(answers)]
        answers = [*answers, choice]
        feedback = feedback_text(question, choice)
        if len(answers) < len(quiz.questions):
            await self._save(turn, quiz, answers)
            await send(turn, render.text_activity(feedback))
            await send(turn, question_activity(quiz, len(answers), brief=self._brief(turn)))
            return
        await self._state.delete(turn)
        right = _score(quiz, answers)
        log.info("quiz finished kind=%s score=%d/%d", quiz.kind, right, len(quiz.questions))
        score = SCORE.format(right=right, total=len(quiz.questions), subject=quiz.subject)
        reply = render.text_activity(f"{feedback}\n\n{score}\n\n{recap(quiz, answers)}")
        reply.suggested_actions = render.suggested_actions([AGAIN.format(subject=quiz.subject)])
        await send(turn, reply)

    @staticmethod
    async def _subjects(engine: Any) -> list[str]:
        catalog = getattr(engine, "catalog", None)
        if catalog is None:
            return []
        return await asyncio.to_thread(quiz_subjects, catalog, MAX_LISTED_SUBJECTS)

    # ------------------------------------------------------------------ state
    async def _pending(self, turn: Turn) -> tuple[Quiz, list[int]] | None:
        saved: Any = await self._state.get(turn)
        if not isinstance(saved, dict) or "quiz" not in saved:
            return None
        try:
            quiz = Quiz.from_dict(saved["quiz"])
            answers = [int(a) for a in saved.get("answers") or []]
        except (KeyError, TypeError, ValueError):
            await self._state.delete(turn)
            return None
        if time.time() - float(saved.get("at", 0)) > QUIZ_TTL_SECONDS or len(answers) >= len(quiz.questions):
            await self._state.delete(turn)
            return None
        return quiz, answers

    async def _save(self, turn: Turn, quiz: Quiz, answers: list[int]) -> None:
        await self._state.set(turn, {"quiz": quiz.to_dict(), "answers": list(answers), "at": time.time()})

    @staticmethod
    def _brief(turn: Turn) -> bool:
        return turn.channel_id == "msteams"

    @staticmethod
    def _with_suggestions(text: str, subjects: list[str]) -> Reply:
        activity = render.text_activity(text)
        activity.suggested_actions = render.suggested_actions([AGAIN.format(subject=s) for s in subjects])
        return activity
