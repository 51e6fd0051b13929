"""YAML documents: Learn FAQ pages (`### YamlMime:FAQ`) become one section per question; other YAML reads as `key: value` lines."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from knowledge.documents.base import DocumentError, Parsed, read_text, yaml_where
from knowledge.documents.markdown import clean_markdown_inline, markdown_to_text
from knowledge.documents.normalise import normalise_inline
from knowledge.records import Section
from knowledge.structured_files import UnsafeYamlError, load_yaml


def parse_yaml(path: Path) -> Parsed:
    text = read_text(path)
    try:
        data = load_yaml(text)
    except UnsafeYamlError as exc:
        raise DocumentError(str(exc)) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML{yaml_where(exc)}") from exc
    meta: dict[Any, Any] = data["metadata"] if isinstance(data, dict) and isinstance(data.get("metadata"), dict) else {}
    front: dict[str, Any] = {}
    if isinstance(data, dict):
        # Access and metadata keys may sit at the top or under Learn's `metadata:` block.
        front = {**{str(k): v for k, v in meta.items()}, **{str(k): v for k, v in data.items() if k != "metadata"}}
    title = normalise_inline(str(front.get("title") or ""))
    if _is_learn_faq(text, data):
        assert isinstance(data, dict)
        return Parsed(title=title, sections=list(_faq_sections(data)), kind="faq", front=front,
                       empty_hint=" (the FAQ has no questions)")
    if isinstance(data, dict) and not title:
        title = normalise_inline(str(data.get("name") or ""))
    body = "\n".join(_render_yaml(data))
    return Parsed(title=title, sections=[Section("", body)], front=front)


def _is_learn_faq(text: str, data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return False
    if text.lstrip().startswith("### YamlMime:FAQ"):
        return True
    return any(isinstance(s, dict) and isinstance(s.get("questions"), list) for s in data["sections"])


def _faq_sections(data: dict[str, Any]) -> Iterator[Section]:
    for group in data.get("sections") or []:
        if not isinstance(group, dict):
            continue
        for entry in group.get("questions") or []:
            if not isinstance(entry, dict):
                continue
            question = clean_markdown_inline(normalise_inline(str(entry.get("question") or "")))
            answer = markdown_to_text(str(entry.get("answer") or ""))
            if question and answer:
                yield Section(heading=question, text=answer)


def _render_yaml(value: Any, indent: str = "") -> Iterator[str]:
    """A YAML value as readable `key: value` lines; nested mappings and lists are indented."""
    if isinstance(value, dict):
        for key, item in value.items():
            label = str(key).replace("_", " ")
            if isinstance(item, (dict, list)) and item:
                yield f"{indent}{label}:"
                yield from _render_yaml(item, indent + "  ")
            else:
                yield f"{indent}{label}: {_scalar(item)}"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_render_yaml(item, indent + "  "))
                yield f"{indent}- {lines[0].strip()}"
                yield from lines[1:]
            else:
                yield f"{indent}- {_scalar(item)}"
    elif value is not None:
        yield f"{indent}{_scalar(value)}"


def _scalar(value: Any) -> str:
    if value is None or value in ({}, []):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return normalise_inline(str(value))
