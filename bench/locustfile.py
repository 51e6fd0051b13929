"""Locust users for `make soak` (bench/soak/): sellers and channel managers asking in their 1:1 chat with the bot.

  locust -f bench/locustfile.py --headless -u 50 -r 1 -t 10m --host http://127.0.0.1:PORT [--request-log FILE]

Each simulated user is one person in their own personal conversation with the bot, as in Teams: a fixed
`aadObjectId`, `from.id` and conversation id for the user's whole life, a new activity id per message.
Every message is the recorded Teams payload ../shared/fixtures/teams-activities/personal_message.json
with the question as its text (and the matching text/html attachment Teams adds), `deliveryMode:
expectReplies` (the replies come back in the HTTP response; nothing is posted to a connector) and the
`serviceUrl` set to the target host, so even a stray connector call stays on loopback.

Questions are drawn at random from ../shared/catalog-dev/questions.jsonl and ../shared/eval/faq_dev.jsonl.
One user in ten is a channel manager: it takes one of the `ecm` identities of the knowledge folder's
access.yaml (that file names only three, so they are shared; each user still has its own conversation)
and asks any question; the others are sellers with their own random id, in no access group, who ask
the questions a seller asks (everything but the ones the dev set marks `as_group: ecm`).

A request counts as a success only when the answer is HTTP 200 with a JSON body holding at least one
message activity with text or an attachment; anything else (status, body, timeout after 60 s) is a
failure with the reason. `--request-log FILE` appends one CSV row per request (unix time at the end,
latency ms, 1/0 success, question kind, failure reason) for bench/soak/ to cut into phases.
"""
from __future__ import annotations

import copy
import csv
import html
import itertools
import json
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from locust import FastHttpUser, events, task

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:   # Locust puts only this file's folder on sys.path
    sys.path.insert(0, str(PROJECT_DIR))

from bench.common import CATALOG_DEV, FAQ_QUESTIONS, SHARED_DIR, load_questions  # noqa: E402

TEMPLATE_PATH = SHARED_DIR / "fixtures" / "teams-activities" / "personal_message.json"
ACCESS_YAML = CATALOG_DEV / "knowledge" / "access.yaml"
CHANNEL_MANAGER_EVERY = 10          # user 0, 10, 20, … is a channel manager
REQUEST_TIMEOUT_S = 60.0

TEMPLATE: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
ALL_QUESTIONS = load_questions(CATALOG_DEV / "questions.jsonl") + load_questions(FAQ_QUESTIONS, kind="faq")
SELLER_QUESTIONS = [q for q in ALL_QUESTIONS if q.get("as_group") != "ecm"]


def ecm_ids(access_yaml: Path = ACCESS_YAML) -> list[str]:
    import yaml  # noqa: PLC0415

    groups = (yaml.safe_load(access_yaml.read_text(encoding="utf-8")) or {}).get("groups") or {}
    return [str(member["aad_object_id"]) for member in groups.get("ecm") or []]


ECM_IDS = ecm_ids()


class Identity:
    """Who a simulated user is: the same person, in the same 1:1 chat, for every message it sends."""

    def __init__(self, number: int, rng: random.Random) -> None:
        self.number = number
        self.channel_manager = number % CHANNEL_MANAGER_EVERY == 0 and bool(ECM_IDS)
        if self.channel_manager:
            self.aad_object_id = ECM_IDS[(number // CHANNEL_MANAGER_EVERY) % len(ECM_IDS)]
        else:
            self.aad_object_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.user_id = f"29:load-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        self.name = f"{'Channel Manager' if self.channel_manager else 'Seller'} {number}"
        self.conversation_id = f"a:load-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        self.questions = ALL_QUESTIONS if self.channel_manager else SELLER_QUESTIONS


def build_activity(identity: Identity, text: str, service_url: str) -> dict[str, Any]:
    """The recorded Teams personal message, from this user in this user's chat, asking `text`, expectReplies."""
    activity = copy.deepcopy(TEMPLATE)
    activity.update({
        "id": str(uuid.uuid4()),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "localTimestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()),
        "serviceUrl": service_url,
        "text": text,
        "deliveryMode": "expectReplies",
    })
    activity["from"] = {**TEMPLATE["from"], "id": identity.user_id, "name": identity.name,
                        "aadObjectId": identity.aad_object_id}
    activity["conversation"] = {**TEMPLATE["conversation"], "id": identity.conversation_id}
    activity["attachments"] = [{"contentType": "text/html", "content": f"<p>{html.escape(text)}</p>"}]
    return activity


def reply_problem(status: int, body: bytes | str | None) -> str | None:
    """Why a response is not a real answer, or None when it is: 200, JSON, ≥ 1 message with text or attachment."""
    if status != 200:
        return f"HTTP {status}"
    try:
        data = json.loads(body or b"")
    except ValueError:
        return "body is not JSON"
    activities = data.get("activities") if isinstance(data, dict) else None
    if not isinstance(activities, list) or not activities:
        return "no activities in the reply"
    if not any(isinstance(a, dict) and a.get("type") == "message" and (a.get("text") or a.get("attachments"))
               for a in activities):
        return "no message activity with text or attachments"
    return None


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--request-log", default="", help="append one CSV row per request to this file")
    parser.add_argument("--think-min", type=float, default=1.0, help="think time between messages, low end (s)")
    parser.add_argument("--think-max", type=float, default=3.0, help="think time between messages, high end (s)")
    parser.add_argument("--seed", type=int, default=7, help="seed for identities and question draws")


class RequestLog:
    """One CSV row per request, flushed each time (the run may be stopped by a signal)."""

    def __init__(self) -> None:
        self._file: Any = None
        self._writer: Any = None
        self._lock = threading.Lock()

    def open(self, path: str) -> None:
        if path:
            self._file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed on quit
            self._writer = csv.writer(self._file)

    def write(self, latency_ms: float, ok: bool, kind: str, reason: str) -> None:
        if self._writer is None:
            return
        with self._lock:
            self._writer.writerow([f"{time.time():.3f}", f"{latency_ms:.1f}", int(ok), kind, reason[:200]])
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


REQUEST_LOG = RequestLog()
_numbers = itertools.count()


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    """Before any user starts: loopback only, and a fresh clock."""
    host = urlparse(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"this load goes to loopback only, not {environment.host!r}")
    # gevent's loop caches "now" until it next runs; loading this file (questions, YAML) blocks it long enough
    # on a busy machine that Locust's --run-time timer, scheduled right after, would fire early.
    import gevent  # noqa: PLC0415

    gevent.get_hub().loop.update_now()


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    REQUEST_LOG.open(getattr(environment.parsed_options, "request_log", "") or "")


@events.quitting.add_listener
def _quit(**_: Any) -> None:
    REQUEST_LOG.close()


class TeamsUser(FastHttpUser):
    """A seller or channel manager asking the bot in their 1:1 chat, thinking between messages."""

    network_timeout = REQUEST_TIMEOUT_S
    connection_timeout = REQUEST_TIMEOUT_S

    def wait_time(self) -> float:
        options = self.environment.parsed_options
        low = getattr(options, "think_min", 1.0) if options else 1.0
        high = getattr(options, "think_max", 3.0) if options else 3.0
        return self.rng.uniform(low, high)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        number = next(_numbers)
        self.rng = random.Random(f"{getattr(options, 'seed', 7) if options else 7}-{number}")
        self.identity = Identity(number, self.rng)

    @task
    def ask(self) -> None:
        question = self.rng.choice(self.identity.questions)
        body = build_activity(self.identity, question["question"], (self.host or "").rstrip("/"))
        started = time.perf_counter()
        with self.client.post("/api/messages", json=body, name="/api/messages", catch_response=True) as response:
            problem: str | None
            if not response.status_code:    # no HTTP answer at all: refused, reset or timed out
                problem = f"no response: {type(response.error).__name__}: {response.error}"[:200]
            else:
                problem = reply_problem(response.status_code, response.content)
            if problem is None:
                response.success()
            else:
                response.failure(problem)
        REQUEST_LOG.write(1000 * (time.perf_counter() - started), problem is None, str(question["kind"]), problem or "")
