"""The one place a question's Need is built: what is asked for, where, for whom, and every stated filter."""
from __future__ import annotations

from retrieval.linking import Linked
from retrieval.ranking import Need
from retrieval.understanding.constraints import Constraints


def constraints_of(linked: Linked) -> Constraints:
    found = linked.constraints
    return found if isinstance(found, Constraints) else Constraints()


def need_of(linked: Linked) -> Need:
    """Workloads (or else plays, or else areas), place, industry and segment as filters, partner filters,
    specializations / designations the partner must hold, and partners left out."""
    names = linked.names
    workloads, plays, areas = names("workload"), names("solution_play"), names("solution_area")
    constraints = constraints_of(linked)
    return Need(workloads=tuple(workloads), countries=linked.countries, industries=tuple(names("industry")),
                segments=tuple(names("segment")), solution_plays=tuple(plays) if not workloads else (),
                solution_areas=tuple(areas) if not (workloads or plays) else (),
                excluded_partners=frozenset(constraints.excluded), co_sell_ready=constraints.co_sell_ready,
                min_capacity=constraints.min_capacity, role=constraints.role,
                holds=tuple(names("specialization") + names("designation")), top_n=constraints.top_n,
                order=constraints.order)
