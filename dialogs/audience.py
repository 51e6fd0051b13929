"""Who may read a recorded question later: the groups its content was restricted to when it was answered.

Readiness sessions (dialogs/sessions.py) and the knowledge-gaps log (dialogs/feedback.py) keep what was
asked and show it again later, to other people: the channel after a seller joined it, an admin in a 1:1
chat. What they show is checked against who reads it *then*, never against who asked. So each asking is
recorded with its restriction: a tuple of group sets, each of which the later reader must pass
(`UserContext.may_see`, i.e. the reader is in one of its groups and, in a group chat or channel, so is
everyone in it). An empty restriction: anyone may see it.

What restricts an asking (see the knowledge contract):
- pipeline content: an answer about opportunities (pipeline, attach, one opportunity, coverage gaps,
  decisions), a refusal to show them, a question that names an opportunity id, or a cited source under
  opportunities/ or referrals/: group "ecm";
- a partner's confidential notes shown in a profile: that partner's allowed_groups (its profile citation
  names it; notes that cannot be attributed are shown to no one);
- a passage of a confidential document: that document's allowed_groups (from the index);
- an answer kind this module does not know: "ecm" (in doubt, restrict).
The question text is restricted with its answer: "What is the status of OPP-… for <account>?" names the deal.
"""
from __future__ import annotations

import json
import weakref
from collections.abc import Iterable
from typing import Any

from retrieval.answers import Answer, AnswerKind, Fact, cited_sources
from retrieval.engine import PIPELINE_GROUP, UserContext
from retrieval.linking import link

Restriction = tuple[tuple[str, ...], ...]

# kinds whose content anyone may see (their confidential parts, if any, are found below)
OPEN_KINDS = frozenset({AnswerKind.COVERAGE, AnswerKind.SPECIALIZATION, AnswerKind.INCENTIVE, AnswerKind.DOCUMENT,
                        AnswerKind.PROFILE, AnswerKind.NO_MATCH, AnswerKind.CLARIFY})
PIPELINE_FOLDERS = ("opportunities/", "referrals/")
RESTRICTED_QUESTION = "(question restricted)"
RESTRICTED_ANSWER = "(answer restricted)"
NOBODY = "(nobody)"         # a group no one is in: what cannot be attributed is shown to no one

_confidential_paths: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, ...]]] = weakref.WeakKeyDictionary()


def restrictions(engine: object, question: str, answer: Answer | None) -> Restriction:
    """The groups a question and its answer were restricted to (see the module docstring); () for anyone."""
    if answer is None:
        return ()
    found: set[tuple[str, ...]] = set(kind_restriction(answer.kind.value))
    pipeline = (PIPELINE_GROUP,)
    if pipeline not in found and (answer.opportunities or answer.understood.opportunities
                                  or _names_an_opportunity(engine, question)):
        found.add(pipeline)
    catalog = getattr(engine, "catalog", None)
    for fact in answer.facts:
        if fact.confidential:
            found.add(_notes_groups(catalog, fact, answer))
    documents = _confidential_documents(engine)
    for citation in cited_sources(answer):
        if citation.path in documents:
            found.add(documents[citation.path])
        elif citation.path.startswith(PIPELINE_FOLDERS):
            found.add(pipeline)
    return tuple(sorted(found))


def kind_restriction(kind: str) -> Restriction:
    """What an answer kind alone restricts to: the pipeline's group for every kind but the open ones."""
    return () if kind in OPEN_KINDS or not kind else ((PIPELINE_GROUP,),)


def may_read(reader: UserContext | None, restricted_to: Iterable[Iterable[str]]) -> bool:
    """May this reader (and, in a group chat or channel, everyone in it) see an asking so restricted?"""
    groups = [tuple(g) for g in restricted_to]
    if not groups:
        return True
    return reader is not None and all(reader.may_see(g) for g in groups)


def dump(restricted_to: Restriction) -> str:
    return json.dumps([list(g) for g in restricted_to])


def load(stored: object) -> Restriction:
    """A stored restriction; anything unreadable restricts to the pipeline group (in doubt, restrict)."""
    try:
        value = json.loads(str(stored or "[]"))
        return tuple(tuple(str(g) for g in groups) for groups in value if groups)
    except (TypeError, ValueError):
        return ((PIPELINE_GROUP,),)


def _names_an_opportunity(engine: object, question: str) -> bool:
    catalog = getattr(engine, "catalog", None)
    if catalog is None or not question:
        return False
    try:
        linked = link(question, catalog)
    except Exception:  # noqa: BLE001 - in doubt, restrict
        return True
    return bool(linked.opportunity_ids or linked.unknown_opportunity_ids)


def _notes_groups(catalog: Any, fact: Fact, answer: Answer) -> tuple[str, ...]:
    """Who may see a confidential fact: the partner whose notes it is (its profile citation names it), the
    pipeline's group for an opportunity's facts, and no one when it cannot be attributed."""
    source = fact.source
    if source is not None and catalog is not None:
        # the partners whose profile file the citation names (the catalog's index by file: no scan)
        for partner in catalog.profiles_in(source.path):
            if source.title == f"{partner.name} profile":
                return tuple(sorted(partner.allowed_groups)) or (PIPELINE_GROUP,)
    if (source is not None and source.path.startswith(PIPELINE_FOLDERS)) or answer.kind not in OPEN_KINDS:
        return (PIPELINE_GROUP,)
    return (NOBODY,)


def _confidential_documents(engine: object) -> dict[str, tuple[str, ...]]:
    """{path: allowed groups} of the confidential documents in the engine's index (computed once per index)."""
    search = getattr(engine, "search", None)
    if search is None:
        return {}
    try:
        return _confidential_paths[search]
    except (KeyError, TypeError):
        pass
    paths: dict[str, tuple[str, ...]] = {}
    for chunk in getattr(search, "chunks", ()):
        if getattr(chunk, "visibility", "") == "confidential":
            paths[chunk.doc_path] = tuple(sorted(chunk.allowed_groups)) or (PIPELINE_GROUP,)
    try:
        _confidential_paths[search] = paths
    except TypeError:
        pass
    return paths
