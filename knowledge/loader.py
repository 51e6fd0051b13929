"""Reading a whole knowledge folder into typed records, reporting what was skipped and why.

Every part of the folder is optional, but a folder with nothing readable is an error. A file that
cannot be read is recorded as a `FileIssue` and skipped; the rest of the folder still loads.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, cast

from knowledge.folder import NotRegularFileError, list_folder
from knowledge.geography import region_codes
from knowledge.headers import MAP_COLUMNS, OPPORTUNITY_COLUMNS, PARTNER_FIELDS, canonical_keys, split_list
from knowledge.parallel_read import read_profiles
from knowledge.partner_checks import settle_partners
from knowledge.records import (
    DEFAULT_CONFIDENTIAL_GROUPS,
    AccessGroups,
    AccessMember,
    Contacts,
    FileIssue,
    Incentive,
    Knowledge,
    MapRow,
    MarketplaceOffer,
    Opportunity,
    Partner,
    SourceRef,
    Win,
)
from knowledge.referrals import load_referrals
from knowledge.structured_files import StructuredFileError, read_structured
from knowledge.tables import TableError, read_table
from knowledge.values import parse_bool, parse_int, parse_money

if TYPE_CHECKING:
    from knowledge.parse_worker import ParseWorker

log = logging.getLogger(__name__)

PROFILE_SUFFIXES = {".yaml", ".yml", ".json"}
TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm"}
DOCUMENT_SUFFIXES = {".md", ".markdown", ".pdf", ".docx", ".html", ".htm", ".txt", ".yml", ".yaml"}
INCENTIVES_FILE = "programs/incentives.yaml"


# Values repeated across records (countries, workloads, stages, owners, list cells) are shared while a
# folder loads: each distinct string or tuple is held once, not once per row of a 500,000-row pipeline.
_SHARED: dict[Any, Any] = {}


def _share(value: Any) -> Any:
    return _SHARED.setdefault(value, value)


def _shared_list(value: object) -> tuple[str, ...]:
    return _share(tuple(_share(v) for v in split_list(value)))


class KnowledgeFolderError(Exception):
    """The folder is missing or holds nothing we can read."""


def load_knowledge(root: Path, *, documents: bool = True, records: bool = True,
                   parse_timeout: float | None = None) -> Knowledge:
    """Read every part of the folder. `documents=False` skips program documents (structured data only);
    `records=False` skips the record files (`is_record_file`: profiles, maps, pipeline, rules, access),
    for an indexer whose record snapshot is current, and then a folder of records only is not an error.

    Documents are parsed in a worker process under a per-file time limit (`parse_timeout` seconds,
    default PARSE_TIMEOUT_SECONDS or 60; 0 = in-process, no limit): see knowledge/parse_worker.py.
    """
    root = Path(root)
    if not root.is_dir():
        raise KnowledgeFolderError(f"knowledge folder {root} does not exist or is not a folder")
    started = time.perf_counter()
    kb = Knowledge(root=str(root))
    from knowledge.parse_worker import ParseWorker  # noqa: PLC0415 - heavy parsers load lazily

    listing = list_folder(root)                      # symlinks leaving the folder, pipes, loops: refused
    kb.issues.extend(listing.refused)
    profiles = [(f.rel, f.path) for f in listing.files if records and _is_profile(f.rel)]
    read_already = read_profiles(profiles, read_one)     # thousands of profiles: by worker processes
    with ParseWorker(parse_timeout) as parser:      # the worker starts with the first document
        for file in listing.files:
            done = read_already.get(file.rel)
            if done is not None:
                kb.partners.extend(done[0])
                kb.issues.extend(done[1])
                kb.files_read += done[2]
            elif records or not is_record_file(file.rel):
                _load_file(file.rel, file.path, kb, parser, documents=documents)
    _SHARED.clear()                                  # the records keep what they share; the table goes
    settle_partners(kb)                              # duplicate ids, map rows naming no profile
    if kb.files_read == 0 and records:
        raise KnowledgeFolderError(
            f"knowledge folder {root} holds nothing readable: expected partners/, solution_maps/, programs/, "
            "opportunities/ or access.yaml (see the knowledge contract)"
        )
    log.info("loaded %s: %d partners, %d map rows, %d incentives, %d opportunities, %d documents, "
             "%d files skipped, in %.2fs", root, len(kb.partners), len(kb.map_rows), len(kb.incentives),
             len(kb.opportunities), len(kb.documents), sum(i.skipped for i in kb.issues),
             time.perf_counter() - started)
    return kb


def _kind(rel: str) -> tuple[str, str]:
    return (rel.split("/", 1)[0] if "/" in rel else ""), PurePosixPath(rel).suffix.lower()


def _is_profile(rel: str) -> bool:
    top, suffix = _kind(rel)
    return top == "partners" and suffix in PROFILE_SUFFIXES


def read_one(rel: str, path: Path, kb: Knowledge) -> None:
    """One record file into kb (a partner-reading worker's entry point): no documents, so no parser."""
    _load_file(rel, path, kb, cast("ParseWorker", None), documents=False)


def is_record_file(rel: str) -> bool:
    """Whether the file holds structured records (the record snapshot's part of the folder)."""
    top, suffix = _kind(rel)
    return (rel in {"access.yaml", "access.yml"} or (top == "partners" and suffix in PROFILE_SUFFIXES)
            or (top in ("solution_maps", "opportunities", "referrals") and suffix in TABLE_SUFFIXES)
            or rel.lower() in (INCENTIVES_FILE, "programs/incentives.yml"))


def _load_file(rel: str, path: Path, kb: Knowledge, parser: ParseWorker, *, documents: bool) -> None:
    """One file (`rel` as it appears in the folder, `path` the resolved file) into kb, or a FileIssue."""
    top, suffix = _kind(rel)
    try:
        if rel in {"access.yaml", "access.yml"}:
            kb.access = _load_access(path)
        elif top == "partners" and suffix in PROFILE_SUFFIXES:
            _load_partners(path, rel, kb)
        elif top == "solution_maps" and suffix in TABLE_SUFFIXES:
            _load_map(path, rel, kb)
        elif top == "opportunities" and suffix in TABLE_SUFFIXES:
            _load_opportunities(path, rel, kb)
        elif top == "referrals" and suffix in TABLE_SUFFIXES:
            load_referrals(path, rel, kb)
        elif rel.lower() in (INCENTIVES_FILE, "programs/incentives.yml"):
            _load_incentives(path, rel, kb)
        elif top == "programs" and suffix in DOCUMENT_SUFFIXES:
            if not documents:
                return
            _load_document(path, rel, kb, parser)
        else:
            kb.issues.append(FileIssue(rel, _unknown_reason(top, suffix)))
            return
        kb.files_read += 1
    except (TableError, KnowledgeFileError, StructuredFileError, NotRegularFileError) as exc:
        kb.issues.append(FileIssue(rel, str(exc)))
    except PermissionError:
        kb.issues.append(FileIssue(rel, "file not readable (permission denied)"))
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the folder
        log.warning("could not read %s: %s", rel, type(exc).__name__)   # the summary says it; no traceback
        log.debug("could not read %s", rel, exc_info=True)
        kb.issues.append(FileIssue(rel, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"))


class KnowledgeFileError(Exception):
    """A file of a known kind whose content is not what the contract describes."""


def _unknown_reason(top: str, suffix: str) -> str:
    if top in ("partners", "solution_maps", "opportunities", "referrals", "programs"):
        return f"unsupported file type {suffix or '(none)'} in {top}/"
    return ("not part of the knowledge layout (partners/, solution_maps/, programs/, opportunities/, referrals/, "
            "access.yaml)")


# ----------------------------------------------------------------------------------- partners
def _load_partners(path: Path, rel: str, kb: Knowledge) -> None:
    data = read_structured(path)
    if isinstance(data, dict) and isinstance(data.get("partners"), list):
        data = data["partners"]
    items = data if isinstance(data, list) else [data]
    bad = 0
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            bad += 1
            continue
        locator = f"item {n}" if len(items) > 1 else ""
        partner = _partner(canonical_keys(item, PARTNER_FIELDS), SourceRef(rel, locator))
        if partner is None:
            bad += 1
        else:
            kb.partners.append(partner)     # a duplicate id is settled once every file is read
    if bad and bad == len(items):
        raise KnowledgeFileError("no partner profile with an id and a name")
    if bad:
        kb.issues.append(FileIssue(rel, f"{bad} entries without id or name ignored", skipped=False))


def _country_cells(value: object) -> tuple[str, ...]:
    """List cells of country codes. YAML 1.1 reads a bare `NO` (Norway) as false: take it back."""
    if isinstance(value, list):
        value = ["NO" if v is False else v for v in value]
    elif value is False:
        value = "NO"
    return split_list(value)


def _countries(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        codes = region_codes(value)
        out.extend(codes if codes else [value.strip().upper()])
    return _share(tuple(_share(code) for code in dict.fromkeys(out)))


def _partner(d: dict[str, Any], source: SourceRef) -> Partner | None:
    pid, name = str(d.get("id") or "").strip(), str(d.get("name") or "").strip()
    if not pid or not name:
        return None
    capacity: dict[str, Any] = d["capacity"] if isinstance(d.get("capacity"), dict) else {}
    contacts: dict[str, Any] = d["contacts"] if isinstance(d.get("contacts"), dict) else {}
    groups = _shared_list(d.get("allowed_groups")) or DEFAULT_CONFIDENTIAL_GROUPS
    return Partner(
        id=pid, name=name, source=source,
        type=_share(str(d.get("type") or "")),
        hq_country=(_countries(_country_cells(d["hq_country"])) or ("",))[0] if d.get("hq_country") is not None else "",
        countries=_countries(_country_cells(d.get("countries"))),
        description=str(d.get("description") or ""),
        designations=_shared_list(d.get("designations")),
        specializations=_shared_list(d.get("specializations")),
        azure_expert_msp=parse_bool(d.get("azure_expert_msp")),
        industries=_shared_list(d.get("industries")),
        segments=_shared_list(d.get("segments")),
        workloads=_shared_list(d.get("workloads")),
        co_sell_ready=parse_bool(d.get("co_sell_ready")),
        marketplace_offers=tuple(
            MarketplaceOffer(str(o.get("name") or ""), _shared_list(o.get("workloads")))
            for o in (d.get("marketplace_offers") or []) if isinstance(o, dict)
        ),
        certified_staff=parse_int(capacity.get("certified_staff")),
        available_consultants_90d=parse_int(capacity.get("available_consultants_90d")),
        contacts=Contacts(str(contacts.get("pdm") or ""), str(contacts.get("pdm_email") or ""),
                          str(contacts.get("partner_email") or "")),
        wins=tuple(
            Win(customer=str(w.get("customer") or ""), industry=_share(str(w.get("industry") or "")),
                country=(_countries(_country_cells(w["country"])) or ("",))[0] if w.get("country") is not None else "",
                workload=_share(str(w.get("workload") or "")), year=parse_int(w.get("year")),
                summary=str(w.get("summary") or ""))
            for w in (d.get("wins") or []) if isinstance(w, dict)
        ),
        notes_confidential=str(d.get("notes_confidential") or ""),
        allowed_groups=groups,
        updated=_share(str(d.get("updated") or "")),
    )


# ----------------------------------------------------------------------------------- tables
def _load_rows(path: Path, rel: str, kb: Knowledge, aliases: dict[str, str], required: tuple[str, ...],
               build: Callable[[Mapping[str, str], SourceRef], Any], sink: list[Any]) -> None:
    bad: list[str] = []
    shifted: list[str] = []
    count = 0
    for row in read_table(path, aliases):
        if row.extra_cells:          # a stray delimiter shifted the cells: every value would land in the wrong column
            shifted.append(row.locator)
            continue
        if any(not row.values.get(field) for field in required):
            bad.append(row.locator)
            continue
        sink.append(build(row.values, SourceRef(rel, row.locator)))
        count += 1
    if count == 0:
        raise KnowledgeFileError(f"no rows with {', '.join(required)}" + (f" ({len(bad)} incomplete rows)" if bad else ""))
    if shifted:
        kb.issues.append(FileIssue(rel, f"{len(shifted)} rows with more cells than the header ignored "
                                        f"(first: {shifted[0]})", skipped=False))
    if bad:
        kb.issues.append(FileIssue(rel, f"{len(bad)} rows without {'/'.join(required)} ignored "
                                        f"(first: {bad[0]})", skipped=False))


def _load_map(path: Path, rel: str, kb: Knowledge) -> None:
    def build(v: Mapping[str, str], source: SourceRef) -> MapRow:
        return MapRow(
            workload=_share(v["workload"]), partner_id=_share(v.get("partner_id", "")),
            partner_name=_share(v.get("partner_name", "")), source=source,
            solution_area=_share(v.get("solution_area", "")), solution_play=_share(v.get("solution_play", "")),
            role=_share(v.get("role", "").strip().title()), countries=_countries(split_list(v.get("countries"))),
            industries=_shared_list(v.get("industries")), segments=_shared_list(v.get("segments")),
            fiscal_year=_share(v.get("fiscal_year", "")), notes=_share(v.get("notes", "")),
        )
    rows: list[MapRow] = []
    _load_rows(path, rel, kb, MAP_COLUMNS, ("workload",), build, rows)
    kept = [r for r in rows if r.partner_id or r.partner_name]
    if len(kept) < len(rows):
        kb.issues.append(FileIssue(rel, f"{len(rows) - len(kept)} rows without a partner ignored", skipped=False))
    kb.map_rows.extend(kept)


def _load_opportunities(path: Path, rel: str, kb: Knowledge) -> None:
    def build(v: Mapping[str, str], source: SourceRef) -> Opportunity:
        country = _countries([v["country"]])[0] if v.get("country") else ""
        return Opportunity(
            id=v["opportunity_id"].strip().upper(), source=source, account=_share(v.get("account", "")),
            industry=_share(v.get("industry", "")), country=country, segment=_share(v.get("segment", "")),
            solution_play=_share(v.get("solution_play", "")), workload=_share(v.get("workload", "")),
            estimated_value_usd=parse_money(v.get("estimated_value_usd")), stage=_share(v.get("stage", "")),
            close_date=_share(v.get("close_date", "")[:10]), partner_id=_share(v.get("partner_id", "")),
            partner_name=_share(v.get("partner_name", "")), owner=_share(v.get("owner", "")),
        )
    rows: list[Opportunity] = []
    _load_rows(path, rel, kb, OPPORTUNITY_COLUMNS, ("opportunity_id",), build, rows)
    kb.opportunities = [*kb.opportunities, *rows]


# ----------------------------------------------------------------------------------- rules, access, documents
def _load_incentives(path: Path, rel: str, kb: Knowledge) -> None:
    data = read_structured(path)
    if isinstance(data, dict):
        data = data.get("incentives") or data.get("rules") or []
    if not isinstance(data, list):
        raise KnowledgeFileError("incentives.yaml must be a list of rules")
    bad = 0
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not (item.get("id") or item.get("name")):
            bad += 1
            continue
        req: dict[str, Any] = item["partner_requirements"] if isinstance(item.get("partner_requirements"), dict) else {}
        workloads, countries = item.get("workloads", "all"), item.get("countries", "all")
        kb.incentives.append(Incentive(
            id=str(item.get("id") or item.get("name")), name=str(item.get("name") or item.get("id")),
            source=SourceRef(rel, f"rule {n}"), program=str(item.get("program") or ""),
            funding=str(item.get("funding") or ""), max_funding_usd=parse_money(item.get("max_funding_usd")),
            workloads=None if _is_all(workloads) else split_list(workloads),
            segments=split_list(item.get("segments")),
            countries=None if _is_all(countries) else _countries(_country_cells(countries)),
            min_deal_usd=parse_money(item.get("min_deal_usd")) or 0.0,
            designations_any=split_list(req.get("designations_any")),
            specializations_any=split_list(req.get("specializations_any")),
            co_sell_ready_required=parse_bool(req.get("co_sell_ready")),
            fiscal_year=str(item.get("fiscal_year") or ""), doc=str(item.get("doc") or ""),
        ))
    if bad:
        kb.issues.append(FileIssue(rel, f"{bad} rules without id or name ignored", skipped=False))


def _is_all(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("all", "any", "*", ""))


def _load_access(path: Path) -> AccessGroups:
    data = read_structured(path)
    groups_data = data.get("groups", data) if isinstance(data, dict) else None
    if not isinstance(groups_data, dict):
        raise KnowledgeFileError("access.yaml must map group names to member lists")
    groups: dict[str, tuple[AccessMember, ...]] = {}
    for group, members in groups_data.items():
        out = []
        for m in members or []:
            if isinstance(m, dict) and m.get("aad_object_id"):
                out.append(AccessMember(str(m["aad_object_id"]).strip(), str(m.get("name") or ""),
                                        str(m.get("email") or m.get("upn") or "")))
            elif isinstance(m, str):
                out.append(AccessMember(m.strip()))
        groups[str(group).strip().lower()] = tuple(out)
    return AccessGroups(groups)


def _load_document(path: Path, rel: str, kb: Knowledge, parser: ParseWorker) -> None:
    from knowledge.documents import DocumentError  # noqa: PLC0415 - heavy parsers load lazily

    try:
        kb.documents.append(parser.parse(path, rel))
    except DocumentError as exc:
        raise KnowledgeFileError(str(exc)) from exc
