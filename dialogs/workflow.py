"""What channel managers do around the answers: attach decisions from card buttons, exports behind
short-lived links, and the daily-sweep subscription ("send me a daily sweep", "unsubscribe",
"sweep now", "export decisions").

The buttons are only rendered for channel managers (group "ecm") where the pipeline may be shown: a 1:1
chat, or a group chat or channel whose every member is a channel manager (CONFIDENTIAL_IN_GROUPS=roster:
there the message shows the read-only card and the managers' Teams clients refresh it into the one with
their buttons, dialogs/manager_buttons.py). A card press can be forged, so every action asks the engine
who the sender is, in this conversation and with its roster, and refuses anyone else with the same "not
available to you". The typed commands (subscribe, sweep now, export decisions) stay in 1:1 chats: a
digest subscribed in a room would be sent to whoever is in it later. The engine records decisions and
builds the export rows; this module turns them into replies, files and subscriptions.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

from dialogs import card_update, render, render_referrals
from dialogs.card_actions import Outcome
from dialogs.conversation import EngineSource, send
from dialogs.exports import EXPORT_TTL_SECONDS, ExportStore
from dialogs.reply import Reply
from dialogs.roster import RosterCheck, sender_here
from dialogs.subscriptions import SubscriptionStore
from dialogs.turn import Turn
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.engine import UserContext

log = logging.getLogger(__name__)

DIGEST_QUESTION = "Which of my opportunities have no partner attached?"

Table = tuple[list[str], list[list[object]]]

_SUBSCRIBE = re.compile(r"(please )?(subscribe|subscribe me|subscribe to the (daily )?(sweep|digest)|"
                        r"send me (a|the) daily (sweep|digest)|(start (the |a )?)?daily (sweep|digest))( please)?")
_UNSUBSCRIBE = re.compile(r"(please )?(unsubscribe|unsubscribe me|stop (the |my |sending me the |sending me a )?daily "
                          r"(sweep|digest)|stop the digest|no more (daily )?(sweeps|digests))( please)?")
_SWEEP_NOW = re.compile(r"(send (me )?(the |my )?)?sweep now|(send me )?(the |my )?daily (sweep|digest) now")
_EXPORT_DECISIONS = re.compile(r"export (my |the |all )?(attach )?decisions( as| to| in)?( (?P<fmt>csv|xlsx|excel))?")


class WorkflowEngine(Protocol):
    """What the knowledge engine offers channel managers beyond answering questions."""

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext: ...

    def answer(self, question: str, user: UserContext, previous: Any = None) -> Answer: ...

    def decide(self, user: UserContext, opportunity_id: str, partner_id: str, action: str,
               reason: str = "") -> Answer: ...

    def export_sweep(self, question: str, user: UserContext, scope: Understood | None = None) -> Table | None: ...

    def export_gaps(self, question: str, user: UserContext, scope: Understood | None = None) -> Table | None: ...

    def export_decisions(self, user: UserContext) -> Table | None: ...


@dataclass(frozen=True)
class Command:
    name: str             # subscribe | unsubscribe | sweep_now | export_decisions
    fmt: str = "csv"


def command_of(text: str) -> Command | None:
    """A channel-manager command typed as a whole message (never a word inside a question)."""
    said = re.sub(r"\s+", " ", text.lower()).strip(" !.?")
    if _UNSUBSCRIBE.fullmatch(said):
        return Command("unsubscribe")
    if _SUBSCRIBE.fullmatch(said):
        return Command("subscribe")
    if _SWEEP_NOW.fullmatch(said):
        return Command("sweep_now")
    if match := _EXPORT_DECISIONS.fullmatch(said):
        return Command("export_decisions", "xlsx" if match.group("fmt") in ("xlsx", "excel") else "csv")
    return None


def digest_answer(engine: WorkflowEngine, user: UserContext, day: dt.date) -> Answer:
    """The daily sweep: the user's unattached opportunities, answered as that user."""
    answer = engine.answer(DIGEST_QUESTION, user)
    if answer.kind is AnswerKind.PIPELINE:
        answer = replace(answer, title=f"Daily sweep, {day.isoformat()}: {answer.title}")
    referral_part = engine.referral_sweep(user, day) if hasattr(engine, "referral_sweep") else None
    if referral_part is not None and referral_part.referrals:
        # stale partner-led referrals and shares about to expire ride along with the opportunities
        answer = replace(answer, referrals=referral_part.referrals, notes=answer.notes + (referral_part.summary,))
    return answer


def digest_activity(engine: WorkflowEngine, user: UserContext, day: dt.date, *, brief: bool) -> Reply:
    return render.answer_to_activity(digest_answer(engine, user, day), brief=brief, manage=user.sees_pipeline)


def refusal(user: UserContext) -> str:
    """Why this user may not do channel-manager things here."""
    phrases = render.messages()
    return str(phrases["workflow_private_only"] if "ecm" in user.groups else phrases["workflow_denied"])


async def deliver(turn: Turn, outcome: Outcome) -> None:
    """Post what a press (or a typed command) did: its answer when it has one, else its message."""
    if outcome.reply is not None:
        await send(turn, outcome.reply)
    elif outcome.text:
        await send(turn, render.text_activity(outcome.text))
    if outcome.then:
        await send(turn, render.text_activity(outcome.then))


class ChannelManagerActions:
    """Card submits and typed commands for channel managers; None of it answers a question."""

    def __init__(self, engine_source: EngineSource, *, exports: ExportStore, public_base_url: str,
                 subscriptions: SubscriptionStore, digest_hour_utc: int = 7,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._engine_source = engine_source
        self.exports = exports
        self.public_base_url = public_base_url.rstrip("/")
        self.subscriptions = subscriptions
        self.digest_hour_utc = digest_hour_utc
        self._clock = clock
        self.roster: RosterCheck | None = None   # who is in a group conversation (set by PartnerAtlas)

    # ------------------------------------------------------------------ entry points
    async def on_command(self, turn: Turn, text: str) -> bool:
        command = command_of(text)
        if command is None:
            return False
        if command.name == "unsubscribe":    # anyone may stop what they started, even after leaving "ecm"
            await self._unsubscribe(turn)
            return True
        context = await self._channel_manager(turn)
        if context is None:
            return True
        engine, user = context
        if not user.private_chat:
            await deliver(turn, Outcome(str(render.messages()["workflow_command_private_only"]), refused=True))
            return True
        if command.name == "subscribe":
            await self._subscribe(turn, user)
        elif command.name == "sweep_now":
            await self._sweep_now(turn, engine, user)
        else:
            await deliver(turn, await self.export(turn, render.ExportRequest("decisions", command.fmt, "")))
        return True

    # ------------------------------------------------------------------ who asks
    async def may_manage(self, turn: Turn) -> bool:
        """May the sender use the channel managers' buttons in this conversation (a card refresh asks)."""
        return not isinstance(await self._checked(turn), Outcome)

    def _engine(self) -> WorkflowEngine | None:
        engine = self._engine_source()
        if engine is None or not engine.ready:
            return None
        if not all(hasattr(engine, name) for name in ("decide", "export_sweep", "export_gaps", "export_decisions")):
            return None
        return cast(WorkflowEngine, engine)

    async def _channel_manager(self, turn: Turn) -> tuple[WorkflowEngine, UserContext] | None:
        """The engine and the sender when the sender may see the pipeline here; else says why not."""
        checked = await self._checked(turn)
        if isinstance(checked, Outcome):
            await deliver(turn, checked)
            return None
        return checked

    async def _checked(self, turn: Turn) -> tuple[WorkflowEngine, UserContext] | Outcome:
        """The engine and the sender when the sender is a channel manager and everyone here may see the
        pipeline (a 1:1 chat, or a room of channel managers); else why not."""
        engine = self._engine()
        if engine is None:
            return Outcome(str(render.messages()["loading"]), refused=True)
        user = await sender_here(engine, turn, self.roster)
        if not user.sees_pipeline:
            log.info("channel-manager action refused (%s)", "not everyone here is one" if "ecm" in user.groups else "not ecm")
            return Outcome(refusal(user), refused=True)
        return engine, user

    # ------------------------------------------------------------------ actions (each checks the sender itself)
    async def decision(self, turn: Turn, request: render.DecisionRequest) -> Outcome:
        """Propose / Mark attached / Dismiss: recorded by the engine, shown in place of the partner's buttons."""
        checked = await self._checked(turn)
        if isinstance(checked, Outcome):
            return checked
        engine, user = checked
        # the engine checks access (ecm, and everyone here) again and validates the decision; it answers DENIED otherwise
        answer = await asyncio.to_thread(engine.decide, user, request.opportunity_id, request.partner_id,
                                         request.action, request.reason)
        if answer.kind is AnswerKind.CLARIFY and "reason" in answer.missing:
            return Outcome(str(render.messages()["dismiss_needs_reason"]), refused=True)
        reply = render.answer_to_activity(answer, brief=self._brief(turn), manage=user.sees_pipeline)
        if answer.kind is not AnswerKind.DECISION:
            return Outcome(answer.summary or refusal(user), reply=reply, refused=True)
        mine = [d for d in answer.decisions if d.partner_id == request.partner_id and d.action == request.action]
        line = render.decision_history_line(mine[-1]) if mine else answer.summary
        return Outcome(answer.summary, reply=reply,
                       update=lambda card: card_update.decided(card, request.partner_id, line))

    async def share(self, turn: Turn, request: render_referrals.ShareConfirm) -> Outcome:
        """Confirm share: the sender is checked again (ecm, and everyone here), the pre-flight runs again, then the decision is
        recorded and the Partner Center import row offered as a CSV download."""
        checked = await self._checked(turn)
        if isinstance(checked, Outcome):
            return checked
        engine, user = checked
        if not hasattr(engine, "share"):
            return Outcome(str(render.messages()["loading"]), refused=True)
        answer, table = await asyncio.to_thread(engine.share, user, request.opportunity_id, request.partner_id)
        reply = render.answer_to_activity(answer, brief=self._brief(turn), manage=user.sees_pipeline)
        if table is None:
            return Outcome(answer.summary, reply=reply, refused=answer.kind is not AnswerKind.SHARED)
        header, rows = table
        name = await asyncio.to_thread(self.exports.save, header, rows, "csv", sheet="Referrals")
        text = str(render.messages()["export_ready"]).format(
            what="Partner Center import", count=len(rows), rows="row" if len(rows) == 1 else "rows", fmt="CSV",
            url=f"{self.public_base_url}/exports/{name}", minutes=EXPORT_TTL_SECONDS // 60)
        return Outcome(f"{answer.summary} {text}", reply=reply, then=text,
                       update=lambda card: card_update.confirmed(card, f"{answer.summary} {text}"))

    async def export(self, turn: Turn, request: render.ExportRequest) -> Outcome:
        checked = await self._checked(turn)
        if isinstance(checked, Outcome):
            return checked
        engine, user = checked
        phrases = render.messages()
        table: Table | None
        if request.subject == "sweep":
            table = await asyncio.to_thread(engine.export_sweep, request.query or DIGEST_QUESTION, user, request.scope)
            what = "sweep"
        elif request.subject == "gaps":
            table = await asyncio.to_thread(engine.export_gaps, request.query or "coverage gaps", user, request.scope)
            what = "coverage gaps"
        else:
            table = await asyncio.to_thread(engine.export_decisions, user)
            what = "attach decisions"
        if table is None:
            # access was checked above: None here means the question no longer selects gaps
            return Outcome(str(phrases["export_nothing"] if request.subject == "gaps" else refusal(user)), refused=True)
        header, rows = table
        name = await asyncio.to_thread(self.exports.save, header, rows, request.fmt,
                                       sheet=what.title().replace(" ", ""))
        url = f"{self.public_base_url}/exports/{name}"
        text = str(phrases["export_ready"]).format(
            what=what, count=len(rows), rows="row" if len(rows) == 1 else "rows", fmt=request.fmt.upper(), url=url,
            minutes=EXPORT_TTL_SECONDS // 60)
        # pressed on a card: the link is noted under it (the buttons stay, for the other format)
        return Outcome(text, update=lambda card: card_update.noted(card, text))

    async def _subscribe(self, turn: Turn, user: UserContext) -> None:
        # where the digest goes: this chat, as a new message (not a reply to "subscribe"), with its tenant
        reference = turn.conversation_reference()
        now = self._clock()
        new = await asyncio.to_thread(self.subscriptions.subscribe, user.aad_object_id or "", user.name,
                                      reference)
        if new and now.hour >= self.digest_hour_utc:
            # subscribed after today's digest hour: the first one comes tomorrow, not within the minute
            await asyncio.to_thread(self.subscriptions.mark_sent, user.aad_object_id or "", now.date())
        log.info("digest subscription %s", "added" if new else "refreshed")
        phrases = render.messages()
        text = phrases["subscribed"] if new else phrases["already_subscribed"]
        await send(turn, render.text_activity(str(text).format(hour=f"{self.digest_hour_utc:02d}:00")))

    async def _unsubscribe(self, turn: Turn) -> None:
        user_id = turn.aad_object_id or ""
        removed = await asyncio.to_thread(self.subscriptions.unsubscribe, user_id) if user_id else False
        log.info("digest subscription %s", "removed" if removed else "not found")
        phrases = render.messages()
        await send(turn, render.text_activity(phrases["unsubscribed" if removed else "not_subscribed"]))

    async def _sweep_now(self, turn: Turn, engine: WorkflowEngine, user: UserContext) -> None:
        if not turn.expects_replies:
            await turn.typing()
        reply = await asyncio.to_thread(digest_activity, engine, user, self._clock().date(),
                                        brief=self._brief(turn))
        await send(turn, reply)

    @staticmethod
    def _brief(turn: Turn) -> bool:
        return turn.channel_id == "msteams"
