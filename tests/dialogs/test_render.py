"""The renderer: order of partner names, verbatim passages, size budget, Adaptive Card 1.5 schema."""
from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import replace
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from dialogs import render
from retrieval.answers import Answer, AnswerKind, Citation, Passage
from tests.dialogs import fakes
from tests.support.cards import assert_valid_card


@cache
def harness() -> ModuleType:
    """The acceptance harness's own reply_text/mentions, so the order is checked exactly as it scores."""
    path = fakes.SHARED / "eval" / "evaluate.py"
    spec = importlib.util.spec_from_file_location("shared_evaluate", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serialized(answer: Answer) -> dict[str, Any]:
    return render.answer_to_activity(answer).serialize()


def cards(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in activity.get("attachments") or []
            if a["contentType"] == render.ADAPTIVE_CARD_CONTENT_TYPE]


def text_blocks(element: Any) -> list[str]:
    """Every TextBlock's text in a card, in document order (hidden ones included)."""
    if isinstance(element, list):
        return [t for e in element for t in text_blocks(e)]
    if not isinstance(element, dict):
        return []
    own = [element["text"]] if element.get("type") == "TextBlock" else []
    return own + [t for key in ("body", "items", "columns", "card") if key in element for t in text_blocks(element[key])]


def toggles(card: dict[str, Any]) -> dict[str, list[str]]:
    """The card's ToggleVisibility buttons: title -> the element ids it shows."""
    return {a["title"]: a["targetElements"] for e in card["body"] if e["type"] == "ActionSet"
            for a in e["actions"] if a["type"] == "Action.ToggleVisibility"}


# --------------------------------------------------------------------------- order
def test_partner_names_appear_in_rank_order_in_the_text() -> None:
    names = ["Northwind Cloud", "Contoso Digital", "Fabrikam Systems", "Adatum Partners", "Litware Consulting"]
    answer = fakes.coverage_answer(names, others=["Proseware Profile"])
    text = render.answer_to_text(answer)
    positions = [text.find(n) for n in names + ["Proseware Profile"]]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    # nothing before the ranked list names a partner
    assert text.find(answer.title) < text.find(answer.summary) < positions[0]


def test_the_harness_reads_the_same_order_from_text_card_and_suggestions() -> None:
    names = ["Zeta Works", "Alpha Cloud", "Mu Labs", "Beta Systems", "Kappa IT", "Omega Services"]
    answer = fakes.coverage_answer(names, others=["Delta Profile Only"])
    reply = harness().reply_text([serialized(answer)])
    everyone = names + ["Delta Profile Only", "Never Mentioned Ltd"]
    assert harness().mentions(reply, everyone) == names + ["Delta Profile Only"]


def test_blocks_follow_the_fixed_order() -> None:
    answer = replace(fakes.coverage_answer(), incentives=fakes.incentive_answer().incentives,
                     opportunities=fakes.pipeline_answer(1).opportunities,
                     passages=fakes.document_answer("A short passage.").passages,
                     facts=fakes.opportunity_answer().facts)
    text = render.answer_to_text(answer)
    markers = ["**AKS partners in Germany**", answer.summary, "**Partners**", f"**{render.OTHER_PARTNERS_OFF_MAP}**",
               "**Incentives**", "**Opportunities**", "A short passage.", "**Stage:**", "**Notes**", "**Sources**"]
    positions = [text.find(m) for m in markers]
    assert all(p >= 0 for p in positions), list(zip(markers, positions, strict=True))
    assert positions == sorted(positions)


def test_only_opportunity_ids_in_the_answer_are_mentioned() -> None:
    answer = fakes.pipeline_answer(4)
    reply = harness().reply_text([serialized(answer)])
    assert set(re.findall(r"OPP-\d+", reply)) == {o.opportunity_id for o in answer.opportunities}


def test_no_match_and_denied_name_no_partner() -> None:
    for kind in ("no_match", "denied", "clarify"):
        reply = harness().reply_text([serialized(fakes.every_kind()[kind])])
        assert harness().mentions(reply, ["Alpha Cloud", "Beta Systems", "Delta Profile Only"]) == []
        assert reply.strip()


# --------------------------------------------------------------------------- content
def test_partner_reasons_carry_detail_and_source_label() -> None:
    text = render.answer_to_text(fakes.coverage_answer())
    assert "Lead on the FY27 map for AKS in DE — source: FY27 solution map (solution_maps/fy27_map.csv, row 12)" in text
    assert "Gap: no delivery in AT" in text
    assert "Contact: Ana Ito ‹pdm@example.com›" in text       # angle brackets shown, never read as a tag (markup.py)
    assert "Win: Contoso Retail: AKS platform (2026)" in text


def test_other_partners_are_labelled_as_profile_evidence() -> None:
    answer = fakes.coverage_answer(["Alpha Cloud"], others=["Delta Profile Only"])
    text = render.answer_to_text(answer)
    assert text.index(render.OTHER_PARTNERS_OFF_MAP) < text.index("Delta Profile Only")
    card_text = json.dumps(cards(serialized(answer))[0], ensure_ascii=False)
    assert render.OTHER_PARTNERS_OFF_MAP in card_text
    near = replace(answer, other_partners=(fakes.partner("Near Miss Ltd", 5, on_map=True),))
    assert render.OTHER_PARTNERS_NEAR in render.answer_to_text(near)


def test_incentives_show_funding_requirements_and_partners() -> None:
    text = render.answer_to_text(fakes.incentive_answer())
    for expected in ("**Azure Migrate and Modernize**", "Program: Azure Accelerate",
                     "Funding: Partner-delivered assessment and migration", "Max funding: $50,000",
                     "Partner requirements: Solutions Partner for Data & AI (Azure)",
                     "Partners who can deliver: Alpha Cloud, Beta Systems", "Why it fits: Enterprise; deal ≥ $25,000",
                     "Source: Azure Accelerate (programs/azure-accelerate.md, section 'Funding')"):
        assert expected in text


def test_opportunity_lines_format_value_stage_and_close_date() -> None:
    answer = fakes.pipeline_answer(2)
    text = render.answer_to_text(answer)
    assert ("**OPP-1000** · Account 0 · Azure Kubernetes Service · DE · $1,200,000 · 2-Inspire & Design · "
            "closes 2027-02-01") in text
    assert "top suggestion: Alpha Cloud" in text
    assert "Showing 2 of 9." in text
    assert render.money(1_200_000) == "$1,200,000" and render.money(None) == ""


def test_passages_are_quoted_verbatim_with_their_citation() -> None:
    answer = fakes.document_answer()
    activity = serialized(answer)
    for passage in answer.passages:
        assert passage.text in activity["text"]
        assert f"From {passage.citation.label()}" in activity["text"]
    card_texts = [text for c in cards(activity) for text in text_blocks(c)]
    assert answer.passages[0].text in card_texts
    assert "programs/partner-center/kubernetes.md" in activity["text"]


def test_facts_notes_missing_and_sources() -> None:
    text = render.answer_to_text(fakes.opportunity_answer())
    assert "- **Stage:** 3-Empower & Achieve" in text
    assert "- **Internal note:** Escalated to the ATU. (confidential)" in text
    clarify = render.answer_to_text(fakes.every_kind()["clarify"])
    assert "**To answer this I need:** workload" in clarify
    covered = render.answer_to_text(fakes.coverage_answer())
    assert covered.rstrip().endswith("- FY27 solution map (solution_maps/fy27_map.csv, row 12)")
    assert covered.index("**Notes**") < covered.index("**Sources**")


def test_sources_fall_back_to_the_citations_the_parts_carry() -> None:
    answer = replace(fakes.coverage_answer(["Alpha Cloud"], others=[]), citations=())
    labels = render.source_labels(answer)
    assert labels == ["FY27 solution map (solution_maps/fy27_map.csv, row 12)",
                      "Alpha Cloud profile (partners/P-0001.yaml)"]


def test_suggestions_become_imback_buttons_and_suggested_actions() -> None:
    activity = serialized(fakes.coverage_answer())
    card = cards(activity)[0]
    # in the card they wait with the details (the first view stays short); Teams shows them as chips too
    later = next(e for e in card["body"] if e.get("id") == "later")
    [ask] = [e for e in later["items"] if e["type"] == "ActionSet"]
    assert [a["type"] for a in ask["actions"]] == ["Action.Submit", "Action.Submit"]
    assert ask["actions"][0]["data"]["msteams"] == {
        "type": "imBack", "value": "Which incentive can fund AKS for an Enterprise deal of $150k?"}
    assert "later" in toggles(card)["Show details"]
    assert [a["type"] for a in activity["suggestedActions"]["actions"]] == ["imBack", "imBack"]


# --------------------------------------------------------------------------- size
def test_five_hundred_partners_fit_under_80_kb_with_the_top_in_order() -> None:
    names = [f"Partner Number {i:03d} GmbH" for i in range(500)]
    answer = fakes.coverage_answer(names, others=[f"Profile Only {i:03d}" for i in range(200)], total=500)
    activity = render.answer_to_activity(answer)
    assert render.activity_size(activity) < 80_000       # UTF-16, as Teams counts
    assert len(json.dumps(activity.serialize()).encode()) < 80_000
    text = activity.text or ""
    top = [n for n in names if n in text]
    assert top == names[:len(top)] and len(top) >= 5
    assert "… and " in text and "Showing " in text
    for card in cards(activity.serialize()):
        assert_valid_card(card)


def test_the_first_passage_is_never_cut_to_fit() -> None:
    first = "Audit requirement sentence that must be quoted exactly as written. " * 180     # ~12,000 characters
    answer = replace(fakes.document_answer(first),
                     partners=tuple(fakes.partner(f"Partner {i}", i) for i in range(1, 300)))
    activity = render.answer_to_activity(answer)
    assert render.activity_size(activity) < 80_000
    assert first in (activity.text or "")


def test_a_huge_first_passage_keeps_at_least_1500_characters() -> None:
    first = "x" * 200_000
    activity = render.answer_to_activity(fakes.document_answer(first))
    assert render.activity_size(activity) < 80_000
    assert "x" * render.FIRST_PASSAGE_MIN_CHARS in (activity.text or "")


def test_later_passages_may_be_shortened_when_over_budget() -> None:
    spec = Citation("Doc", "programs/doc.md")
    passages = tuple(Passage(f"Passage {i}. " + "word " * 3000, spec, 0.5) for i in range(10))
    answer = Answer(AnswerKind.DOCUMENT, "Doc", "From Doc:", passages=passages)
    activity = render.answer_to_activity(answer)
    assert render.activity_size(activity) < 80_000
    assert passages[0].text in (activity.text or "")


# --------------------------------------------------------------------------- Adaptive Card schema
@pytest.mark.parametrize("kind", [k.value for k in AnswerKind])
def test_every_kind_renders_a_valid_adaptive_card_1_5(kind: str) -> None:
    answer = fakes.every_kind()[kind]
    activity = serialized(answer)
    assert activity["type"] == "message" and activity["text"]
    assert activity["textFormat"] == "markdown"
    [card] = cards(activity)
    assert_valid_card(card)


@pytest.mark.parametrize("limits", render.LADDER, ids=lambda limits: f"card-{limits.card}-{limits.partners}")
def test_every_shortening_step_still_renders_a_valid_card(limits: render.Limits) -> None:
    answer = replace(fakes.coverage_answer(), incentives=fakes.incentive_answer().incentives,
                     opportunities=fakes.pipeline_answer(30).opportunities, passages=fakes.document_answer().passages)
    assert_valid_card(render.answer_to_card(answer, limits))


def test_help_and_welcome_are_valid_cards_with_example_buttons() -> None:
    for activity in (render.help_activity(), render.welcome_activity()):
        data = activity.serialize()
        [card] = cards(data)
        assert_valid_card(card)
        examples = render.messages()["help_examples"]
        assert [a["data"]["msteams"]["value"] for a in card["actions"]] == examples
        assert all(q in card["fallbackText"] for q in examples)      # Teams shows one sentence above the card


# --------------------------------------------------------------------------- Teams: brief text above the card
def test_brief_mode_puts_the_sentence_in_text_and_the_details_in_the_card() -> None:
    names = ["Zeta Works", "Alpha Cloud", "Mu Labs"]
    answer = fakes.coverage_answer(names, others=["Delta Profile Only"])
    activity = render.answer_to_activity(answer, answer_id="a1", brief=True).serialize()
    assert activity["text"] == answer.summary and "**" not in activity["text"]
    card = cards(activity)[0]
    # the card does not repeat the sentence above it
    assert answer.summary not in text_blocks(card)
    assert_valid_card(card)
    assert card["fallbackText"] == render.answer_to_text(answer)       # readable where cards are not
    # a reader (and the harness) still meets the partners in rank order
    assert harness().mentions(harness().reply_text([activity]), names + ["Delta Profile Only"]) == names + ["Delta Profile Only"]


def test_brief_mode_keeps_every_passage_in_the_card_verbatim() -> None:
    text = "First passage. " * 40
    answer = fakes.document_answer(text)
    card = cards(render.answer_to_activity(answer, brief=True).serialize())[0]
    assert text.strip() in json.dumps(card["body"])          # in the card body itself, not only in fallbackText


# --------------------------------------------------------------------------- channel managers: decisions, exports, gaps
@pytest.mark.parametrize("kind", [k.value for k in AnswerKind])
def test_every_kind_with_the_channel_manager_buttons_is_a_valid_card(kind: str) -> None:
    activity = render.answer_to_activity(fakes.every_kind()[kind], answer_id="a1", brief=True, manage=True)
    [card] = cards(activity.serialize())
    assert_valid_card(card)
    assert render.activity_size(activity) <= render.MAX_ACTIVITY_BYTES


def _submits(card: dict[str, Any], what: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("data", {}).get("partnerAtlas") == what:
                # a Universal Action: its verb says what it does, its data what it acts on
                assert node["verb"] == (node["data"].get("action") if what == "attach" else what)
                found.append(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def test_attach_answers_get_propose_attach_and_dismiss_per_partner_only_when_managed() -> None:
    answer = fakes.every_kind()["attach"]
    plain = cards(serialized(answer))[0]
    assert _submits(plain, "attach") == []
    card = cards(render.answer_to_activity(answer, manage=True).serialize())[0]
    decisions = _submits(card, "attach")
    partners = [p.partner_id for p in (*answer.partners, *answer.other_partners)]
    assert [(d["partnerId"], d["action"]) for d in decisions] == [
        (pid, action) for pid in partners for action in ("propose", "attach", "dismiss")]
    assert {d["opportunityId"] for d in decisions} == {"OPP-1042"}
    # no partner name in any button: the first mention of a partner is still its rank
    names = [p.name for p in (*answer.partners, *answer.other_partners)]
    reply = harness().reply_text([render.answer_to_activity(answer, manage=True, brief=True).serialize()])
    assert harness().mentions(reply, names) == names
    assert not any(name in json.dumps(decisions) for name in names)
    for kind in ("coverage", "pipeline", "opportunity", "decision"):
        managed = cards(render.answer_to_activity(fakes.every_kind()[kind], manage=True).serialize())[0]
        assert _submits(managed, "attach") == [], kind


def test_a_submit_carries_the_reason_typed_for_its_partner() -> None:
    data = {"partnerAtlas": "attach", "action": "dismiss", "opportunityId": "OPP-1", "partnerId": "P-2",
            "reason_P-1": "wrong box", "reason_P-2": " no capacity ", "note_P-2": "a proposal note"}
    assert render.decision_of(data) == render.DecisionRequest("dismiss", "OPP-1", "P-2", "no capacity")
    assert render.decision_of({**data, "action": "propose"}) == render.DecisionRequest(
        "propose", "OPP-1", "P-2", "a proposal note")
    assert render.decision_of({**data, "action": "delete"}) is None
    assert render.decision_of({**data, "partnerId": 7}) is None
    assert render.decision_of({"partnerAtlas": "feedback"}) is None
    assert render.export_of({"partnerAtlas": "export", "subject": "sweep", "format": "xlsx", "query": "q"}) == \
        render.ExportRequest("sweep", "xlsx", "q")
    assert render.export_of({"partnerAtlas": "export", "subject": "sweep", "format": "pdf", "query": "q"}) is None


def test_sweeps_and_gaps_get_export_buttons_and_sweeps_a_sort_toggle() -> None:
    sweep = replace(fakes.pipeline_answer(3), export_query="my unattached AKS deals")
    card = cards(render.answer_to_activity(sweep, manage=True).serialize())[0]
    assert [(e["subject"], e["format"], e["query"]) for e in _submits(card, "export")] == [
        ("sweep", "csv", "my unattached AKS deals"), ("sweep", "xlsx", "my unattached AKS deals")]
    assert render.sort_action("my unattached AKS deals")["data"]["msteams"]["value"] == \
        "my unattached AKS deals by close date"
    assert render.sort_action("my unattached AKS deals by close date")["data"]["msteams"]["value"] == \
        "my unattached AKS deals"
    assert render.sort_action("unattached deals closing soonest")["title"] == "Sort by value"
    gaps = cards(render.answer_to_activity(fakes.gaps_answer(), manage=True).serialize())[0]
    assert [e["subject"] for e in _submits(gaps, "export")] == ["gaps", "gaps"]
    # not for anyone else, and not without a query to reproduce the list
    assert _submits(cards(serialized(sweep))[0], "export") == []
    assert _submits(cards(render.answer_to_activity(fakes.pipeline_answer(3), manage=True).serialize())[0],
                    "export") == []


def test_decisions_show_on_opportunity_lines_and_as_history() -> None:
    line = replace(fakes.pipeline_answer(1).opportunities[0], decisions=(fakes.decision("propose"),))
    text = render.answer_to_text(replace(fakes.pipeline_answer(1), opportunities=(line,)))
    assert "   - Proposed Alpha Cloud (ECM, 2026-11-21): Lead on the map in DE" in text
    history = render.answer_to_text(fakes.decision_answer())
    assert history.index("**Decision history**") < history.index(
        "- 2026-11-21 09:30 UTC — Proposed Alpha Cloud (ECM, 2026-11-21): Lead on the map in DE") < history.index(
        "- 2026-11-21 10:05 UTC — Dismissed Beta Systems (ECM, 2026-11-21): no capacity before the close date")
    # attach suggestions carry the same history on their line: it is shown once
    attach = fakes.every_kind()["attach"]
    decided = (fakes.decision("dismiss", "Beta Systems", "no capacity"),)
    attach = replace(attach, decisions=decided,
                     opportunities=(replace(attach.opportunities[0], decisions=decided),))
    assert render.answer_to_text(attach).count("Dismissed Beta Systems") == 1


def test_long_decision_histories_keep_the_newest() -> None:
    history = tuple(fakes.decision("propose", f"Partner {i:03d}", "x" * 300, f"2026-11-21T09:{i % 60:02d}:00Z")
                    for i in range(400))
    answer = replace(fakes.decision_answer(), decisions=history)
    activity = render.answer_to_activity(answer, brief=True)
    assert render.activity_size(activity) <= render.MAX_ACTIVITY_BYTES
    text = json.dumps(activity.serialize())
    assert "Partner 399" in text and "earlier decisions" in text
    for card in cards(activity.serialize()):
        assert_valid_card(card)


def test_the_gaps_card_carries_a_png_heatmap_and_a_table_in_order() -> None:
    answer = fakes.gaps_answer(40, total=417)
    activity = render.answer_to_activity(answer, answer_id="a1", brief=True, manage=True)
    assert render.activity_size(activity) <= render.MAX_ACTIVITY_BYTES
    [card] = cards(activity.serialize())
    assert_valid_card(card)
    types = [element["type"] for element in card["body"]]
    assert types.index("Image") < types.index("Table")
    image = next(e for e in card["body"] if e["type"] == "Image")
    assert image["url"].startswith("data:image/png;base64,") and image["altText"]
    table = next(e for e in card["body"] if e["type"] == "Table")
    rows = [[c["items"][0]["text"] for c in row["cells"]] for row in table["rows"]]
    assert rows[0] == list(render.GAP_COLUMNS)
    assert rows[1] == list(render.gap_row(answer.gaps[0]))
    assert "Showing" in json.dumps(card) and "of 417" in json.dumps(card)
    text = render.answer_to_text(answer)
    assert "**Largest coverage gaps**" in text and f"1. **{answer.gaps[0].workload} in {answer.gaps[0].country}**" in text


def test_under_a_tight_budget_the_heatmap_goes_before_the_table() -> None:
    answer = fakes.gaps_answer(40)

    def table_rows(activity: Any) -> int:
        [card] = cards(activity.serialize())
        assert_valid_card(card)
        return sum(len(e["rows"]) - 1 for e in card["body"] if e["type"] == "Table")

    def has_image(activity: Any) -> bool:
        return any(e["type"] == "Image" for e in cards(activity.serialize())[0]["body"])

    full = render.answer_to_activity(answer, max_bytes=10**6)
    assert has_image(full) and table_rows(full) == 40
    # rows go first, down to MIN_GAP_ROWS, while the picture stays
    smallest_with_image = render._build_activity(answer, replace(render.FULL, gap_rows=render.MIN_GAP_ROWS))
    fits = render.answer_to_activity(answer, max_bytes=render.activity_size(smallest_with_image))
    assert has_image(fits) and table_rows(fits) == render.MIN_GAP_ROWS
    # then the image goes, and the table stays
    squeezed = render.answer_to_activity(answer, max_bytes=render.activity_size(smallest_with_image) - 1)
    assert not has_image(squeezed) and table_rows(squeezed) == render.MIN_GAP_ROWS
    assert render.activity_size(squeezed) < render.activity_size(smallest_with_image)


def test_the_heatmap_is_a_small_png() -> None:
    from dialogs import heatmap

    png = heatmap.gap_heatmap_png(fakes.gap_cells(40))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 40_000
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (heatmap.WIDTH_PX, heatmap.HEIGHT_PX)
    assert heatmap.gap_heatmap_png(()) == b""


@pytest.mark.parametrize("max_bytes", [10**6, 6_000, 2_000, 300])
def test_the_size_returned_with_an_answer_activity_is_its_measured_size(max_bytes: int) -> None:
    # from roomy (first rung), through squeezed rungs, to the pathological cut: the size logged is the real one
    answer = fakes.gaps_answer(40)
    activity, size = render.sized_answer_activity(answer, max_bytes, brief=True)
    assert size == render.activity_size(activity)
    assert activity.serialize() == render.answer_to_activity(answer, max_bytes, brief=True).serialize()


# --------------------------------------------------------------------------- the compact first view
def visible_texts(element: Any) -> list[str]:
    """The TextBlocks a reader sees before pressing anything (hidden containers skipped)."""
    if isinstance(element, list):
        return [t for e in element for t in visible_texts(e)]
    if not isinstance(element, dict) or element.get("isVisible") is False:
        return []
    own = [element["text"]] if element.get("type") == "TextBlock" else []
    return own + [t for key in ("body", "items") if key in element for t in visible_texts(element[key])]


def test_the_first_view_shows_three_partners_with_a_why_and_the_rest_on_demand() -> None:
    names = ["Zeta Works", "Alpha Cloud", "Mu Labs", "Beta Systems", "Kappa IT"]
    answer = fakes.coverage_answer(names, others=["Delta Profile Only"])
    card = cards(render.answer_to_activity(answer, answer_id="a1", brief=True).serialize())[0]
    assert_valid_card(card)
    shown = "\n".join(visible_texts(card))
    assert [n for n in names + ["Delta Profile Only"] if n in shown] == names[:3]
    assert "Contact: Ana Ito" in shown and "On the solution map" in shown          # the why, in words
    assert "— source:" not in shown and "Gap:" not in shown                         # reasons wait for "Show details"
    switches = toggles(card)
    assert set(switches) == {"Show details", "Show all 5"}
    every_id = json.dumps(card)
    assert all(f'"id": "{target}"' in every_id for targets in switches.values() for target in targets)
    # everything is still in the card, in rank order, for anyone (and the harness) reading it whole
    assert harness().mentions(harness().reply_text([{"attachments": [{"content": {"body": card["body"]}}]}]),
                              names + ["Delta Profile Only"]) == names + ["Delta Profile Only"]


def test_no_raw_score_anywhere() -> None:
    answer = replace(fakes.coverage_answer(), opportunities=fakes.pipeline_answer(3).opportunities)
    activity = json.dumps(render.answer_to_activity(answer, brief=True).serialize(), ensure_ascii=False)
    assert not re.search(r"score \d", activity)


def test_the_why_line_says_in_words_what_the_strongest_reasons_are() -> None:
    from dialogs.answer_view import why_line
    from retrieval.answers import PartnerMatch, Reason

    partner = PartnerMatch("P-1", "Alpha", 0.0, True, role="Lead", reasons=(
        Reason("on_map", "On the FY27 map for AKS in DE", 3.0), Reason("role", "Lead partner on the map", 2.0),
        Reason("industry", "Map row names Retail", 1.5), Reason("win", "Win: Contoso, AKS (Retail), 2026", 1.0),
        Reason("win", "Win: Fabrikam, AKS, 2025", 0.8), Reason("capacity", "8 consultants available in the next 90 days", 0.5),
        Reason("load", "Already attached to 4 opportunities in the pipeline", -1.0)))
    assert why_line(partner, ("Retail",)) == "Lead on the solution map · Retail experience · 2 matching customer wins"
    assert "attached" not in why_line(partner, ())


def test_sources_become_links_when_the_knowledge_folder_has_a_web_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOWLEDGE_BASE_URL", "https://contoso.sharepoint.com/sites/partners/Knowledge/")
    card = cards(render.answer_to_activity(fakes.coverage_answer(), brief=True).serialize())[0]
    link = "[FY27 solution map (solution_maps/fy27_map.csv)](https://contoso.sharepoint.com/sites/partners/" \
           "Knowledge/solution_maps/fy27_map.csv)"
    assert any(link in t for t in visible_texts(card))          # the first view names each file once
    assert "- [FY27 solution map (solution_maps/fy27_map.csv, row 12)](https://contoso.sharepoint.com/" in \
        card["fallbackText"]
    monkeypatch.setenv("KNOWLEDGE_BASE_URL", "javascript:alert(1)")                 # only web addresses
    assert "javascript" not in json.dumps(render.answer_to_activity(fakes.coverage_answer(), brief=True).serialize())
