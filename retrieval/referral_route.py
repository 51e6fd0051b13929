"""Where questions about co-sell referrals, customer wins, teaming up and sharing a deal are answered.

`route` is the engine's one early branch for them: it returns None for every other question. Access is
decided here, once: referrals (ids, customers, values, statuses, even the fact that a deal was shared)
only for those who may see the pipeline (group "ecm", in a 1:1 chat or a roster where all are ecm);
profile wins and team-up suggestions (public partner facts) for everyone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING

from retrieval import matchmaking, referrals, share, wins
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.catalog import Catalog
from retrieval.linking import Linked
from retrieval.referral_intent import ReferralQuestion, recognise, words

if TYPE_CHECKING:
    from retrieval.share_store import ShareStore
    from retrieval.users import UserContext


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def denied(user: UserContext, understood: Understood) -> Answer:
    if "ecm" in user.groups:
        summary = ("Co-sell referrals are confidential: ask me in a 1:1 chat and I'll show them there, "
                   "not in a group chat or channel.")
    else:
        summary = ("Co-sell referrals and pipeline details are confidential and not available to you: only channel "
                   "managers (group “ecm”) can see them. I can still tell you which partners cover a workload, "
                   "and the customer wins partners list in their profiles.")
    return Answer(AnswerKind.DENIED, "Not available to you", summary,
                  Understood(workloads=understood.workloads, countries=understood.countries))


def scope_of(linked: Linked, question: ReferralQuestion, user: UserContext, catalog: Catalog) -> referrals.Scope:
    plays = tuple(linked.names("solution_play"))
    workloads = tuple(linked.names("workload"))
    for area in linked.names("solution_area"):
        workloads += tuple(catalog.workloads_of_area(area))
    seller = question.seller or (user.email if linked.has("my", "mine") and user.email else "")
    direction = "Outgoing" if question.partner_led and not question.microsoft_led else \
        "Incoming" if question.microsoft_led and not question.partner_led else ""
    return referrals.Scope(countries=linked.countries, workloads=workloads, plays=plays,
                           industries=tuple(linked.names("industry")), partner_ids=tuple(linked.names("partner")),
                           seller=seller, direction=direction)


def route(catalog: Catalog, question: str, linked: Linked, user: UserContext, understood: Understood, *,
          shares: ShareStore | None = None, now: dt.date | None = None) -> Answer | None:
    """The answer to a referral / wins / team-up / share question; None when the question is none of them."""
    book = referrals.book(catalog)
    asked = recognise(question, linked, book.by_id, now or today())
    if asked is None:
        return None
    if asked.kind == "wins":
        wanted = wins.WinFilter(workloads=tuple(linked.names("workload")), plays=tuple(linked.names("solution_play")),
                                industries=tuple(linked.names("industry")), countries=linked.countries,
                                partner_ids=tuple(linked.names("partner")))
        return wins.customer_wins(catalog, wanted, understood, with_referrals=user.sees_pipeline)
    if asked.kind == "wins_clarify":
        examples = tuple(f"Customer wins for {w}" for w in sorted(catalog.rows_by_workload, key=lambda w: -len(
            catalog.rows_by_workload[w]))[:3])
        return Answer(AnswerKind.CLARIFY, "Customer wins for what?",
                      "For which workload, industry, country or partner? For example: customer wins for Sentinel in "
                      "healthcare, or wins in DACH for AKS.", understood, missing=("workload",), suggestions=examples)
    if asked.kind == "team_up":
        return matchmaking.team_up(catalog, linked, understood)
    if not user.sees_pipeline:
        return denied(user, understood)
    defaults = words()["defaults"]
    scope = scope_of(linked, asked, user, catalog)
    as_of = asked.as_of
    if asked.kind == "referral":
        return referrals.by_ids(book, asked.referral_ids, understood, as_of)
    if asked.kind == "unknown_referral":
        missing = ", ".join(asked.referral_ids)
        return Answer(AnswerKind.NO_MATCH, f"{missing} not found",
                      f"I found no co-sell referral {missing} in the referrals export.", understood)
    if asked.kind == "share":
        opportunity = catalog.opportunities[linked.opportunity_ids[0]]
        partner_id = linked.names("partner")[0]
        return share.preflight(catalog, opportunity, partner_id, understood, shares=shares, as_of=as_of)
    if asked.kind == "status" and linked.opportunity_ids:
        return referrals.on_opportunities(book, linked.opportunity_ids, understood, as_of)
    if asked.kind == "status":
        return referrals.with_partners(book, list(scope.partner_ids), replace(scope, partner_ids=()), understood,
                                       as_of)
    if asked.kind == "unlinked":
        return referrals.unlinked(book, replace(scope, direction=""), understood, as_of)
    if asked.kind == "expiring":
        return referrals.expiring(book, replace(scope, direction=""), understood, as_of,
                                  asked.days if asked.days is not None else int(defaults["expiring_days"]))
    if asked.kind == "stale":
        return referrals.stale(book, replace(scope, direction=""), understood, as_of,
                               asked.days if asked.days is not None else int(defaults["stale_days"]))
    if asked.kind == "reasons":
        return referrals.reasons(book, scope, understood, as_of)
    return referrals.open_referrals(book, scope, understood, as_of)


def with_referrals(catalog: Catalog, answer: Answer, user: UserContext, now: dt.date | None = None) -> Answer:
    """An opportunity answer (facts or attach suggestions) shows the referrals on that opportunity, and an
    attach suggestion whose best partner leaves a gap proposes a complementary pair."""
    if answer.kind is AnswerKind.GAPS and answer.gaps and user.sees_pipeline:
        return _with_declines(catalog, answer)
    if answer.kind not in (AnswerKind.OPPORTUNITY, AnswerKind.ATTACH) or not answer.opportunities \
            or not user.sees_pipeline:
        return answer
    opportunity_id = answer.opportunities[0].opportunity_id
    book = referrals.book(catalog)
    found = book.by_opportunity.get(opportunity_id, [])
    as_of = now or today()
    notes = list(answer.notes)
    if found:
        lines = tuple(referrals.line(r, book, as_of) for r in sorted(found, key=lambda r: r.created or as_of,
                                                                         reverse=True))
        notes.append("Co-sell referrals on this opportunity: "
                     + "; ".join(f"{x.partner_name} {x.state}" for x in lines) + ".")
        answer = replace(answer, referrals=lines)
    if answer.kind is AnswerKind.ATTACH and answer.partners:
        pair = matchmaking.pair_note(catalog, answer.partners[0], catalog.opportunities.get(opportunity_id))
        if pair:
            notes.append(pair)
    return replace(answer, notes=tuple(notes))


def _with_declines(catalog: Catalog, answer: Answer) -> Answer:
    """Coverage gaps: where partners declined or lost referrals in the cells shown, and why (a gap the map
    alone does not show: partners on the map that turn the deals down)."""
    cells = {(c.workload, c.country) for c in answer.gaps}
    counts: dict[tuple[str, str], list[str]] = {}
    for r in referrals.book(catalog).all:
        if r.substatus in ("Declined", "Lost") and (r.workload, r.customer_country) in cells:
            counts.setdefault((r.workload, r.customer_country), []).append(r.decline_lost_reason or "no reason given")
    if not counts:
        return answer
    top = sorted(counts.items(), key=lambda kv: -len(kv[1]))[:5]
    note = ("Declined or lost co-sell referrals in these cells: "
            + "; ".join(f"{w} in {c}: {len(why)} ({', '.join(sorted(set(why)))})" for (w, c), why in top) + ".")
    return replace(answer, notes=answer.notes + (note,))


def sweep(catalog: Catalog, day: dt.date) -> Answer:
    """For the daily sweep: partner-led referrals waiting for Microsoft, and shares expiring unanswered."""
    defaults = words()["defaults"]
    stale_days, expiring_days = int(defaults["stale_days"]), int(defaults["expiring_days"])
    lines = referrals.sweep_lines(referrals.book(catalog), day, stale_days, expiring_days)
    waiting = sum(1 for x in lines if x.direction == "Partner-led")
    summary = (f"Referrals: {waiting} partner-led waiting more than {stale_days} days for Microsoft, "
               f"{len(lines) - waiting} shared with partners expiring within {expiring_days} days.")
    return Answer(AnswerKind.REFERRALS, "Referrals needing attention", summary, referrals=lines)
