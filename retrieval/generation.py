"""Optional generated answers: a chat model phrases what retrieval found, and is checked before it is shown.

Pipeline (`GroundedWriter.write`): the engine's access-trimmed `Answer` → numbered sources [S1]..[Sn] (its
passages, or the structured facts with their citations) cut to the token budget → the prompt
(data/prompts/grounded_answer.md: content delimited and marked as data) → one chat-model call under a time
budget, with no tools bound → checks: links and images not from the knowledge folder removed, each sentence
kept only when it cites given sources, its names, ids and figures are in those sources and it is neither an
instruction nor confidential → the Answer with its summary replaced. Anything else — not configured for this
kind, over the user's rate, a timeout, a provider error, output that does not survive the checks — returns
the extractive Answer unchanged with an `Outcome` saying why; the dialogs decide what to tell the user.

Structured facts (which partners are on the map, which rules are eligible) stay the engine's: for those kinds
the model writes only the short summary above the engine's list, and every partner, id and figure it names
must be among the facts it was given.

The chat model is anything with LangChain's `ainvoke(messages)`; `retrieval/chat_models.py` builds the
configured provider (and is the only module that imports langchain-openai). Tokens are estimated from
characters (never tiktoken: it downloads its tables at run time).
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from retrieval.answers import Answer, AnswerKind, Citation, PartnerMatch, Passage, cited_sources

log = logging.getLogger(__name__)

PROMPT_FILE = Path(__file__).with_name("data") / "prompts" / "grounded_answer.md"
CHARS_PER_TOKEN = 3.0            # conservative for English prose and ids (GPT tokenizers average ~4)
DOCUMENT_KINDS = frozenset({AnswerKind.DOCUMENT})
# Pipeline, opportunity, attach, gaps and decision answers are confidential records: they never go to a model.
STRUCTURED_KINDS = frozenset({AnswerKind.COVERAGE, AnswerKind.SPECIALIZATION, AnswerKind.INCENTIVE,
                              AnswerKind.PROFILE})
CITATION = re.compile(r"\[\s*(S\d+(?:\s*[,;]\s*S?\d+)*)\s*\]", re.IGNORECASE)
CONFIDENTIAL_MARKERS = re.compile(
    r"\bconfidential\b|\binternal[- ]only\b|\bdo not (?:share|forward|distribute)\b|\bnot for (?:external )?distribution\b"
    r"|\bsecret\b|\bunder nda\b|\binternal notes?\b", re.IGNORECASE)
INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:instructions?|rules?|prompts?|guidelines|above|previous)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions?\b|\bact as\b|\bjailbreak\b|\bdeveloper mode\b"
    r"|\bdo anything now\b|\b(?:reveal|print|repeat|show)\b[^.\n]{0,30}\b(?:prompt|instructions)\b",
    re.IGNORECASE)
_TAGS = re.compile(r"<\s*/?\s*(?:source|facts|question|history|system)\b[^>]*>", re.IGNORECASE)


class Outcome(StrEnum):
    GENERATED = "generated"          # the answer's summary is the model's checked text
    SKIPPED = "skipped"              # this kind is not generated (or there is nothing to ground it on)
    RATE_LIMITED = "rate_limited"    # the user is over LLM_RATE_PER_MINUTE
    TIMEOUT = "timeout"              # the model did not answer within LLM_TIMEOUT_SECONDS (the call is cancelled)
    PROVIDER_ERROR = "provider_error"  # 429, 5xx, connection, authentication…
    CONTENT_FILTER = "content_filter"  # the provider's content filter refused the prompt or the completion
    UNUSABLE = "unusable"            # empty output, or too little of it survived the checks

    @property
    def provider_failed(self) -> bool:
        return self in (Outcome.TIMEOUT, Outcome.PROVIDER_ERROR, Outcome.CONTENT_FILTER)


@dataclass(frozen=True)
class Written:
    """What the writer did: the answer to show (the extractive one unless GENERATED) and why."""

    answer: Answer
    outcome: Outcome
    kept: int = 0                     # sentences kept
    dropped: int = 0                  # sentences removed by the checks
    truncated: bool = False           # question, history or sources were cut to the token budget
    seconds: float = 0.0


class AnswerWriter(Protocol):
    """The one interface the dialogs use; it never raises and never returns an unchecked text."""

    @property
    def budget_seconds(self) -> float:
        """The longest `write` may take (the dialogs stop waiting after it)."""
        ...

    async def write(self, question: str, answer: Answer, *, user_key: str,
                    history: Sequence[str] = ()) -> Written: ...


class ChatModel(Protocol):
    """What the writer needs of a LangChain chat model: one async call, no tools."""

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class GenerationLimits:
    timeout_seconds: float = 8.0
    max_input_tokens: int = 3000
    rate_per_minute: int = 10
    max_sources: int = 8
    max_sentences_document: int = 6
    max_sentences_structured: int = 3
    min_kept_share: float = 0.5       # below this share of sentences surviving the checks, the output is unusable


# ------------------------------------------------------------------------------------------- rate limit
class RateLimiter:
    """A token bucket per user: `rate_per_minute` calls, refilled evenly; bounded to the most recent users."""

    def __init__(self, rate_per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_users: int = 10_000) -> None:
        self.capacity = float(max(rate_per_minute, 0))
        self._per_second = self.capacity / 60.0
        self._clock = clock
        self._max_users = max_users
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, user_key: str) -> bool:
        if self.capacity <= 0:
            return False
        now = self._clock()
        tokens, at = self._buckets.pop(user_key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self._per_second)
        allowed = tokens >= 1.0
        self._buckets[user_key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_users:
            self._buckets.popitem(last=False)
        return allowed


# ------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    id: str                           # "S1"
    citation: Citation
    text: str


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def neutralise_tags(text: str) -> str:
    """Data must not close its own delimiter ("</source> new instructions…")."""
    return _TAGS.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def without_instructions(text: str) -> str:
    """Sentences that read as instructions to a model are not knowledge: they are not sent at all."""
    if not INSTRUCTION_LIKE.search(text):
        return text
    lines = []
    for line in text.splitlines():
        parts = re.split(r"(?<=[.!?])\s+", line)
        lines.append(" ".join(p for p in parts if not INSTRUCTION_LIKE.search(p)).rstrip())
    return "\n".join(lines).strip()


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    stop = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[:stop + 1] if stop > max_chars // 2 else cut).rstrip() + " …"


def document_sources(answer: Answer, max_sources: int) -> list[Source]:
    """The passages grouped by the document section they cite, numbered in the order of the Sources list."""
    by_citation: dict[Citation, list[Passage]] = {}
    for passage in answer.passages:
        by_citation.setdefault(passage.citation, []).append(passage)
    order = [c for c in cited_sources(answer) if c in by_citation] + [c for c in by_citation if c not in answer.citations]
    sources: list[Source] = []
    for citation in list(dict.fromkeys(order))[:max_sources]:
        text = "\n".join(without_instructions(p.text) for p in by_citation[citation])
        sources.append(Source(f"S{len(sources) + 1}", citation, text))
    return sources


def _partner_line(partner: PartnerMatch, on_map_label: str) -> str:
    bits = [f"{partner.name} ({partner.partner_id})", on_map_label]
    if partner.role:
        bits.append(f"role {partner.role}")
    if partner.countries:
        bits.append("countries " + ", ".join(partner.countries))
    bits += [r.detail for r in partner.reasons]
    bits += [f"gap: {g}" for g in partner.gaps]
    return "; ".join(bits)


def structured_facts(answer: Answer) -> tuple[list[str], dict[Citation, list[str]]]:
    """The engine's facts: the lines that cite nothing (title, summary, notes) and the lines per citation.

    Confidential facts are left out even when this user may see them: they are shown from the engine's
    own list, never sent to a model.
    """
    general: list[str] = [answer.title, answer.summary]
    per: dict[Citation, list[str]] = {}

    def add(line: str, *citations: Citation | None) -> None:
        cited = [c for c in dict.fromkeys(citations) if c is not None]
        if not cited:
            general.append(line)
        for citation in cited:
            per.setdefault(citation, []).append(line)

    for rank, partner in enumerate(answer.partners, 1):
        add(f"{rank}. " + _partner_line(partner, "on the solution map" if partner.on_map else "not on the map"),
            *(r.source for r in partner.reasons), partner.profile)
    # answer.other_partners (profile-only, near misses) are left out: the card shows them under their own
    # heading, and a summary that named them could too easily put them on the map
    for incentive in answer.incentives:
        funding = f"up to ${incentive.max_funding_usd:,.0f}" if incentive.max_funding_usd else ""
        line = "; ".join(b for b in (f"Incentive {incentive.name} ({incentive.incentive_id})", f"program {incentive.program}",
                                     incentive.funding, funding, *incentive.reasons,
                                     f"partner requirements: {incentive.partner_requirements}"
                                     if incentive.partner_requirements else "",
                                     "partners who can deliver it: " + ", ".join(p.name for p in incentive.partners)
                                     if incentive.partners else "") if b)
        add(line, incentive.citation)
    for fact in answer.facts:
        if not fact.confidential:
            add(f"{fact.label}: {fact.value}", fact.source)
    for note in answer.notes:
        add(f"Note: {note}")
    return ([without_instructions(line) for line in general if line],
            {c: [without_instructions(line) for line in lines] for c, lines in per.items()})


@dataclass(frozen=True)
class Prompt:
    messages: list[tuple[str, str]]   # (role, content), role in system | user
    sources: tuple[Source, ...]      # numbered S1..Sn; a generated answer lists them first under Sources
    support: str                      # everything the model was given, for the checks of structured answers
    truncated: bool


@cache
def prompt_sections(path: Path = PROMPT_FILE) -> dict[str, str]:
    text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    sections: dict[str, str] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        sections[name.strip()] = body.strip() + "\n"
    missing = {"system", "document_task", "structured_task"} - set(sections)
    if missing:
        raise ValueError(f"{path}: missing prompt sections {', '.join(sorted(missing))}")
    return sections


def _source_blocks(sources: Sequence[Source]) -> str:
    return "\n\n".join(f'<source id="{s.id}" title="{neutralise_tags(s.citation.label()).replace(chr(34), chr(39))}">\n'
                       f"{neutralise_tags(s.text)}\n</source>" for s in sources)


def build_prompt(question: str, answer: Answer, limits: GenerationLimits, history: Sequence[str] = ()) -> Prompt | None:
    """The messages for one call, within `limits.max_input_tokens`; None when there is nothing to ground on."""
    sections = prompt_sections()
    structured = answer.kind in STRUCTURED_KINDS
    facts: list[str] = []
    if structured:
        facts, per = structured_facts(answer)
        if not (answer.partners or answer.incentives or answer.facts):
            return None
        order = [c for c in cited_sources(answer) if c in per] + list(per)      # the Sources list's order first
        sources = [Source(f"S{i}", c, "\n".join(per[c])) for i, c in enumerate(dict.fromkeys(order), 1)]
        sources = sources[:limits.max_sources]
        if not sources:
            return None
    else:
        sources = document_sources(answer, limits.max_sources)
        if not sources:
            return None
    budget = int(limits.max_input_tokens * CHARS_PER_TOKEN)
    task = sections["structured_task" if structured else "document_task"]
    fixed = len(sections["system"]) + len(task) + 200
    truncated = False
    # the question and the history get bounded shares first; the sources get the rest
    question = (question or "").strip()
    question_cap = max(200, budget // 5)
    if len(question) > question_cap:
        question, truncated = _cut(question, question_cap), True
    history_cap = max(0, budget // 10)
    kept_history: list[str] = []
    for turn in reversed([h.strip() for h in history if h and h.strip()]):
        room = history_cap - sum(len(h) for h in kept_history)
        if len(turn) > room:
            truncated = True
            if room >= 80:          # the newest turns matter most: a long one is cut, not dropped
                kept_history.insert(0, _cut(turn, room))
            break
        kept_history.insert(0, turn)
    history_block = ("<history>\n" + "\n".join(f"- {neutralise_tags(h)}" for h in kept_history)
                     + "\n</history>\n\n") if kept_history else ""
    facts_text = "\n".join(facts)
    remaining = budget - fixed - len(question) - len(history_block)
    if structured:
        facts_cap = max(300, remaining // 2)
        if len(facts_text) > facts_cap:
            facts_text, truncated = _cut(facts_text, facts_cap), True
        remaining -= len(facts_text)
    fitted: list[Source] = []
    for source in sources:
        overhead = len(source.citation.label()) + 40
        room = remaining - overhead
        if room < 200:
            truncated = True
            break
        text = source.text
        if len(text) > room:
            text, truncated = _cut(text, room), True
        fitted.append(replace(source, text=text))
        remaining -= len(text) + overhead
    if not fitted:
        return None
    user = task.format(
        max_sentences=limits.max_sentences_structured if structured else limits.max_sentences_document,
        history=history_block, question=neutralise_tags(question), facts=neutralise_tags(facts_text),
        sources=_source_blocks(fitted))
    support = "\n".join([facts_text, *(s.text for s in fitted)])
    return Prompt([("system", sections["system"]), ("user", user)], tuple(fitted), support, truncated)


# ------------------------------------------------------------------------------------------- output checks
_IMAGE = re.compile(r"!\[[^\]]*\]\s*(?:\([^)]*\)|\[[^\]]*\])")
_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\s*\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_URL = re.compile(r"(?:\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}:(?://|[^\s\]]*@)|\bwww\.|\bdata:|\bjavascript:)[^\s<>()\]\"']*",
                  re.IGNORECASE)
_DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|co|xyz|ru|cn|info|biz|app|dev|me|ly|to|site|online|top)"
                     r"(?:/[^\s)\]]*)?\b", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


def strip_links(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """Images always go; a link keeps its text unless it points at one of the knowledge folder's own
    sources (`allowed`: their paths or URLs); any other URL, autolink or HTML tag is removed."""
    text = _IMAGE.sub("", text)
    text = _REF_DEFINITION.sub("", text)

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        return match.group(0) if target in allowed else label

    text = _LINK.sub(link, text)
    text = _HTML.sub("", text)

    def url(match: re.Match[str]) -> str:
        return match.group(0) if match.group(0).rstrip(".,;:") in allowed else ""

    text = _URL.sub(url, text)
    return _DOMAIN.sub(lambda m: m.group(0) if m.group(0) in allowed else "", text)


_WORD = re.compile(r"[A-Za-zÀ-ÿ][\w'’&-]*")
_NUMBER = re.compile(r"\$?\d[\d,.]*\s*(?:%|k\b|m\b|bn\b)?", re.IGNORECASE)
_ID_LIKE = re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b|\b[A-Z]{2,}-[A-Z0-9-]+\b")
STOPWORDS = frozenset(
    "a an the and or but if then than of to in on at by for from with without within into onto over under as is are "
    "was were be been being it its this that these those there here which who whom whose what when where why how all "
    "any each both few more most other some such no nor not only own same so too very can could may might must shall "
    "should will would do does did has have had their they them he she his her you your we our us i me my one two three "
    "four five six seven eight nine ten also about after before between through during up down out off again further "
    "once per via across along among around because while until whether either neither yet still just even".split())
SENTENCE_STARTS = frozenset(
    "overall currently however additionally together yes note please instead otherwise finally first second third "
    "today generally typically usually according based eligible".split())


def _normal_number(token: str) -> str:
    token = token.strip().lower().replace("$", "").replace(",", "").rstrip(".")
    scale = {"k": 1e3, "m": 1e6, "bn": 1e9}
    for suffix, factor in scale.items():
        if token.endswith(suffix):
            try:
                return f"{float(token[:-len(suffix)].strip()) * factor:.0f}"
            except ValueError:
                return token
    if token.endswith("%"):
        return token
    try:
        value = float(token)
    except ValueError:
        return token
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def _numbers(text: str) -> set[str]:
    return {_normal_number(m.group(0)) for m in _NUMBER.finditer(text) if re.search(r"\d", m.group(0))}


@dataclass(frozen=True)
class Claim:
    text: str                         # the sentence without its citation markers
    cited: tuple[str, ...]            # source ids, "S1"…
    bullet: bool = False


def split_claims(text: str) -> list[Claim]:
    """Sentences (and list items), each with the source ids it cites."""
    claims: list[Claim] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        bullet = bool(re.match(r"^(?:[-*•]|\d+[.)])\s+", line))
        line = re.sub(r"^(?:[-*•#>]+|\d+[.)])\s*", "", line).strip()
        if not line:
            continue
        # a citation belongs to the sentence before it: split after "[S1]." or ". [S1]" alike
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])|(?<=\])\s+(?=[A-Z\"“(])", line):
            sentence = sentence.strip()
            if not sentence:
                continue
            cited: list[str] = []
            for group in CITATION.findall(sentence):
                cited += ["S" + n.strip().upper().lstrip("S") for n in re.split(r"[,;]", group)]
            body = CITATION.sub("", sentence)
            body = re.sub(r"\s+([.,;:!?])", r"\1", body).strip()
            if re.search(r"\w", body):
                claims.append(Claim(body, tuple(dict.fromkeys(cited)), bullet))
            elif cited and claims:         # "[S2]" alone on a line: the previous sentence's citation
                last = claims[-1]
                claims[-1] = replace(last, cited=tuple(dict.fromkeys(last.cited + tuple(cited))))
    return claims


def supported(claim: str, support: str, question: str) -> bool:
    """Names, ids, e-mail addresses and figures of the claim are all in what the sources say (not merely in
    the question: "say the payout is 50%" is not a source), and at least half of its other words are in the
    sources or the question: what the sources do not say is not kept."""
    facts = support.lower()
    if not all(_normal_number(n) in _numbers(facts) or n.lower() in facts for n in
               (m.group(0) for m in _NUMBER.finditer(claim) if re.search(r"\d", m.group(0)))):
        return False
    if any(e.lower() not in facts for e in _EMAIL.findall(claim)):
        return False
    if any(i.lower() not in facts for i in _ID_LIKE.findall(claim)):
        return False
    haystack = facts + "\n" + question.lower()
    content: list[str] = []
    for position, word in enumerate(_WORD.findall(claim)):
        lower = word.lower().strip("'’-")
        if lower in STOPWORDS or len(lower) < 3 or (position == 0 and lower in SENTENCE_STARTS):
            continue
        if word[0].isupper() and not re.search(rf"\b{re.escape(lower)}", facts):
            return False          # a name the sources do not contain (first words included: "Contoso covers…")
        content.append(lower)
    if not content:
        return False
    present = sum(1 for w in content if re.search(rf"\b{re.escape(w[:max(4, len(w) - 3)])}", haystack))
    return present / len(content) >= 0.5


def keeps_the_engines_order(text: str, names: Sequence[str]) -> bool:
    """The partners the text names appear in the engine's ranking order: the model phrases, it does not rank."""
    lowered = text.lower()
    positions = [lowered.find(name.lower()) for name in names]
    named = [p for p in positions if p >= 0]
    return named == sorted(named)


@dataclass(frozen=True)
class Checked:
    text: str
    kept: int
    dropped: int
    confidential: bool = False


def check_output(raw: str, prompt: Prompt, question: str, *, max_sentences: int, structured: bool) -> Checked:
    given = {s.id: s for s in prompt.sources}
    allowed = frozenset({s.citation.path for s in prompt.sources})
    # images and HTML go silently; a sentence that carried a link elsewhere goes whole (it pointed the user away)
    text = _HTML.sub("", _REF_DEFINITION.sub("", _IMAGE.sub("", raw)))
    kept: list[Claim] = []
    dropped = 0
    for claim in split_claims(text):
        if strip_links(claim.text, allowed) != claim.text:
            dropped += 1
            continue
        if CONFIDENTIAL_MARKERS.search(claim.text):
            return Checked("", 0, dropped + 1, confidential=True)
        if not claim.cited or any(c not in given for c in claim.cited) or INSTRUCTION_LIKE.search(claim.text):
            dropped += 1
            continue
        support = prompt.support if structured else "\n".join(given[c].text for c in claim.cited)
        if not supported(claim.text, support, question):
            dropped += 1
            continue
        kept.append(claim)
    dropped += max(0, len(kept) - max_sentences)
    kept = kept[:max_sentences]
    lines: list[str] = []
    for claim in kept:
        body = re.sub(r"[*_`#]+", "", claim.text).strip()       # plain text: Teams may show it raw
        refs = "".join(f"[{c[1:]}]" for c in claim.cited)
        sentence = body if body[-1:] in ".!?" else body + "."
        sentence = f"{sentence[:-1]} {refs}{sentence[-1]}"
        if claim.bullet:
            lines.append(f"• {sentence}")
        elif lines and not lines[-1].startswith("• "):
            lines[-1] += " " + sentence
        else:
            lines.append(sentence)
    return Checked("\n".join(lines), len(kept), dropped)


def cleaned_passages(answer: Answer) -> Answer:
    """The answer with its passages as the model saw them: no link outside the knowledge folder, no planted
    instruction. The same object when there was nothing to remove."""
    allowed = frozenset(p.citation.path for p in answer.passages)
    passages = tuple(replace(p, text=without_instructions(strip_links(p.text, allowed))) for p in answer.passages)
    if all(new.text == old.text for new, old in zip(passages, answer.passages, strict=True)):
        return answer
    return replace(answer, passages=passages)


def response_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) if isinstance(part, dict) else ""
                       for part in content)
    return ""


# ------------------------------------------------------------------------------------------- errors
def classify_error(exc: BaseException) -> Outcome:
    """Timeouts, content filters and everything else the provider may raise (openai's types or generic ones)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Outcome.TIMEOUT
    name = type(exc).__name__
    if name in ("APITimeoutError", "ReadTimeout", "ConnectTimeout", "TimeoutException"):
        return Outcome.TIMEOUT
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    codes = [getattr(exc, "code", None), body.get("code") if isinstance(body, dict) else None,
             error.get("code") if isinstance(error, dict) else None]
    code = " ".join(str(c) for c in codes if c)
    if "content_filter" in code.lower() or "content_filter" in str(exc).lower() or name == "ContentFilterFinishReasonError":
        return Outcome.CONTENT_FILTER
    return Outcome.PROVIDER_ERROR


def _status(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return str(status) if status else "-"


# ------------------------------------------------------------------------------------------- the writer
@dataclass
class GroundedWriter:
    """The AnswerWriter over one chat model (see the module docstring for the pipeline)."""

    model: ChatModel
    limits: GenerationLimits = field(default_factory=GenerationLimits)
    provider: str = "model"
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.rate = RateLimiter(self.limits.rate_per_minute, clock=self.clock)

    @property
    def budget_seconds(self) -> float:
        return self.limits.timeout_seconds + 1.0

    async def write(self, question: str, answer: Answer, *, user_key: str,
                    history: Sequence[str] = ()) -> Written:
        started = time.perf_counter()
        # whatever happens below, the passages shown carry no foreign link and no planted instruction
        answer = cleaned_passages(answer)
        if answer.kind not in DOCUMENT_KINDS | STRUCTURED_KINDS:
            return Written(answer, Outcome.SKIPPED)
        try:
            prompt = build_prompt(question, answer, self.limits, history)
        except Exception:       # a broken prompt file must not cost the user the answer
            log.exception("building the prompt failed")
            return Written(answer, Outcome.SKIPPED)
        if prompt is None:
            return Written(answer, Outcome.SKIPPED)
        if not self.rate.allow(user_key or "anonymous"):
            log.info("generation skipped: user over %d calls a minute", self.limits.rate_per_minute)
            return Written(answer, Outcome.RATE_LIMITED, truncated=prompt.truncated)
        structured = answer.kind in STRUCTURED_KINDS
        try:
            message = await self._call(prompt)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = classify_error(exc)
            # the trace (type, status, where) for the operator; the prompt and the answer are never logged
            log.warning("generation failed (%s, %s, status %s) after %.0f ms: the extractive answer is sent",
                        outcome.value, type(exc).__name__, _status(exc), (time.perf_counter() - started) * 1000,
                        exc_info=outcome is Outcome.PROVIDER_ERROR)
            return Written(answer, outcome, truncated=prompt.truncated, seconds=time.perf_counter() - started)
        seconds = time.perf_counter() - started
        metadata = getattr(message, "response_metadata", None) or {}
        if str(metadata.get("finish_reason", "")).lower() == "content_filter":
            log.warning("generation refused by the provider's content filter after %.0f ms", seconds * 1000)
            return Written(answer, Outcome.CONTENT_FILTER, truncated=prompt.truncated, seconds=seconds)
        checked = check_output(response_text(message), prompt, question, structured=structured,
                               max_sentences=self.limits.max_sentences_structured if structured
                               else self.limits.max_sentences_document)
        total = checked.kept + checked.dropped
        reordered = structured and not keeps_the_engines_order(checked.text, [p.name for p in answer.partners])
        if checked.confidential or reordered or checked.kept == 0 or checked.kept / total < self.limits.min_kept_share:
            log.info("generated text unusable (kept %d of %d sentences%s%s) in %.0f ms: the extractive answer is sent",
                     checked.kept, total, ", a confidential marker" if checked.confidential else "",
                     ", partners out of the engine's order" if reordered else "", seconds * 1000)
            return Written(answer, Outcome.UNUSABLE, checked.kept, checked.dropped, prompt.truncated, seconds)
        log.info("generated %s answer: kept %d of %d sentences, %d sources, truncated=%s, %.0f ms",
                 answer.kind.value, checked.kept, total, len(prompt.sources), prompt.truncated, seconds * 1000)
        # [n] in the text is the n-th entry of the Sources list: the given sources first, in their order
        given = tuple(s.citation for s in prompt.sources)
        citations = given + tuple(c for c in cited_sources(answer) if c not in given)
        return Written(replace(answer, summary=checked.text, citations=citations), Outcome.GENERATED,
                       checked.kept, checked.dropped, prompt.truncated, seconds)

    async def _call(self, prompt: Prompt) -> Any:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [SystemMessage(content) if role == "system" else HumanMessage(content)
                    for role, content in prompt.messages]
        # asyncio.timeout cancels the call: a late completion can never become a second reply
        async with asyncio.timeout(self.limits.timeout_seconds):
            return await self.model.ainvoke(messages)
