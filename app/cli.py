"""The command line: `index`, `serve`, `ask`, `gaps` and `package`, each a function that returns the exit code.

Settings are read once (the environment and .env, the command's options on top); invalid settings are one
line on standard error and exit 2. Every heavy import waits for the command that needs it, so `--help`
stays fast.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings
    from dialogs.feedback import KnowledgeGap

log = logging.getLogger(__name__)

NO_GAPS = "no knowledge gaps recorded yet"


def parser() -> argparse.ArgumentParser:
    """`bot.py`'s commands and their options."""
    parser = argparse.ArgumentParser(prog="bot.py", description="Partner Atlas: which partner covers this?")
    commands = parser.add_subparsers(dest="command", required=True)

    def knowledge_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--knowledge", type=Path, help="knowledge folder (default: knowledge/sample)")
        sub.add_argument("--index", type=Path, help="index folder (default: .index)")
        sub.add_argument("--embedder", choices=("minilm", "hashing"), help="embedding model (default: minilm)")

    index = commands.add_parser("index", help="read the knowledge folder and build or update the index")
    knowledge_options(index)
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument("--rebuild", action="store_true",
                       help="embed everything into a fresh generation, ignoring the live one (a damaged index)")

    serve = commands.add_parser("serve", help="run the bot: POST /api/messages, GET /healthz, GET /exports/…")
    knowledge_options(serve)
    serve.add_argument("--port", type=int)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--allow-public", action="store_true", default=None,
                       help="allow a non-loopback --host in local (unauthenticated) mode")

    ask = commands.add_parser("ask", help="answer one question in the terminal")
    knowledge_options(ask)
    ask.add_argument("question")
    ask.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                     help="ask as a member of this access group (repeatable), e.g. ecm")
    ask.add_argument("--as-user", metavar="AAD_ID", help="ask as this Teams user (aadObjectId in access.yaml)")
    ask.add_argument("--json", action="store_true", help="print the Answer object as JSON")

    gaps = commands.add_parser("gaps", help="list the knowledge gaps: questions unanswered, answered with low "
                                            "confidence or rated not helpful")
    gaps.add_argument("--since", type=float, metavar="DAYS", help="only questions asked in the last DAYS days")
    gaps.add_argument("--limit", type=int, metavar="N", help="at most N gaps (most asked first)")
    gaps.add_argument("--format", choices=("table", "csv", "md", "json"), default="table",
                      help="table (default, aligned plain text), csv, md (Markdown) or json")
    gaps.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    gaps.set_defaults(knowledge=None, index=None, embedder=None)   # it reads the database only

    from appmanifest.build import configure_parser  # light: imports none of the bot

    package = commands.add_parser("package", help="build the Teams app package (zip) a Teams admin uploads")
    configure_parser(package)
    return parser


def _command_index(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from retrieval.indexer import IndexLockedError, IndexValidationError, IndexWriteError, KnowledgeFolderError, build_index

    os.environ["PARSE_TIMEOUT_SECONDS"] = str(settings.parse_timeout_seconds)   # read by knowledge/parse_worker.py
    try:
        report = build_index(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                             progress=False if args.no_progress else None, chroma=settings.chroma_config(),
                             rebuild=args.rebuild)
    except KnowledgeFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IndexLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (IndexValidationError, IndexWriteError) as exc:
        print(f"error: {exc}; the live index is unchanged", file=sys.stderr)
        return 4
    except OSError as exc:      # a disk that fills up half-way, say: the live generation is untouched
        print(f"error: cannot write the index in {settings.index_dir}: {exc.strerror or exc}; "
              "the live index is unchanged", file=sys.stderr)
        return 4
    print(report.summary())
    return 0 if report.ok else 1


def serve_refusal(settings: Settings) -> str | None:
    """Why `serve` must not start with these settings, or None. Production is ENVIRONMENT=production, or a
    non-loopback host without --allow-public: neither may run in local (unauthenticated) mode."""
    from app.settings import is_loopback

    if settings.environment == "production" and settings.local_mode:
        return ("refusing to start: ENVIRONMENT=production needs MicrosoftAppId (and MicrosoftAppPassword): "
                "without an app id every request would be unauthenticated.")
    if settings.local_mode and not is_loopback(settings.host) and not settings.allow_public_bind:
        return (f"refusing to bind {settings.host} without MicrosoftAppId: local mode is unauthenticated. "
                "Bind 127.0.0.1, configure the app id, or pass --allow-public (ALLOW_PUBLIC_BIND=true).")
    return None


def _command_serve(settings: Settings) -> int:
    from app.settings import is_loopback

    if (refusal := serve_refusal(settings)) is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    if settings.local_mode and not is_loopback(settings.host):
        log.warning("local mode bound to %s by request (--allow-public): anyone who can reach it can ask",
                    settings.host)

    from app import server
    from storage import DatabaseUnavailable

    try:
        server.serve(settings)
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _command_ask(settings: Settings, args: argparse.Namespace) -> int:
    from dialogs.render import answer_to_text
    from retrieval.loading import load_engine

    try:
        engine = load_engine(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                             decisions_path=settings.decisions_path, chroma=settings.chroma_config())
    except Exception as exc:
        from retrieval.indexer import KnowledgeFolderError

        if not isinstance(exc, KnowledgeFolderError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    user = engine.user_context(args.as_user, name="", conversation_type="personal")
    if args.as_group:
        user = replace(user, groups=frozenset(args.as_group))
    answer = engine.answer(args.question, user)
    if args.json:
        print(json.dumps(asdict(answer), indent=1, ensure_ascii=False, default=str))
    else:
        print(answer_to_text(answer))
    return 0


def _gaps_plain_table(gaps: list[KnowledgeGap]) -> str:
    """Aligned columns for a terminal; long questions and topics are cut (the other formats have them whole)."""
    from dialogs.feedback import iso_utc

    def cut(text: str, width: int) -> str:
        text = " ".join(text.split())
        return text if len(text) <= width else text[:width - 1] + "…"

    header = ["ASKED", "ASKERS", "REASONS", "LAST ASKED (UTC)", "TOPIC", "QUESTION"]
    rows = [[str(g.times_asked), str(g.askers), ",".join(g.reasons), iso_utc(g.last_asked)[:16].replace("T", " "),
             cut(g.topic, 30), cut(g.question, 80)] for g in gaps]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])



def _command_gaps(settings: Settings, args: argparse.Namespace) -> int:
    """The knowledge-gaps log from the server's database (settings.data_dir), read without the engine."""
    from dialogs.exports import csv_bytes
    from dialogs.feedback import FeedbackStore, gaps_markdown, gaps_table, iso_utc

    if args.since is not None and args.since <= 0:
        print("error: --since must be a positive number of days", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    database = settings.database_target
    gaps: list[KnowledgeGap] = []
    # never create the server's SQLite file just to report that it is empty
    if not isinstance(database, Path) or database.is_file():
        store = FeedbackStore(database)
        try:
            since = time.time() - args.since * 86400 if args.since is not None else None
            gaps = store.knowledge_gaps(since=since, limit=args.limit)
        finally:
            store.close()
    data: bytes
    if args.format == "table":
        data = ((_gaps_plain_table(gaps) if gaps else NO_GAPS) + "\n").encode("utf-8")
    elif args.format == "csv":
        data = csv_bytes(*gaps_table(gaps))
    elif args.format == "md":
        data = gaps_markdown(gaps).encode("utf-8")
    else:
        records = [{**asdict(g), "first_asked": iso_utc(g.first_asked), "last_asked": iso_utc(g.last_asked)}
                   for g in gaps]
        data = (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if args.output is None:
        if not gaps and args.format != "table":
            print(NO_GAPS, file=sys.stderr)     # standard output stays a valid (empty) CSV, Markdown or JSON
        sys.stdout.write(data.decode("utf-8-sig"))
        sys.stdout.flush()
        return 0
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{len(gaps)} knowledge gap{'' if len(gaps) == 1 else 's'} written to {args.output}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the parsed command: the exit code (0 done, 2 invalid settings or options, others per command)."""
    if args.command == "package":
        from appmanifest.build import run as build_package  # reads its own settings (bot id, domain, URLs)

        return build_package(args)
    from pydantic import ValidationError

    from app.settings import load_settings

    try:
        settings = load_settings(knowledge_dir=args.knowledge, index_dir=args.index, embedder=args.embedder,
                                 port=getattr(args, "port", None), host=getattr(args, "host", None),
                                 allow_public_bind=getattr(args, "allow_public", None))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "index":
        return _command_index(settings, args)
    if args.command == "serve":
        return _command_serve(settings)
    if args.command == "gaps":
        return _command_gaps(settings, args)
    return _command_ask(settings, args)
