"""Question drafts per subject: each a fact from the records asked back, its true answer, and the options the
records make false (distractors), the more plausible ones marked `near`."""
from __future__ import annotations

from collections import defaultdict

from knowledge.display import format_usd
from knowledge.records import Incentive, MapRow
from retrieval.quiz.facts import Draft, Facts, distinct, incentive_citation, is_lead, place, without
from retrieval.quiz.model import CO_SELL_READY, NO_MINIMUM
from retrieval.ranking import row_citation


def _map_drafts(facts: Facts, rows: list[MapRow], subject: str, kind: str) -> list[Draft]:
    """Questions about the map rows of one solution play or solution area."""
    drafts: list[Draft] = []
    what = f"the {subject} solution play" if kind == "solution_play" else f"the {subject} solution area"
    key = (lambda r: r.solution_play) if kind == "solution_play" else (lambda r: r.solution_area)
    in_subject = {r.workload.lower() for r in rows}
    subject_areas = {r.solution_area for r in rows}
    # for a play, the workloads of its area's other plays are the plausible wrong answers
    related = distinct(r.workload for r in facts.rows if kind == "solution_play" and r.solution_area in subject_areas)
    wrong_workloads = without(facts.map_workloads, in_subject)
    for workload in distinct(r.workload for r in rows):
        row = next(r for r in rows if r.workload.lower() == workload.lower())
        drafts.append(Draft(
            "workload_in", f"Which workload is part of {what} on the solution map?", workload, wrong_workloads,
            f"{workload} is in {what} on the solution map"
            + (f" ({row.solution_area} · {row.solution_play})." if row.solution_area and row.solution_play else "."),
            row_citation(row), near=without(related, in_subject)))

    # which play / area a workload belongs to (the workload may be in several: those are never offered as wrong)
    others = facts.plays if kind == "solution_play" else facts.areas
    label = "solution play" if kind == "solution_play" else "solution area"
    for workload in distinct(r.workload for r in rows):
        owners = {key(r).lower() for r in facts.rows if r.workload.lower() == workload.lower() and key(r)}
        row = next(r for r in rows if r.workload.lower() == workload.lower())
        drafts.append(Draft(
            "owner_of_workload", f"On the solution map, which {label} is {workload} part of?", subject,
            without(others, owners), f"The solution map puts {workload} in the {subject} {label}.", row_citation(row)))

    # Lead partners per country
    leads: dict[str, dict[str, MapRow]] = defaultdict(dict)      # country -> partner name -> row
    for row in rows:
        if is_lead(row):
            for country in row.countries:
                leads[country].setdefault(facts.partner_name(row), row)
    on_map = distinct(facts.partner_name(r) for r in facts.rows)
    in_subject_partners = distinct(facts.partner_name(r) for r in rows)
    for country, named in sorted(leads.items()):
        for name, row in sorted(named.items()):
            drafts.append(Draft(
                "lead_partner", f"Which partner is a Lead on the solution map for {what} in {place(country)}?", name,
                without(on_map, named), f"{name} is a Lead for {row.workload} ({subject}) in {place(country)} on the "
                f"solution map.", row_citation(row), near=without(in_subject_partners, named)))

    if kind == "solution_play":
        areas = distinct(r.solution_area for r in rows)
        if len(areas) == 1:
            drafts.append(Draft(
                "area_of_play", f"Which solution area is the {subject} solution play in?", areas[0],
                without(facts.areas, areas), f"On the solution map, {subject} is a play of {areas[0]}.",
                row_citation(rows[0])))
    else:
        for play in distinct(r.solution_play for r in rows):
            row = next(r for r in rows if r.solution_play == play)
            drafts.append(Draft(
                "play_in_area", f"Which solution play belongs to the {subject} solution area?", play,
                without(facts.plays, {r.solution_play for r in rows}),
                f"On the solution map, {play} is a play of {subject}.", row_citation(row)))

    # which incentive can fund one of its workloads (rules for "all" workloads would be true for any: left out)
    listed = [i for i in facts.incentives if i.workloads is not None]
    funding = [i for i in listed if in_subject & {w.lower() for w in i.workloads or ()}]
    not_funding = [i.name for i in listed if not in_subject & {w.lower() for w in i.workloads or ()}]
    for rule in funding:
        covered = [w for w in rule.workloads or () if w.lower() in in_subject]
        drafts.append(Draft(
            "incentive_for", f"Which incentive can fund a workload of {what}?", rule.name,
            without(not_funding, [i.name for i in funding]),
            f"{rule.name} ({rule.program}) covers {', '.join(covered)}.", incentive_citation(rule)))
    return drafts


def _incentive_drafts(facts: Facts, rule: Incentive, *, ask_program: bool) -> list[Draft]:
    drafts: list[Draft] = []
    name, source = rule.name, incentive_citation(rule)
    others = [i for i in facts.incentives if i.id != rule.id]

    if rule.max_funding_usd is not None:
        value = rule.max_funding_usd
        recorded = [format_usd(i.max_funding_usd) for i in others if i.max_funding_usd not in (None, value)]
        scaled = [format_usd(value * f) for f in (2, 0.5, 4, 0.2)] if value > 0 else []
        drafts.append(Draft(
            "max_funding", f"What is the maximum funding of {name}?", format_usd(value),
            without(recorded + scaled, [format_usd(value)]),
            f"{name} funds up to {format_usd(value)}" + (f" ({rule.funding})." if rule.funding else "."), source,
            near=without(recorded, [format_usd(value)])))

    minimum = rule.min_deal_usd or 0.0
    shown = format_usd(minimum) if minimum > 0 else NO_MINIMUM
    recorded = [format_usd(i.min_deal_usd) if i.min_deal_usd > 0 else NO_MINIMUM for i in others
                if (i.min_deal_usd or 0.0) != minimum]
    scaled = [format_usd(minimum * f) for f in (2, 0.5, 5)] + [NO_MINIMUM] if minimum > 0 else []
    drafts.append(Draft(
        "min_deal", f"What is the minimum deal size for {name}?", shown, without(recorded + scaled, [shown]),
        f"{name} applies to deals of at least {format_usd(minimum)}." if minimum > 0 else f"{name} has no minimum deal size.",
        source, near=without(recorded, [shown])))

    eligible = distinct(rule.segments)
    excluded = without(facts.segments, eligible)
    if eligible and excluded:
        segment_list = " and ".join(eligible)
        for segment in excluded:
            drafts.append(Draft(
                "segment", f"Which segment is NOT eligible for {name}?", segment, tuple(eligible),
                f"{name} is for {segment_list} only, so {segment} is not eligible.", source))
        for segment in eligible:
            drafts.append(Draft(
                "segment", f"Which segment is eligible for {name}?", segment, excluded,
                f"{name} is for {segment_list}.", source))

    required = [*rule.designations_any, *rule.specializations_any] + ([CO_SELL_READY] if rule.co_sell_ready_required else [])
    if required:
        pool = facts.designations + facts.specializations + ([] if rule.co_sell_ready_required else [CO_SELL_READY])
        wrong = without(pool, required)
        for credential in distinct(required):
            same_kind = facts.specializations if credential in rule.specializations_any else facts.designations
            drafts.append(Draft(
                "requirement", f"Which partner credential does {name} list as a requirement?", credential, wrong,
                f"{name} requires {_requirement_text(rule)}.", source, near=without(same_kind, required)))

    if rule.workloads is not None:
        wrong_workloads = without(facts.workloads, rule.workloads)
        near = without((w for i in others for w in (i.workloads or ())), rule.workloads)
        for workload in distinct(rule.workloads):
            drafts.append(Draft(
                "workload", f"Which workload does {name} cover?", workload, wrong_workloads,
                f"{name} covers {', '.join(rule.workloads)}.", source, near=near))

    if rule.countries is not None:
        wrong_countries = tuple(place(c) for c in without(facts.countries, rule.countries))
        for country in distinct(rule.countries):
            drafts.append(Draft(
                "country", f"In which country is {name} available?", place(country), wrong_countries,
                f"{name} is available in {', '.join(place(c) for c in rule.countries)} only.", source))

    if ask_program and rule.program:
        drafts.append(Draft(
            "program", f"Which program is {name} part of?", rule.program, without(facts.programs, [rule.program]),
            f"{name} is an incentive of the {rule.program} program.", source))
    return drafts


def _requirement_text(rule: Incentive) -> str:
    def listed(noun: str, names: tuple[str, ...]) -> str:
        return f"the {noun} {names[0]}" if len(names) == 1 else f"one of the {noun}s " + "; ".join(names)

    parts = []
    if rule.designations_any:
        parts.append(listed("designation", rule.designations_any))
    if rule.specializations_any:
        parts.append(listed("specialization", rule.specializations_any))
    if rule.co_sell_ready_required:
        parts.append("co-sell ready status")
    return " and ".join(parts)


def _program_drafts(facts: Facts, program: str) -> list[Draft]:
    rules = [i for i in facts.incentives if i.program == program]
    drafts = [d for rule in rules for d in _incentive_drafts(facts, rule, ask_program=False)]
    outside = [i.name for i in facts.incentives if i.program != program]
    for rule in rules:
        drafts.append(Draft(
            "incentive_of_program", f"Which incentive belongs to the {program} program?", rule.name,
            without(outside, [r.name for r in rules]), f"{rule.name} is an incentive of {program}.",
            incentive_citation(rule)))
    return drafts


def drafts_for(facts: Facts, kind: str, name: str) -> list[Draft]:
    if kind == "program":
        return _program_drafts(facts, name)
    if kind == "incentive":
        rule = next((i for i in facts.incentives if i.id == name), None)
        return _incentive_drafts(facts, rule, ask_program=True) if rule else []
    field_of = "solution_play" if kind == "solution_play" else "solution_area"
    rows = [r for r in facts.rows if getattr(r, field_of) == name]
    return _map_drafts(facts, rows, name, kind) if rows else []
