"""Readiness-session commands as typed: start (with its topic), end and summary; and what the bot says back.

Who may do what: a member of HOSTS starts a session, its starter or a host ends it, anyone sees the digest.
"""
from __future__ import annotations

import re

HOSTS = frozenset({"ecm", "admins"})
ANSWER_ANYWAY_KEY = "answerAnyway"
MAX_SOURCES_PER_QUESTION = 5
DEFAULT_TOPIC = "Readiness Q&A"

_QUOTES = "\"'“”‘’«»"
_START = re.compile(r"(?:please\s+)?(?:start|begin|open|run)\s+(?:a\s+|the\s+|new\s+)?(?:readiness\s+)?(?:q\s*&\s*a\s+)?"
                    r"session\b(?:\s*(?:on|about|for|called|named|:|-|–)\s*|\s+)?(?P<topic>.*)", re.IGNORECASE | re.DOTALL)
_END = re.compile(r"(?:please\s+)?(?:end|stop|close|finish|wrap\s+up)\s+(?:the\s+|this\s+)?(?:readiness\s+)?(?:q\s*&\s*a\s+)?"
                  r"session", re.IGNORECASE)
_SUMMARY = re.compile(r"(?:(?:the\s+|this\s+)?(?:readiness\s+)?session\s+(?:summary|digest|recap|so\s+far)|"
                      r"summari[sz]e\s+(?:the\s+|this\s+)?session|(?:show\s+)?(?:the\s+)?session\s+digest)", re.IGNORECASE)

PHRASES = {
    "started": "**Readiness session started: {topic}**\n\n@mention me with your questions: I answer each one in its "
               "thread and keep track of what was asked. A question asked before gets a pointer to the earlier "
               "answer. `@{bot} session summary` shows the digest so far; `@{bot} end session` closes it.",
    "already_running": "A readiness session is already running here: **{topic}**, started by {by} at {at}. "
                       "`end session` closes it first.",
    "not_host": "Only channel managers and admins can start or end a readiness session. Ask away: I answer every "
                "question that @mentions me.",
    "personal_chat": "Readiness sessions run where many people ask: a channel, a group chat or a meeting chat. "
                     "Add me there and @mention me with `start readiness session \"<topic>\"`.",
    "none_running": "No readiness session is running here. `start readiness session \"<topic>\"` starts one.",
    "nothing_yet": "No readiness session has run here yet.",
    "duplicate": "🔁 Asked before in this session, by {asker} at {at}: “{earlier}”. {answer_line}{link}",
    "answer_anyway": "Answer here anyway",
    "export_ready": "Here is the session digest as {fmt}: [download]({url}) (the link works for {minutes} minutes).",
    "export_unavailable": "Exports are not set up on this server.",
    "session_over": "That session is not found here any more.",
}


def parse_command(text: str) -> tuple[str, str] | None:
    """('start', topic) | ('end', '') | ('summary', '') for a whole-message session command."""
    said = " ".join(text.split()).strip(" !.?")
    if match := _START.fullmatch(said):
        topic = match.group("topic").strip().strip(_QUOTES).strip()
        return "start", topic or DEFAULT_TOPIC
    if _END.fullmatch(said):
        return "end", ""
    if _SUMMARY.fullmatch(said) or said.lower() in ("summary", "digest", "session"):
        return "summary", ""
    return None
