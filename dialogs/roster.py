"""Who reads a reply in a group chat or channel: the conversation's roster, for confidential answers.

A reply in a channel thread is read by every member, so confidential records (pipeline, partner notes,
confidential documents) are shown there only when *every* member may see them. By default
(CONFIDENTIAL_IN_GROUPS=off) the roster is never asked and nothing confidential leaves the 1:1 chat. With
`roster`, the members are fetched from Teams (`Turn.members`, TeamsInfo.get_members: for a channel Teams answers with the
team's members, never fewer than the channel's) and the groups all of them share in access.yaml are passed to
the engine as `UserContext.shared_groups`. Any doubt denies: a member without an Entra id, a roster larger
than MAX_MEMBERS, or a roster that cannot be read. Rosters are cached per conversation for a few minutes,
so a member who joins sees confidential answers stop within CACHE_SECONDS. The same roster names the
channel managers whose Teams clients refresh a card into the view with their buttons (`user_ids_in`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from dialogs import teams
from dialogs.turn import Member, Turn
from retrieval.users import UserContext

log = logging.getLogger(__name__)

MODES = ("off", "roster")
CACHE_SECONDS = 300.0
MAX_MEMBERS = 500


class RosterCheck:
    """The groups every member of a group conversation shares; frozenset() in 1:1 chats, when off, or in doubt."""

    def __init__(self, mode: str = "off", *, members: Callable[[Turn], Awaitable[list[Member]]] | None = None,
                 clock: Callable[[], float] = time.monotonic, cache_seconds: float = CACHE_SECONDS) -> None:
        if mode not in MODES:
            raise ValueError(f"CONFIDENTIAL_IN_GROUPS must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self._members = members or _teams_members
        self._clock, self._ttl = clock, cache_seconds
        self._cache: dict[str, tuple[float, tuple[Member, ...] | None]] = {}

    @property
    def enabled(self) -> bool:
        return self.mode == "roster"

    async def shared_groups(self, turn: Turn, groups_of: Callable[[str], frozenset[str]], *,
                            fresh: bool = False) -> frozenset[str]:
        """`fresh`: ask Teams now rather than trust a cached roster (for what replays earlier answers, which a
        member who joined a minute ago must not see)."""
        if not self.enabled or teams.conversation_type(turn) == teams.PERSONAL:
            return frozenset()
        members = await self._roster(turn, fresh=fresh)
        if not members:
            return frozenset()
        return _intersection(groups_of(member.aad_object_id) for member in members)

    async def user_ids_in(self, turn: Turn, groups_of: Callable[[str], frozenset[str]], group: str) -> list[str]:
        """The channel ids of the members in `group` (a card's refresh `userIds`); [] when off or in doubt."""
        if not self.enabled or teams.conversation_type(turn) == teams.PERSONAL:
            return []
        members = await self._roster(turn) or ()
        return [member.user_id for member in members if member.user_id and group in groups_of(member.aad_object_id)]

    async def _roster(self, turn: Turn, *, fresh: bool = False) -> tuple[Member, ...] | None:
        key = turn.conversation_id.split(";", 1)[0]   # a channel, not one of its threads
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl and not fresh:
            return cached[1]
        try:
            ids: tuple[Member, ...] | None = tuple(await self._members(turn))
        except Exception as exc:   # a roster we cannot read is a roster we cannot trust: deny
            log.warning("conversation roster unavailable (%s): confidential content stays in 1:1 chats",
                        type(exc).__name__)
            ids = None
        if ids is not None and (not ids or len(ids) > MAX_MEMBERS or any(not member.aad_object_id for member in ids)):
            log.info("conversation roster not usable for confidential answers (%d members)", len(ids))
            ids = None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, ids)
        return ids


class KnowsUsers(Protocol):
    """What the roster needs of the engine: who someone is, as the access list says."""

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext: ...


def member_groups(engine: KnowsUsers) -> Callable[[str], frozenset[str]]:
    """A member's groups in the access list, by their Entra id."""
    return lambda member: engine.user_context(member).groups


async def sender_here(engine: KnowsUsers, turn: Turn, roster: RosterCheck | None, *, fresh: bool = False) -> UserContext:
    """The sender as the engine knows them, in this conversation: in a group chat or channel with the groups
    every member shares (from the roster; none when it is off or in doubt). `fresh`: see `shared_groups`."""
    shared = frozenset() if roster is None else await roster.shared_groups(turn, member_groups(engine), fresh=fresh)
    return engine.user_context(turn.aad_object_id, name=turn.user_name, conversation_type=teams.conversation_type(turn),
                               shared_groups=shared)


async def _teams_members(turn: Turn) -> list[Member]:
    return await turn.members()


def _intersection(sets: Iterable[frozenset[str]]) -> frozenset[str]:
    shared: frozenset[str] | None = None
    for groups in sets:
        shared = groups if shared is None else shared & groups
        if not shared:
            return frozenset()
    return shared or frozenset()
