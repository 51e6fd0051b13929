"""The question dialog on botbuilder-dialogs: answer, ask back for a missing fact, answer the clarified question.

A `ComponentDialog` with a two-step waterfall (`answer_step`, `clarified_step`) and a text prompt, as in the
BotBuilder samples, kept so that a clarification pending in a conversation's saved dialog stack carries on
exactly as before. What each step says and does is dialogs/conversation.py's `QuestionDialog`; help and reset
interrupt whatever runs (`QuestionDialog.interrupt`), so they work in the middle of a clarification too.
"""
from __future__ import annotations

from botbuilder.core import StatePropertyAccessor
from botbuilder.dialogs import (
    ComponentDialog,
    DialogContext,
    DialogExtensions,
    DialogTurnResult,
    DialogTurnStatus,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import PromptOptions, TextPrompt

from channel.turn import TeamsTurn, context_of, to_activity
from dialogs.conversation import QuestionDialog
from dialogs.turn import Turn

CLARIFY_TEXT_PROMPT = "clarify"
# the names the saved dialog stacks know these dialogs by
QUESTION_DIALOG_ID = "QuestionDialog"
WATERFALL_ID = WaterfallDialog.__name__


class ClarifyingDialog(ComponentDialog):
    def __init__(self, questions: QuestionDialog) -> None:
        super().__init__(QUESTION_DIALOG_ID)
        self.questions = questions
        self.add_dialog(TextPrompt(CLARIFY_TEXT_PROMPT))
        self.add_dialog(WaterfallDialog(WATERFALL_ID, [self.answer_step, self.clarified_step]))
        self.initial_dialog_id = WATERFALL_ID

    async def on_continue_dialog(self, inner_dc: DialogContext) -> DialogTurnResult:
        command = await self.questions.interrupt(TeamsTurn.of(inner_dc.context))
        if command == "help":
            return DialogTurnResult(DialogTurnStatus.Waiting)
        if command == "reset":
            return await inner_dc.cancel_all_dialogs()
        return await super().on_continue_dialog(inner_dc)

    async def answer_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        prompt = await self.questions.first_answer(TeamsTurn.of(step.context))
        if prompt is None:
            return await step.end_dialog()
        return await step.prompt(CLARIFY_TEXT_PROMPT, PromptOptions(prompt=to_activity(prompt)))

    async def clarified_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        await self.questions.clarified_answer(TeamsTurn.of(step.context), str(step.result or ""))
        return await step.end_dialog()


class DialogRunner:
    """Runs the question dialog on a turn, with its stack in the given state property."""

    def __init__(self, dialog: ClarifyingDialog, dialog_state: StatePropertyAccessor) -> None:
        self.dialog = dialog
        self._dialog_state = dialog_state

    async def run(self, turn: Turn) -> None:
        await DialogExtensions.run_dialog(self.dialog, context_of(turn), self._dialog_state)

    async def active(self, turn: Turn) -> bool:
        saved = await self._dialog_state.get(context_of(turn), lambda: None)
        stack = getattr(saved, "dialog_stack", None)
        return bool(stack)
