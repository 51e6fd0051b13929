"""Partner Atlas: which partner covers this workload, incentive or program? The command line's entry point.

  python bot.py index --knowledge DIR --index DIR [--embedder minilm|hashing] [--rebuild]
  python bot.py serve --knowledge DIR --index DIR --port N [--host H] [--allow-public]
  python bot.py ask "question" [--as-group ecm] [--as-user AAD_ID] [--json]
  python bot.py gaps [--since DAYS] [--limit N] [--format table|csv|md|json] [--output FILE]
  python bot.py package [--domain HOST]

`serve` listens first and loads the engine in a background thread (GET /healthz says 503 "loading",
then 200). Without an app id it runs in local mode: unauthenticated, bound to loopback only. It also
serves channel managers' exports (GET /exports/{token}.csv|xlsx, 15 minutes) and runs the daily-sweep
scheduler.

Everything lives in app/ (settings, the HTTP endpoint, the engine slot, the server, the commands) and
below it; the Bot Framework SDK only in channel/.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code."""
    from app.cli import parser, run  # light: the commands import what they need when they run

    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
