"""What the dialogs see of generation: the `AnswerWriter` interface, its `Written` result and `Outcome`, the limits."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from retrieval.answers import Answer


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
