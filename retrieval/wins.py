"""Customer wins as sell-with evidence: wins listed in partner profiles (public) and won co-sell
referrals (channel managers only), filtered strictly by workload, industry, place and partner.

A stated filter is strict: a win that does not record the field asked about (no industry, no country)
does not match it, because it cannot be shown to fit.
"""
from __future__ import annotations

from dataclasses import dataclass

from retrieval import referrals as referral_book
from retrieval.answers import Answer, AnswerKind, Understood, WinLine
from retrieval.catalog import Catalog
from retrieval.ranking import profile_citation

MAX_WINS = 30


@dataclass(frozen=True)
class WinFilter:
    workloads: tuple[str, ...] = ()
    plays: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    partner_ids: tuple[str, ...] = ()

    def fits(self, workload: str, play: str, industry: str, country: str, partner_id: str) -> bool:
        if (self.workloads or self.plays) and not (workload in self.workloads or (play and play in self.plays)):
            return False
        if self.industries and industry.lower() not in {i.lower() for i in self.industries}:
            return False
        if self.countries and country not in self.countries:
            return False
        return not self.partner_ids or partner_id in self.partner_ids


def customer_wins(catalog: Catalog, wanted: WinFilter, understood: Understood, *, with_referrals: bool) -> Answer:
    """Wins that fit every stated filter, newest first; won referrals only when `with_referrals`."""
    lines: list[WinLine] = []
    seen: set[tuple[str, str, str]] = set()
    for partner in catalog.partners.values():
        for win in partner.wins:
            play = catalog.play_of.get(win.workload, "")
            if not win.customer or not wanted.fits(win.workload, play, win.industry, win.country, partner.id):
                continue
            key = (win.customer.lower(), partner.id, win.workload)
            if key not in seen:
                seen.add(key)
                lines.append(WinLine(win.customer, partner.name, win.workload, win.industry, win.country, win.year,
                                     "profile", profile_citation(partner, f"wins: {win.customer}")))
    from_referrals = 0
    if with_referrals:
        referrals = referral_book.book(catalog)
        for r in referrals.all:
            pid = referrals.partner_id(r)
            if not r.won or not r.customer_name or not wanted.fits(r.workload, r.solution_play, r.industry,
                                                                   r.customer_country, pid):
                continue
            key = (r.customer_name.lower(), pid, r.workload)
            if key in seen:
                continue
            seen.add(key)
            when = r.updated or r.estimated_close_date or r.created
            lines.append(WinLine(r.customer_name, referrals.partner_name(r), r.workload, r.industry,
                                 r.customer_country, when.year if when else None, r.referral_id,
                                 referral_book.citation(r)))
            from_referrals += 1
    lines.sort(key=lambda w: (-(w.year or 0), w.customer.lower()))
    scope = understood.describe() or "your filters"
    notes = () if with_referrals else (
        "Wins from partner profiles only: won co-sell referrals are confidential and shown to channel managers "
        "in a 1:1 chat.",)
    if not lines:
        return Answer(AnswerKind.WINS, f"Customer wins: {scope}",
                      f"No customer win matches {scope} in the partner profiles"
                      + (" or the won co-sell referrals." if with_referrals else "."), understood, notes=notes,
                      suggestions=_wider(understood))
    shown = lines[:MAX_WINS]
    partners = len({w.partner_name for w in lines})
    summary = (f"{len(lines)} customer win{'s' if len(lines) != 1 else ''} by {partners} partner"
               f"{'s' if partners != 1 else ''} for {scope}"
               + (f" ({len(lines) - from_referrals} from partner profiles, {from_referrals} from won co-sell "
                  "referrals)" if with_referrals else "") + ", newest first.")
    return Answer(AnswerKind.WINS, f"Customer wins: {scope}", summary, understood, wins=tuple(shown),
                  total=len(lines) if len(shown) < len(lines) else None, notes=notes,
                  citations=tuple(dict.fromkeys(w.citation for w in shown if w.citation is not None)))


def _wider(understood: Understood) -> tuple[str, ...]:
    """Ask again with one filter fewer."""
    out = []
    for workload in understood.workloads[:1]:
        out.append(f"Customer wins for {workload}")
    return tuple(out)

