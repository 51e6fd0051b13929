"""Reading a user's reply to a question ("B", "2", "option 3", the option's text with small typos) and describing
options back."""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from retrieval.catalog import normalize
from retrieval.quiz.model import LETTERS, QuizQuestion, letter

_LEAD_IN = re.compile(r"^(?:(?:i\s+think|i\s+guess|maybe|probably|my\s+answer\s+is|the\s+answer\s+is|answer(?:\s+is)?|"
                      r"it'?s|it\s+is|option|choice|number|no\.?|#)\s*[:\-]?\s*)+", re.IGNORECASE)
_LETTER = re.compile(r"^[(\[]?\s*([a-h])\s*[)\].:]?$", re.IGNORECASE)
_NUMBER = re.compile(r"^[(\[]?\s*(\d{1,2})\s*[)\].:]?$")
_AMOUNT = re.compile(r"^\$?\s*(\d[\d,. ]*)\s*(k|m)?\s*(?:usd|\$)?$", re.IGNORECASE)


def _amount(text: str) -> float | None:
    match = _AMOUNT.match(text.strip())
    if not match:
        return None
    digits = match.group(1).replace(",", "").replace(" ", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return value * {"k": 1_000, "m": 1_000_000}.get((match.group(2) or "").lower(), 1)


def check_answer(question: QuizQuestion, reply: str) -> int | None:
    """The option a reply picks: 'A', 'b)', '(c)', '2', 'option 3', or the option's text (small typos allowed)."""
    said = " ".join((reply or "").replace("’", "'").split()).strip(" !?")
    if not said:
        return None
    count = len(question.options)
    wanted = normalize(said)
    # the option's own text first: an option may itself look like a number
    for index, option in enumerate(question.options):
        if normalize(option) == wanted or option.strip().lower() == said.lower():
            return index
    bare = _LEAD_IN.sub("", said).strip().rstrip(".")
    for pattern, base in ((_LETTER, None), (_NUMBER, 1)):
        match = pattern.match(bare)
        if match:
            token = match.group(1)
            index = int(token) - 1 if base else LETTERS.index(token.upper())
            if 0 <= index < count:
                return index
    if bare != said:
        for index, option in enumerate(question.options):
            if normalize(option) == normalize(bare):
                return index
    value = _amount(bare)
    if value is not None and value >= 10:
        hits = [i for i, option in enumerate(question.options) if _amount(option) == value]
        if len(hits) == 1:
            return hits[0]
    wanted = normalize(bare)
    if len(wanted) < 3:
        return None
    ratios = sorted(((difflib.SequenceMatcher(None, wanted, normalize(o)).ratio(), i)
                     for i, o in enumerate(question.options)), reverse=True)
    best, index = ratios[0]
    runner_up = ratios[1][0] if len(ratios) > 1 else 0.0
    if best >= 0.8 and best - runner_up >= 0.1:
        return index
    # part of one option's name, as whole words ("Alpha" for "Alpha Cloud"), when no other option has it
    if len(wanted) >= 4:
        inside = [i for i, o in enumerate(question.options) if f" {wanted} " in f" {normalize(o)} "]
        if len(inside) == 1:
            return inside[0]
    return None


def describe(question: QuizQuestion, index: int | None = None) -> str:
    """'B) Alpha Cloud' for an option (the correct one by default)."""
    index = question.correct if index is None else index
    return f"{letter(index)}) {question.options[index]}"


def options_text(options: Sequence[str]) -> str:
    return "\n".join(f"{letter(i)}) {o}" for i, o in enumerate(options))
