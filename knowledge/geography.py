"""Places: ISO 3166 codes from pycountry, plus what people type (adjectives, colloquial names, regions).

Data cells hold alpha-2 codes, but exports sometimes hold names; `to_country_code` accepts both.
`place_phrases` gives every phrase that names a place, for linking what a user typed.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pycountry

from knowledge.structured_files import read_data_file

_DATA = Path(__file__).with_name("data") / "geography.yaml"


@dataclass(frozen=True)
class Place:
    label: str                    # "Germany", "DACH"
    codes: tuple[str, ...]        # ("DE",) or ("DE", "AT", "CH")
    is_group: bool = False


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    return read_data_file(_DATA)   # the project's one bounded YAML loader


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


@functools.lru_cache(maxsize=1)
def place_phrases() -> dict[str, Place]:
    """Lower-cased phrase -> Place, for every name, adjective and region a user may type."""
    data = _data()
    phrases: dict[str, Place] = {}

    def add(phrase: str, place: Place) -> None:
        key = phrase.strip().lower()
        if key and key not in phrases:
            phrases[key] = place

    # Curated names first so "UK" means GB and the region names win over any country.
    for group, spec in data["groups"].items():
        place = Place(group, tuple(spec["members"]), True)
        for name in [group, *spec.get("names", [])]:
            add(name, place)
    for code, names in data["colloquial"].items():
        for name in names:
            add(name, Place(country_name(code), (code,)))
    for code, names in data["demonyms"].items():
        for name in names:
            add(name, Place(country_name(code), (code,)))
    for country in pycountry.countries:
        place = Place(getattr(country, "common_name", None) or country.name, (country.alpha_2,))
        for attr in ("common_name", "name", "official_name"):
            name = getattr(country, attr, None)
            if name:
                add(name, place)
                if "," in name:  # "Korea, Republic of" -> "Korea"
                    add(name.split(",")[0], place)
        add("the " + place.label, place)
    return phrases


@functools.lru_cache(maxsize=1)
def ambiguous_codes() -> frozenset[str]:
    return frozenset(_data().get("ambiguous_codes", []))


@functools.lru_cache(maxsize=4096)
def to_country_code(value: str) -> str | None:
    """A data cell ("DE", "de", "DEU", "Germany") to its alpha-2 code; None if not a country."""
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()):
        return text.upper()
    if len(text) == 3 and text.isalpha():
        country = pycountry.countries.get(alpha_3=text.upper())
        if country:
            return country.alpha_2
    place = place_phrases().get(text.lower())
    if place and not place.is_group:
        return place.codes[0]
    return None


def region_codes(value: str) -> tuple[str, ...]:
    """A data cell naming a country or a region ("DACH") to its codes; () if unknown."""
    code = to_country_code(value)
    if code:
        return (code,)
    place = place_phrases().get(str(value).strip().lower())
    return place.codes if place else ()
