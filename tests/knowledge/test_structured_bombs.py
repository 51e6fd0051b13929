"""YAML alias bombs and oversize structured files: refused and reported, the rest of the folder indexes.

A nine-level anchor chain used as a scalar (`name: *i`) is a few hundred bytes and, once anything turns
it into a string, hundreds of millions of values: `bot.py index` used to run for a minute, peak at
several GB and die with a MemoryError traceback. Every run here is a subprocess with a timeout and an
address-space limit (tests/knowledge/indexing.py), so a regression fails fast instead of taking the
machine with it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.structured_files import MAX_STRUCTURED_BYTES
from tests.factories import ECM, make_knowledge
from tests.knowledge.indexing import ask, index, partner_names, run_bot, summary

pytestmark = pytest.mark.slow          # each test runs `bot.py` as a process

REFUSED = "YAML aliases expand to more than"


def alias_bomb(levels: int = 9) -> str:
    """Anchors a..i, each a list of nine aliases of the one before: 9**9 strings once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        name, previous = chr(ord("a") + n), chr(ord("a") + n - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bombs_and_oversize_files_are_refused_and_the_rest_indexes(tmp_path: Path) -> None:
    kb = make_knowledge(tmp_path / "kb")
    (kb / "partners" / "P-9.yaml").write_text(alias_bomb() + "id: P-9\nname: *i\ncountries: [DE]\n")
    access = kb / "access.yaml"
    access.write_text(alias_bomb() + access.read_text())     # the ecm group is still there, behind the bomb
    (kb / "programs" / "incentives.yaml").write_text(alias_bomb() + "rules: [{id: BOMB, name: *i}]\n")
    (kb / "programs" / "faq.yml").write_text(alias_bomb() + "title: *i\nsections: []\n")
    with (kb / "partners" / "directory_export.json").open("wb") as huge:   # sparse: instant to write
        huge.truncate(MAX_STRUCTURED_BYTES + 1)
    # nesting that libyaml's recursive C composer cannot survive: a segmentation fault, not an exception
    (kb / "partners" / "deep.yaml").write_text("id: P-8\nname: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (kb / "partners" / "deep-block.yaml").write_text("- " * 100_000 + "P-7\n")

    run = index(kb, tmp_path / "index")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr + run.stdout and "MemoryError" not in run.stderr + run.stdout
    reported = summary(run.stdout)
    for rel in ("partners/P-9.yaml", "access.yaml", "programs/incentives.yaml", "programs/faq.yml"):
        assert [kind for kind, reason in reported.get(rel, []) if reason.startswith(REFUSED)] == ["skipped"], \
            (rel, reported.get(rel))
    assert reported["partners/directory_export.json"] == [("skipped", "file larger than 50 MB")]
    assert reported["partners/deep.yaml"] == [("skipped", "YAML nested too deeply")]
    assert reported["partners/deep-block.yaml"] == [("skipped", "YAML nested too deeply")]
    assert "records: 5 partners, 4 map rows, 0 incentive rules, 5 opportunities" in run.stdout

    aks = ask(kb, tmp_path / "index", "Which partners cover AKS in Germany?")
    assert set(partner_names(aks)) == {"Alpha Cloud", "Beta Systems"}
    # access.yaml was refused: its ecm member is nobody now, so the pipeline stays hidden (fails closed)
    opportunity = json.dumps(ask(kb, tmp_path / "index", "Suggest partners for opportunity OPP-100", user=ECM))
    assert "Account OPP-100" not in opportunity


def test_serve_without_an_index_reads_the_folder_within_bounds(tmp_path: Path) -> None:
    """No index yet: the engine reads the structured files itself, as `serve` does; the bomb costs nothing."""
    kb = make_knowledge(tmp_path / "kb")
    (kb / "partners" / "P-9.yaml").write_text(alias_bomb() + "id: P-9\nname: *i\n")
    run = run_bot("ask", "--knowledge", str(kb), "--index", str(tmp_path / "no-index"), "--embedder", "hashing",
                  "--json", "Which partners cover AKS in Germany?", memory_mb=768, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    assert {"Alpha Cloud", "Beta Systems"} <= set(partner_names(json.loads(run.stdout)))


def test_shared_anchors_for_defaults_still_load(tmp_path: Path) -> None:
    kb = make_knowledge(tmp_path / "kb")
    (kb / "partners" / "anchored.yaml").write_text(
        "- &base {type: Services, countries: [DE], workloads: [Azure Kubernetes Service], id: P-7, name: Zeta Anchored}\n"
        "- {<<: *base, id: P-6, name: Eta Anchored}\n")
    run = index(kb, tmp_path / "index")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "anchored.yaml" not in run.stdout and "records: 7 partners" in run.stdout
