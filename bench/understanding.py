"""How well questions are understood: per-kind accuracy on the check half of the paraphrase bank.

    python -m bench.understanding [--all] [--no-english] [--quiet]

The check half of `retrieval/data/intent/paraphrases.yaml` is never used by the classifier. Each question is
linked against the sample knowledge folder plus the bank's invented partners (written into a temporary copy,
on the map for the workloads and countries their questions name), then routed as the engine routes it:

* intent – the kind read (the classifier's best among the kinds the linked facts allow) equals the label;
* route  – the composed answer is the expected one (an opportunity question -> the opportunity path, …),
           which is what a user sees; the facts can correct the classifier (two named partners, an id);
* facts  – the labelled workload, country and partners were all linked (linking, not intent).

Also prints the per-question cost of understanding (linking + masking + one embedding + kNN) as p50/p95 ms.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from retrieval.linking import link
from retrieval.understanding.intent import INTENTS, Example, IntentClassifier, load_examples, shared_classifier
from retrieval.understanding.routing import choose, facts_of, settle

SAMPLE = Path(__file__).resolve().parents[1] / "knowledge" / "sample"
EXPECTED_ROUTE = {"attach": "opportunity", "opportunity": "opportunity"}
_PARTNER_KEYS = ("partner", "partners", "exclude")


@dataclass
class KindScore:
    n: int = 0
    intent: int = 0
    route: int = 0
    facts: int = 0
    misses: list[str] = field(default_factory=list)


def _invented_partners(examples: Iterable[Example], known: set[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Partner names the bank uses that the sample lacks -> (workload, countries) their questions name."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for example in examples:
        names = [n for key in _PARTNER_KEYS for n in _as_list(example.facts.get(key))]
        for name in names:
            if name.lower() in known:
                continue
            rows = out.setdefault(name, [])
            workload = example.facts.get("workload")
            countries = _as_list(example.facts.get("country"))
            if workload and countries and (workload, countries) not in rows:
                rows.append((str(workload), countries))
    return out


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def bank_knowledge(folder: Path, examples: list[Example] | None = None) -> Path:
    """The sample knowledge folder copied to `folder`, with the bank's invented partners added."""
    examples = examples if examples is not None else load_examples()
    shutil.copytree(SAMPLE, folder, dirs_exist_ok=True)
    sample = Catalog(load_knowledge(SAMPLE, documents=False))
    known = {p.name.lower() for p in sample.partners.values()}
    map_path = next((folder / "solution_maps").glob("*.csv"))
    with map_path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    plays = {r.workload: (r.solution_play, r.solution_area) for r in sample.map_rows}
    rows: list[dict[str, str]] = []
    for number, (name, needs) in enumerate(sorted(_invented_partners(examples, known).items()), 1):
        pid = f"P-90{number:02d}"
        countries = sorted({c for _, cs in needs for c in cs} | {"DE"})
        workloads = sorted({w for w, _ in needs} | {"Azure Kubernetes Service"})
        profile = {"id": pid, "name": name, "type": "Services", "hq_country": countries[0], "countries": countries,
                   "description": f"{name} is a services partner.", "designations": ["Solutions Partner for Security"],
                   "specializations": [], "azure_expert_msp": False, "industries": ["Retail"],
                   "segments": ["Enterprise", "SMC"], "workloads": workloads, "co_sell_ready": number % 2 == 1,
                   "marketplace_offers": [], "capacity": {"certified_staff": 40, "available_consultants_90d": 5},
                   "contacts": {"pdm": "Kim Lee", "pdm_email": f"pdm-{pid}@example.com",
                                "partner_email": "alliances@example.com"}, "wins": [], "updated": "2026-09-01"}
        (folder / "partners" / f"{pid}.yaml").write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
        for workload, where in needs:
            play, area = plays.get(workload, ("", ""))
            rows.append({"solution_area": area, "solution_play": play, "workload": workload, "partner_id": pid,
                         "partner_name": name, "role": "Lead", "countries": ";".join(where), "industries": "Retail",
                         "segments": "Enterprise;SMC", "fiscal_year": "FY27", "notes": ""})
    with map_path.open("a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writerows(rows)
    return folder


def _facts_linked(example: Example, engine: KnowledgeEngine) -> bool:
    linked = link(example.text, engine.catalog)
    want_workload = example.facts.get("workload")
    if want_workload and want_workload not in linked.names("workload") + linked.names("solution_play"):
        return False
    countries = set(_as_list(example.facts.get("country")))
    if countries and not countries <= set(linked.countries):
        return False
    wanted = {n.lower() for key in ("partner", "partners") for n in _as_list(example.facts.get(key))}
    named = {engine.catalog.partner_name(p).lower() for p in linked.names("partner")}
    return wanted <= named


def evaluate(engine: KnowledgeEngine, examples: list[Example], classifier: IntentClassifier | None = None,
             ) -> tuple[dict[str, KindScore], list[float]]:
    """Score `examples` as the engine understands them (or with `classifier` in place of the shared one)."""
    scores: dict[str, KindScore] = defaultdict(KindScore)
    costs: list[float] = []
    for example in examples:
        started = time.perf_counter()
        linked = link(example.text, engine.catalog)
        if classifier is None:
            kind, confidence = engine.intent_of(example.text, linked)
        else:
            intent = classifier.classify(example.text, engine.catalog.vocabulary)
            kind, confidence = settle(tuple(k for k, _ in intent.scores), facts_of(linked)), intent.confidence
        route = choose(kind, facts_of(linked), confidence)
        costs.append((time.perf_counter() - started) * 1000)
        score = scores[example.kind]
        score.n += 1
        score.intent += kind == example.kind
        right = route == EXPECTED_ROUTE.get(example.kind, example.kind)
        score.route += right
        score.facts += _facts_linked(example, engine)
        if not right:
            score.misses.append(f"{example.text!r} -> {kind}/{route}")
    return scores, costs


def check_engine(folder: Path) -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(bank_knowledge(folder), documents=False)), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="score the tuning half too (not a fair figure)")
    parser.add_argument("--quiet", action="store_true", help="no list of misses")
    parser.add_argument("--no-english", action="store_true",
                        help="embed foreign question words as typed (to measure what the word list adds)")
    args = parser.parse_args(argv)
    examples = [e for e in load_examples() if args.all or not e.tuning]
    with tempfile.TemporaryDirectory(prefix="understanding-") as tmp:
        engine = check_engine(Path(tmp) / "knowledge")
        if shared_classifier() is None:
            print("the embedding model is not installed: routing from the linked facts alone")
        classifier = None
        if args.no_english:
            from retrieval.embeddings import make_embedder  # noqa: PLC0415

            model = make_embedder("minilm")
            classifier = IntentClassifier(model.embed_array, str(getattr(model, "model_id", "minilm")),  # type: ignore[attr-defined]
                                          english=False)
        engine.intent_of("warm up", link("warm up", engine.catalog))
        scores, costs = evaluate(engine, examples, classifier)
    print(f"{'kind':<15} {'n':>3} {'intent':>7} {'route':>7} {'facts':>7}")
    for kind in INTENTS:
        s = scores.get(kind)
        if s and s.n:
            print(f"{kind:<15} {s.n:>3} {s.intent / s.n:>7.3f} {s.route / s.n:>7.3f} {s.facts / s.n:>7.3f}")
    n = sum(s.n for s in scores.values())
    print(f"{'overall':<15} {n:>3} {sum(s.intent for s in scores.values()) / n:>7.3f} "
          f"{sum(s.route for s in scores.values()) / n:>7.3f} {sum(s.facts for s in scores.values()) / n:>7.3f}")
    ordered = sorted(costs)
    print(f"understanding cost per question: p50 {statistics.median(ordered):.1f} ms, "
          f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms (linking + masking + embedding + kNN, uncached)")
    if not args.quiet:
        for kind in INTENTS:
            for miss in scores.get(kind, KindScore()).misses:
                print(f"  miss {kind}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
