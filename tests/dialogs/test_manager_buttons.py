"""The read-only view of a channel manager's card and its refresh for the managers, on real answer cards."""
from __future__ import annotations

import copy
from typing import Any

from dialogs.manager_buttons import MANAGER_VERBS, MAX_USER_IDS, REFRESH_VERB, for_managers, is_for_managers, read_only
from tests.support.cards import assert_valid_card, card_of, every
from tests.support.served import Served


async def test_the_read_only_view_keeps_the_answer_and_drops_only_the_managers_buttons(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    assert {a["verb"] for a in every(card, "Action.Execute")} & MANAGER_VERBS     # a card with decisions
    before = copy.deepcopy(card)
    view = read_only(card)
    assert card == before                                                         # the whole card is kept as it was
    assert_valid_card(view)
    assert not {a["verb"] for a in every(view, "Action.Execute")} & MANAGER_VERBS
    assert not every(view, "Action.ShowCard") and not every(view, "Input.Text")   # the reason boxes went with them
    assert [a["verb"] for a in every(view, "Action.Execute")] == \
        [a["verb"] for a in every(card, "Action.Execute") if a["verb"] not in MANAGER_VERBS]   # 👍/👎 stay
    assert [b["text"] for b in every(view, "TextBlock")] == [b["text"] for b in every(card, "TextBlock")
                                                             if not _inside_show_card(card, b)]


async def test_the_refresh_names_each_manager_once_up_to_the_teams_limit(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    ids = [f"29:member-{i}" for i in range(80)]
    gated = for_managers(card, ["29:member-0", *ids])
    assert_valid_card(gated)
    assert is_for_managers(gated) and not is_for_managers(card) and "refresh" not in card
    assert gated["refresh"]["action"]["verb"] == REFRESH_VERB
    assert gated["refresh"]["userIds"] == ids[:MAX_USER_IDS]
    view = read_only(gated)
    assert view["refresh"] == gated["refresh"]           # the read-only view still refreshes for the managers


def _inside_show_card(card: dict[str, Any], block: dict[str, Any]) -> bool:
    return any(block in every(show["card"], "TextBlock") for show in every(card, "Action.ShowCard"))
