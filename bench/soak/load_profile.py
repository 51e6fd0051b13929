"""What the soak asks of the bot: users, ramp, soak and tail lengths, the targets it is judged on, the knowledge it
serves and the edit that gives the live re-index work."""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import CATALOG_DEV

BENCH_DIR = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "partner-atlas-bench" / "soak"
RSS_SLOPE_LIMIT_MB_PER_MIN = 0.5
P95_TARGET_MS = 1000.0
REINDEX_BUDGET_S = 900.0
ADDED_DOCUMENT = "programs/soak-reindex-fy27-update.md"
CHANGED_DOCUMENT = "programs/ecif.md"


@dataclass(frozen=True)
class Plan:
    users: int = 50
    ramp_s: float = 60.0
    soak_s: float = 600.0
    warmup_s: float = 120.0
    tail_s: float = 60.0
    sample_every_s: float = 2.0
    think_s: tuple[float, float] = (1.0, 3.0)

    @classmethod
    def quick(cls) -> Plan:
        return cls(users=10, ramp_s=10.0, soak_s=60.0, warmup_s=15.0, tail_s=15.0)




def prepare_knowledge(target: Path) -> Path:
    """A fresh copy of catalog-dev's knowledge (mtimes kept, so an existing index of it stays unchanged)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(CATALOG_DEV / "knowledge", target)
    for path in [target, *target.rglob("*")]:       # ../shared is read-only: the copy must be writable
        path.chmod(path.stat().st_mode | 0o200)
    return target




def give_reindex_work(knowledge: Path) -> list[str]:
    """Add one program document and change another, as a knowledge admin's edit would: the index has work."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections = []
    for n, (area, workload) in enumerate([("Security", "Microsoft Sentinel"), ("Modern Work", "Microsoft Teams Phone"),
                                          ("Data & AI", "Azure AI Foundry"), ("Infrastructure", "Azure VMware Solution"),
                                          ("Business Applications", "Dynamics 365 Sales"),
                                          ("Digital & App Innovation", "GitHub Copilot")], 1):
        sections.append(
            f"## {area}: {workload} readiness offer\n\n"
            f"- Funding: partner-delivered readiness workshops for {workload}, up to USD {n * 5},000 per customer.\n"
            f"- Eligible partners: Solutions Partner designation in {area}, with at least one certified engineer.\n"
            f"- Customer segments: SMC and Enterprise; available in every country where {workload} is sold.\n"
            f"- How to request: the partner submits the workshop plan in Partner Center before delivery; the claim "
            f"follows within 30 days with the attendee list and the customer's sign-off.\n\n"
            f"Sellers should nominate customers whose {workload} adoption is below plan. Workshops cannot be "
            f"combined with another Microsoft-funded engagement for the same workload in the same quarter.\n")
    added = knowledge / ADDED_DOCUMENT
    added.write_text("---\ntitle: FY27 readiness workshop update\nprogram: Readiness workshops\nfiscal_year: FY27\n"
                     f"updated: {time.strftime('%Y-%m-%d')}\n---\n# FY27 readiness workshop update\n\n"
                     f"Published {stamp}. Readiness workshops help partners land new workloads with customers.\n\n"
                     + "\n".join(sections), encoding="utf-8")
    changed = knowledge / CHANGED_DOCUMENT
    changed.write_text(changed.read_text(encoding="utf-8")
                       + f"\n\nUpdated {stamp}: claims now need the customer's sign-off within 60 days.\n", encoding="utf-8")
    return [ADDED_DOCUMENT, CHANGED_DOCUMENT]
