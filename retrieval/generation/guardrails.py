"""Checks on what the model wrote, before anyone sees it.

Links and images not from the knowledge folder are removed; a sentence is kept only when it cites given
sources, its names, ids and figures are in those sources, and it is neither an instruction nor confidential.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from retrieval.answers import Answer
from retrieval.generation.prompt import Prompt
from retrieval.generation.sources import INSTRUCTION_LIKE, without_instructions

CITATION = re.compile(r"\[\s*(S\d+(?:\s*[,;]\s*S?\d+)*)\s*\]", re.IGNORECASE)
CONFIDENTIAL_MARKERS = re.compile(
    r"\bconfidential\b|\binternal[- ]only\b|\bdo not (?:share|forward|distribute)\b|\bnot for (?:external )?distribution\b"
    r"|\bsecret\b|\bunder nda\b|\binternal notes?\b", re.IGNORECASE)


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
