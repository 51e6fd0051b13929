"""Near-duplicate clustering quality on the dev questions: `python -m bench.clusters [--index DIR]`.

The readiness-session digest groups questions with retrieval/clustering.py. This measures that rule on
the dev material, with the engine the bot runs (MiniLM vectors + the linker's facts):

* paraphrases: each FAQ entry of ../shared/eval/faq_dev.jsonl as the user typed it and as the FAQ
  states it ("quick q - what's actually changing with the AI Cloud Partner Program?" vs "How are the
  Microsoft AI Cloud Partner Program programs changing?"): 2 questions per true cluster;
* hard negatives: the 108 catalog-dev questions, many differing only in the country, the workload or
  the opportunity id ("… Defender XDR in Brazil?" / "… in Denmark?"); the few that ask the same thing
  in other words ("Swiss partner for Entra ID?" / "… for Microsoft Entra ID?") count as one.

Reported per threshold: clusters found for the true clusters, same-question pairs recovered (recall), and
pairs of different questions merged (false merges; precision over merged pairs), for cosine alone and
for cosine + facts (what the bot uses). Writes bench/clusters.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import CATALOG_DEV, FAQ_QUESTIONS, load_questions
from dialogs.sessions import answer_key, answer_sources
from retrieval.clustering import DUPLICATE_COSINE, Signature, cluster, cosine, signature

THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def _signatures(engine: Any, texts: list[str], *, use_facts: bool) -> list[Signature]:
    """As the bot makes them in a channel session: the answer's kind and understood facts, and the vector."""
    user = engine.user_context(None, conversation_type="channel")
    out = []
    for text in texts:
        answer = engine.answer(text, user)
        # as dialogs/sessions.py does: a refusal's facts come from the question itself
        understood = engine.understand(text) if answer.kind.value == "denied" else answer.understood
        sig = signature(text, engine.embed(text), understood, answer.kind.value,
                        answer_key(answer.title, answer_sources(answer)))
        out.append(sig if use_facts else Signature(sig.text, sig.vector))
    return out


def evaluate(signatures: list[Signature], truth: list[int], threshold: float) -> dict[str, Any]:
    clusters = cluster(signatures, threshold)
    found = {i: c for c, members in enumerate(clusters) for i in members}
    same_pairs = [(a, b) for a, b in itertools.combinations(range(len(truth)), 2) if truth[a] == truth[b]]
    merged = [(a, b) for members in clusters for a, b in itertools.combinations(sorted(members), 2)]
    recovered = sum(found[a] == found[b] for a, b in same_pairs)
    false_merges = [(a, b) for a, b in merged if truth[a] != truth[b]]
    return {"threshold": threshold, "questions": len(truth), "true_clusters": len(set(truth)),
            "clusters": len(clusters), "paraphrase_pairs": len(same_pairs), "pairs_recovered": recovered,
            "recall": round(recovered / max(1, len(same_pairs)), 3), "merged_pairs": len(merged),
            "false_merges": len(false_merges),
            "precision": round(1 - len(false_merges) / max(1, len(merged)), 3), "false_merge_examples": false_merges[:5]}


def run(index_dir: Path) -> dict[str, Any]:
    from retrieval.indexer import build_index  # noqa: PLC0415
    from retrieval.loading import load_engine  # noqa: PLC0415

    knowledge = CATALOG_DEV / "knowledge"
    build_index(knowledge, index_dir, embedder="minilm", progress=False)   # incremental: seconds when unchanged
    engine = load_engine(knowledge, index_dir)
    faq = load_questions(FAQ_QUESTIONS, kind="faq")
    dev = load_questions(CATALOG_DEV / "questions.jsonl")
    texts: list[str] = []
    truth: list[int] = []
    for n, q in enumerate(faq):
        texts += [q["question"], q["original_question"]]
        truth += [n, n]
    # Two dev questions are the same question when they ask the same kind of thing about the same facts and
    # expect the same answer ("Swiss partner for Entra ID?" / "… Microsoft Entra ID?"); the `industry` field is
    # left out: the generator sets it on some questions whose text does not say it.
    keys: dict[tuple[object, ...], int] = {}
    for q in dev:
        key = (q["kind"], *(str(q.get(f)) for f in ("workload", "country", "specialization", "opportunity", "partner",
                                                     "segment", "value", "as_group")),
               *(tuple(sorted(q.get(f) or ())) for f in ("expect_partners", "expect_programs", "expect_opportunities")))
        texts.append(q["question"])
        truth.append(keys.setdefault(key, len(faq) + len(keys)))
    out: dict[str, Any] = {"paraphrase_clusters": len(faq), "dev_questions": len(dev), "dev_clusters": len(keys),
                           "bot_threshold": DUPLICATE_COSINE}
    for label, use_facts in (("cosine + facts (the bot)", True), ("cosine alone", False)):
        sigs = _signatures(engine, texts, use_facts=use_facts)
        rows = [evaluate(sigs, truth, t) for t in THRESHOLDS]
        for row in rows:
            row["false_merge_examples"] = [(texts[a], texts[b], round(cosine(sigs[a].vector, sigs[b].vector), 3))
                                           for a, b in row["false_merge_examples"]]
        out[label] = rows
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Near-duplicate clustering on {r['paraphrase_clusters']} FAQ paraphrase pairs "
             f"({2 * r['paraphrase_clusters']} questions) + {r['dev_questions']} catalog-dev questions "
             f"({r['dev_clusters']} different questions); the bot uses cosine ≥ {r['bot_threshold']} + facts.", "",
             "| rule | cosine ≥ | clusters (true: " + str(r["paraphrase_clusters"] + r["dev_clusters"]) + ") | "
             "same-question pairs recovered | false merges (of merged pairs) | precision |",
             "|---|---:|---:|---:|---:|---:|"]
    for label in ("cosine + facts (the bot)", "cosine alone"):
        for row in r[label]:
            lines.append(f"| {label} | {row['threshold']:.2f} | {row['clusters']} | {row['pairs_recovered']}/"
                         f"{row['paraphrase_pairs']} ({100 * row['recall']:.0f} %) | {row['false_merges']}/"
                         f"{row['merged_pairs']} | {100 * row['precision']:.0f} % |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "partner-atlas-bench" / "clusters-index")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "clusters.json")
    args = parser.parse_args()
    results = run(args.index)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(markdown(results))
    for row in results["cosine + facts (the bot)"]:
        if row["threshold"] == results["bot_threshold"] and row["false_merge_examples"]:
            print("false merges at the bot's threshold:", *row["false_merge_examples"], sep="\n  ")


if __name__ == "__main__":
    main()
