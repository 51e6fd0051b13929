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

Modules: `contract` (what the dialogs see: `AnswerWriter`, `Written`, `Outcome`, `GenerationLimits`),
`rate_limit`, `sources` (what the model may ground on), `prompt` (the data file filled within the token
budget), `guardrails` (checks on the output) and `writer` (`GroundedWriter`, which runs them in order).
"""
from __future__ import annotations

from retrieval.generation.contract import AnswerWriter, ChatModel, GenerationLimits, Outcome, Written
from retrieval.generation.guardrails import (
    CITATION,
    CONFIDENTIAL_MARKERS,
    Checked,
    Claim,
    check_output,
    cleaned_passages,
    keeps_the_engines_order,
    response_text,
    split_claims,
    strip_links,
    supported,
)
from retrieval.generation.prompt import (
    DOCUMENT_KINDS,
    PROMPT_FILE,
    STRUCTURED_KINDS,
    Prompt,
    build_prompt,
    prompt_sections,
)
from retrieval.generation.rate_limit import RateLimiter
from retrieval.generation.sources import (
    CHARS_PER_TOKEN,
    INSTRUCTION_LIKE,
    Source,
    document_sources,
    estimate_tokens,
    neutralise_tags,
    structured_facts,
    without_instructions,
)
from retrieval.generation.writer import GroundedWriter, classify_error

__all__ = [
    "CHARS_PER_TOKEN", "CITATION", "CONFIDENTIAL_MARKERS", "DOCUMENT_KINDS", "INSTRUCTION_LIKE", "PROMPT_FILE",
    "STRUCTURED_KINDS", "AnswerWriter", "ChatModel", "Checked", "Claim", "GenerationLimits", "GroundedWriter",
    "Outcome", "Prompt", "RateLimiter", "Source", "Written", "build_prompt", "check_output", "classify_error",
    "cleaned_passages", "document_sources", "estimate_tokens", "keeps_the_engines_order", "neutralise_tags",
    "prompt_sections", "response_text", "split_claims", "strip_links", "structured_facts", "supported",
    "without_instructions",
]
