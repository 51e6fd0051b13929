"""Co-sell referrals for channel managers: what waits for Microsoft, what is about to expire unanswered,
partner-led deals with no Microsoft opportunity, where the referrals on a deal or with a partner stand,
and why partners decline or lose them.

Every function here assumes the caller may see referrals (UserContext.sees_pipeline): the route checks
that once, before any of them runs (retrieval/referral_route.py).
"""
from __future__ import annotations

import datetime as dt
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from knowledge.display import format_amount
from knowledge.geography import country_name
from knowledge.records import Referral
from retrieval.answers import Answer, AnswerKind, Citation, Fact, ReferralLine, Understood
from retrieval.catalog import Catalog, normalize

MAX_LINES = 25
_BOOKS: weakref.WeakKeyDictionary[Catalog, ReferralBook] = weakref.WeakKeyDictionary()


class ReferralBook:
    """The referrals of one catalog, indexed by id, by linked opportunity and by partner.

    It refers to its catalog weakly: `_BOOKS` keeps a book as long as its catalog lives, and a book that
    held the catalog would keep every replaced catalog (and its pipeline) in memory for good."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = weakref.ref(catalog)
        self.all: list[Referral] = list(getattr(catalog.knowledge, "referrals", []) or [])
        self.by_id = {r.referral_id: r for r in self.all}
        self.by_opportunity: dict[str, list[Referral]] = defaultdict(list)
        self.by_partner: dict[str, list[Referral]] = defaultdict(list)
        for r in self.all:
            if r.crm_id:
                self.by_opportunity[r.crm_id].append(r)
            self.by_partner[self.partner_id(r)].append(r)

    @property
    def catalog(self) -> Catalog:
        catalog = self._catalog()
        if catalog is None:
            raise ReferenceError("the catalog of this referral book was replaced")
        return catalog

    def partner_id(self, referral: Referral) -> str:
        if referral.partner_id:
            return referral.partner_id
        partner = self.catalog.partner_by_name.get(normalize(referral.partner_name))
        return partner.id if partner else referral.partner_name

    def partner_name(self, referral: Referral) -> str:
        return referral.partner_name or self.catalog.partner_name(referral.partner_id)


def book(catalog: Catalog) -> ReferralBook:
    """The catalog's referral book, built on first use (the catalog is read-only, so it never goes stale)."""
    found = _BOOKS.get(catalog)
    if found is None:
        found = _BOOKS[catalog] = ReferralBook(catalog)
    return found


@dataclass(frozen=True)
class Scope:
    """The filters a question states: place, workload / play, industry, partner, seller, direction."""

    countries: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    plays: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    partner_ids: tuple[str, ...] = ()
    seller: str = ""
    direction: str = ""              # Incoming | Outgoing | "" (both)

    def fits(self, r: Referral, referrals: ReferralBook) -> bool:
        if self.countries and r.customer_country not in self.countries:
            return False
        if (self.workloads or self.plays) and not (r.workload in self.workloads or r.solution_play in self.plays):
            return False
        if self.industries and r.industry.lower() not in {i.lower() for i in self.industries}:
            return False
        if self.partner_ids and referrals.partner_id(r) not in self.partner_ids:
            return False
        if self.seller and r.seller_email.lower() != self.seller.lower():
            return False
        return not self.direction or r.direction == self.direction


def citation(r: Referral) -> Citation:
    return Citation(f"Co-sell referral {r.referral_id}", r.source.path, r.source.locator)


def _value(r: Referral) -> str:
    return format_amount(r.estimated_value, r.currency)


def _days(n: int, unit: str = "day") -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def waiting_text(r: Referral, as_of: dt.date) -> str:
    if r.waits_for_microsoft and r.created:
        return f"waiting {_days((as_of - r.created).days)} for a Microsoft response"
    if r.waits_for_partner and r.expiration:
        left = (r.expiration - as_of).days
        return f"expires in {_days(left)}" if left > 0 else ("expires today" if left == 0 else
                                                              f"expired {_days(-left)} ago")
    return ""


def line(r: Referral, referrals: ReferralBook, as_of: dt.date) -> ReferralLine:
    return ReferralLine(
        referral_id=r.referral_id, direction="Partner-led" if r.partner_led else "Microsoft-led",
        partner_name=referrals.partner_name(r), customer=r.customer_name,
        country=r.customer_country, workload=r.workload, state=r.state, value=_value(r),
        created=r.created.isoformat() if r.created else "",
        expiration=r.expiration.isoformat() if r.expiration else "", crm_id=r.crm_id, seller=r.seller_email,
        reason=r.decline_lost_reason, waiting=waiting_text(r, as_of), citation=citation(r))


def _scope_text(understood: Understood, scope: Scope) -> str:
    bits = [understood.describe()] if understood.describe() else []
    if scope.seller:
        bits.append(f"seller {scope.seller}")
    return f" ({' · '.join(bits)})" if bits else ""


def _listing(kind_title: str, found: list[Referral], referrals: ReferralBook, understood: Understood, scope: Scope,
             as_of: dt.date, empty: str, found_text: Callable[[int], str], notes: Iterable[str] = ()) -> Answer:
    where = _scope_text(understood, scope)
    title = f"{kind_title}{where}"
    if not found:
        return Answer(AnswerKind.REFERRALS, title, f"{empty}{where}.",
                      understood, notes=tuple(notes))
    shown = found[:MAX_LINES]
    return Answer(AnswerKind.REFERRALS, title, found_text(len(found)), understood,
                  referrals=tuple(line(r, referrals, as_of) for r in shown),
                  total=len(found) if len(shown) < len(found) else None, notes=tuple(notes))


def stale(referrals: ReferralBook, scope: Scope, understood: Understood, as_of: dt.date, days: int) -> Answer:
    """Partner-led referrals still waiting for a Microsoft response after more than `days` days."""
    found = sorted((r for r in referrals.all if r.waits_for_microsoft and r.created and (as_of - r.created).days > days
                    and scope.fits(r, referrals)), key=lambda r: (r.created, r.referral_id))
    return _listing("Partner-led referrals waiting for Microsoft", found, referrals, understood, scope, as_of,
                    f"No partner-led referral has waited more than {_days(days)} for a Microsoft response "
                    f"as of {as_of.isoformat()}",
                    lambda n: f"{n} partner-led referral{'s have' if n != 1 else ' has'} waited more than "
                              f"{_days(days)} for a Microsoft response as of {as_of.isoformat()}, oldest first. "
                              "Accept or decline them in Partner Center so the partner hears back.")


def expiring(referrals: ReferralBook, scope: Scope, understood: Understood, as_of: dt.date, days: int) -> Answer:
    """Referrals Microsoft shared that still wait for the partner and expire within `days` days."""
    until = as_of + dt.timedelta(days=days)
    found = sorted((r for r in referrals.all if r.waits_for_partner and r.expiration and as_of <= r.expiration <= until
                    and scope.fits(r, referrals)), key=lambda r: (r.expiration, r.referral_id))
    return _listing("Shared referrals about to expire", found, referrals, understood, scope, as_of,
                    f"No referral shared with a partner expires unanswered within {_days(days)} of {as_of.isoformat()}",
                    lambda n: f"{n} referral{'s' if n != 1 else ''} Microsoft shared still wait{'' if n != 1 else 's'} "
                              f"for the partner and expire{'' if n != 1 else 's'} by {until.isoformat()}, soonest "
                              "first. Nudge the partner, or share the deal with another one.")


def unlinked(referrals: ReferralBook, scope: Scope, understood: Understood, as_of: dt.date) -> Answer:
    """Open partner-led referrals with no Microsoft opportunity (CRM ID) yet."""
    found = sorted((r for r in referrals.all if r.partner_led and not r.closed and not r.crm_id
                    and scope.fits(r, referrals)), key=lambda r: (r.created or as_of, r.referral_id))
    return _listing("Partner-led deals without a Microsoft opportunity", found, referrals, understood, scope, as_of,
                    "Every open partner-led referral has a Microsoft opportunity (CRM ID)",
                    lambda n: f"{n} open partner-led referral{'s have' if n != 1 else ' has'} no Microsoft "
                              "opportunity (no CRM ID) yet, oldest first: a seller should pick "
                              f"{'them' if n != 1 else 'it'} up in MSX.")


def open_referrals(referrals: ReferralBook, scope: Scope, understood: Understood, as_of: dt.date) -> Answer:
    found = sorted((r for r in referrals.all if not r.closed and scope.fits(r, referrals)),
                   key=lambda r: (r.created or as_of, r.referral_id), reverse=True)
    return _listing("Open co-sell referrals", found, referrals, understood, scope, as_of,
                    "No open co-sell referral matches",
                    lambda n: f"{n} open co-sell referral{'s match' if n != 1 else ' matches'}, newest first.")


def on_opportunities(referrals: ReferralBook, opportunity_ids: list[str], understood: Understood,
                     as_of: dt.date) -> Answer:
    """Where the referrals on one or more opportunities stand, newest first."""
    found = [r for oid in opportunity_ids for r in sorted(referrals.by_opportunity.get(oid, []),
                                                          key=lambda r: (r.created or as_of, r.referral_id),
                                                          reverse=True)]
    ids = ", ".join(opportunity_ids)
    opportunity = referrals.catalog.opportunities.get(opportunity_ids[0])
    cites = (Citation(f"Pipeline {opportunity.id}", opportunity.source.path, opportunity.source.locator),) \
        if opportunity else ()
    if not found:
        return Answer(AnswerKind.REFERRALS, f"Referrals on {ids}",
                      f"{ids} has not been shared with a partner: no co-sell referral is linked to it (CRM ID).",
                      understood, citations=cites, suggestions=tuple(f"Suggest partners for {o}" for o in opportunity_ids[:1]))
    lines = tuple(line(r, referrals, as_of) for r in found)
    states = "; ".join(f"{r.partner_name}: {r.state}" for r in lines)
    summary = (f"{ids} has {len(lines)} co-sell referral{'s' if len(lines) != 1 else ''} ({states}).")
    return Answer(AnswerKind.REFERRALS, f"Referrals on {ids}", summary, understood, referrals=lines,
                  citations=cites + tuple(line.citation for line in lines if line.citation))


def by_ids(referrals: ReferralBook, ids: tuple[str, ...], understood: Understood, as_of: dt.date) -> Answer:
    found = [referrals.by_id[i] for i in ids if i in referrals.by_id]
    lines = tuple(line(r, referrals, as_of) for r in found)
    facts: list[Fact] = []
    for r in found:
        opp = referrals.catalog.opportunities.get(r.crm_id) if r.crm_id else None
        source = citation(r)
        facts += [Fact(f"{r.referral_id} deal", r.deal_name, True, source),
                  Fact(f"{r.referral_id} opportunity",
                       (f"{r.crm_id} ({opp.account}, {opp.stage})" if opp else r.crm_id) or "none yet (no CRM ID)",
                       True, source),
                  Fact(f"{r.referral_id} help requested", "; ".join(r.help_requested), True, source)]
    summary = "; ".join(f"{x.referral_id} ({x.direction}, {x.partner_name}, {x.customer}): {x.state}" for x in lines)
    return Answer(AnswerKind.REFERRALS, f"Referral {', '.join(ids)}", summary + ".", understood, referrals=lines,
                  facts=tuple(f for f in facts if f.value))


def with_partners(referrals: ReferralBook, partner_ids: list[str], scope: Scope, understood: Understood,
                  as_of: dt.date) -> Answer:
    found = sorted((r for pid in partner_ids for r in referrals.by_partner.get(pid, []) if scope.fits(r, referrals)),
                   key=lambda r: (r.closed, -(r.created or as_of).toordinal(), r.referral_id))
    names = ", ".join(referrals.catalog.partner_name(p) for p in partner_ids)
    if not found:
        return Answer(AnswerKind.REFERRALS, f"Referrals with {names}",
                      f"No co-sell referral with {names} in the referrals export.", understood)
    counts = Counter(r.state for r in found)
    summary = (f"{len(found)} co-sell referral{'s' if len(found) != 1 else ''} with {names}: "
               + ", ".join(f"{n} {state}" for state, n in counts.most_common()) + ". Open ones first.")
    shown = found[:MAX_LINES]
    return Answer(AnswerKind.REFERRALS, f"Referrals with {names}", summary, understood,
                  referrals=tuple(line(r, referrals, as_of) for r in shown),
                  total=len(found) if len(shown) < len(found) else None)


def reasons(referrals: ReferralBook, scope: Scope, understood: Understood, as_of: dt.date) -> Answer:
    """Declined and lost referrals, counted by reason, partner, workload and country."""
    found = [r for r in referrals.all if r.substatus in ("Declined", "Lost") and scope.fits(r, referrals)]
    where = _scope_text(understood, scope)
    if not found:
        return Answer(AnswerKind.REFERRALS, f"Declined and lost referrals{where}",
                      "No declined or lost referral matches.", understood)
    facts: list[Fact] = []
    for label, key in (("Reason", lambda r: r.decline_lost_reason or "no reason given"),
                       ("Partner", referrals.partner_name), ("Workload", lambda r: r.workload or "unknown"),
                       ("Country", lambda r: country_name(r.customer_country) or "unknown")):
        counts = Counter(key(r) for r in found)
        facts.append(Fact(f"By {label.lower()}", "; ".join(f"{k}: {n}" for k, n in counts.most_common(8)), True))
    declined = sum(r.substatus == "Declined" for r in found)
    top = Counter(r.decline_lost_reason or "no reason given" for r in found).most_common(1)[0]
    summary = (f"{declined} declined and {len(found) - declined} lost referrals{where}; the most common reason is "
               f"“{top[0]}” ({top[1]}).")
    workloads = Counter(r.workload for r in found if r.workload).most_common(1)
    suggestions = (f"Coverage gaps for {workloads[0][0]}",) if workloads else ()
    shown = sorted(found, key=lambda r: (r.updated or as_of), reverse=True)[:MAX_LINES]
    return Answer(AnswerKind.REFERRALS, f"Declined and lost referrals{where}", summary, understood,
                  facts=tuple(facts), referrals=tuple(line(r, referrals, as_of) for r in shown),
                  total=len(found) if len(shown) < len(found) else None, suggestions=suggestions,
                  notes=("Declines for lack of fit or capacity point at coverage gaps: compare with the coverage-gap "
                         "view for the same workload and country.",))


def sweep_lines(referrals: ReferralBook, as_of: dt.date, stale_days: int, expiring_days: int,
                limit: int = 10) -> tuple[ReferralLine, ...]:
    """For the daily sweep: the longest-waiting partner-led referrals and the shares expiring soonest."""
    scope = Scope()
    waiting = stale(referrals, scope, Understood(), as_of, stale_days).referrals
    ending = expiring(referrals, scope, Understood(), as_of, expiring_days).referrals
    return tuple(ending[:limit]) + tuple(waiting[:limit])
