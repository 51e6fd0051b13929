"""`GroundedWriter`: the `AnswerWriter` over one chat model (the pipeline is in the package docstring).

Every failure (not configured for this kind, over the user's rate, a timeout, a provider error, output that
does not survive the checks) returns the extractive answer with an `Outcome`; the trace goes to the log only.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from retrieval.answers import Answer, cited_sources
from retrieval.generation.contract import ChatModel, GenerationLimits, Outcome, Written
from retrieval.generation.guardrails import check_output, cleaned_passages, keeps_the_engines_order, response_text
from retrieval.generation.prompt import DOCUMENT_KINDS, STRUCTURED_KINDS, Prompt, build_prompt
from retrieval.generation.rate_limit import RateLimiter

log = logging.getLogger(__name__)


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
    """The AnswerWriter over one chat model (see the package docstring for the pipeline)."""

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
