"""Confidential notes of one partner in a shared partners.json: attributed to that partner (dialogs/audience.py looks
the profile file up in the catalog's index by file, Catalog.profiles_in)."""
from __future__ import annotations

import json
from pathlib import Path

from dialogs import audience
from knowledge.loader import load_knowledge
from retrieval.answers import Answer, AnswerKind, Citation, Fact, Understood
from retrieval.catalog import Catalog
from tests.factories import default_partners, make_knowledge, partner


def test_notes_in_a_shared_profile_file_are_restricted_to_that_partners_groups(tmp_path: Path) -> None:
    root = make_knowledge(tmp_path / "kb", partners=default_partners()[:1])
    shared = [partner("P-8", "Eta Cloud"), partner("P-9", "Theta Data", notes_confidential="Review.",
                                                   allowed_groups=["admins"])]
    (root / "partners" / "partners.json").write_text(json.dumps(shared))
    catalog = Catalog(load_knowledge(root, documents=False))

    class Engine:
        pass

    engine = Engine()
    engine.catalog = catalog  # type: ignore[attr-defined]

    def notes_of(title: str) -> Answer:
        fact = Fact("Internal notes", "Review.", True, Citation(title, "partners/partners.json", "item 2"))
        return Answer(AnswerKind.PROFILE, "Theta Data", "", Understood(question="notes"), facts=(fact,))

    assert audience.restrictions(engine, "notes", notes_of("Theta Data profile")) == (("admins",),)
    assert audience.restrictions(engine, "notes", notes_of("Eta Cloud profile")) == (("ecm",),)
    assert audience.restrictions(engine, "notes", notes_of("Someone Else profile")) == ((audience.NOBODY,),)
