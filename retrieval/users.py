"""Who is asking, as the channel established it, and what the answer engine offers the dialogs.

Access is decided on this: opportunities, referrals and confidential notes only for their groups, and only
where everyone reading may see them (a 1:1 chat, or a room whose roster is all of those groups).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from retrieval.answers import Answer, AnswerKind, Understood

PIPELINE_GROUP = "ecm"


@dataclass(frozen=True)
class UserContext:
    """Who is asking, as established by the channel (never by what the user typed)."""

    aad_object_id: str | None = None
    groups: frozenset[str] = frozenset()
    name: str = ""
    email: str = ""
    conversation_type: str = "personal"  # personal | groupChat | channel
    # In a group chat or channel: the groups *every* member of the conversation belongs to, from its roster
    # (CONFIDENTIAL_IN_GROUPS=roster); empty when the roster was not checked, so nothing confidential shows there.
    shared_groups: frozenset[str] = frozenset()

    @property
    def private_chat(self) -> bool:
        return self.conversation_type in ("", "personal")

    def may_see(self, allowed: Iterable[str]) -> bool:
        """May this conversation see a record restricted to `allowed`: the asker is in one of those groups, and
        the chat is 1:1 or everyone in it is in one of them too (a reply in a channel is read by all its members)."""
        wanted = frozenset(allowed)
        return bool(wanted & self.groups) and (self.private_chat or bool(wanted & self.shared_groups))

    @property
    def sees_pipeline(self) -> bool:
        return self.may_see((PIPELINE_GROUP,))


class AnswerEngine(Protocol):
    @property
    def ready(self) -> bool: ...

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext: ...

    def answer(self, question: str, user: UserContext, previous: Understood | None = None) -> Answer: ...

    def decide(self, user: UserContext, opportunity_id: str, partner_id: str, action: str,
               reason: str = "") -> Answer: ...

    def export_sweep(self, question: str, user: UserContext, scope: Understood | None = None,
                     ) -> tuple[list[str], list[list[object]]] | None: ...

    def export_gaps(self, question: str, user: UserContext, scope: Understood | None = None,
                    ) -> tuple[list[str], list[list[object]]] | None: ...

    def export_decisions(self, user: UserContext) -> tuple[list[str], list[list[object]]] | None: ...


def denied_pipeline(user: UserContext, understood: Understood) -> Answer:
    if PIPELINE_GROUP in user.groups:
        summary = ("Opportunity details are confidential: ask me in a 1:1 chat and I'll show them there, "
                   "not in a group chat or channel.")
    else:
        summary = ("Opportunity and pipeline details are confidential and not available to you: only channel "
                   "managers (group “ecm”) can see them. I can still tell you which partners cover a workload.")
    return Answer(AnswerKind.DENIED, "Not available to you", summary,
                  Understood(workloads=understood.workloads, countries=understood.countries))
