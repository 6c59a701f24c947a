"""The words a person is shown for the profile's codes, attached to its published JSON Schema.

A form built from the schema (the page's, or any client's) needs more than the codes: "Cloud computing" for
`cloud_computing`, "Guangdong (CN-GD)" for `CN-GD`. Each enumeration, and each open code a form can offer
(regions, countries), gets `x-labels`: code -> words, taken from `labels.py` (the same words explanations
use) and `regions.py`. The words are annotations: they change nothing that validates.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from . import labels, model, regions
from .facts import FieldSpec

KEYWORD = "x-labels"

#: The enumerations of the profile, by the name their schema has under $defs.
ENUMS: dict[str, type[StrEnum]] = {name: value for name, value in vars(model).items()
                                   if isinstance(value, type) and issubclass(value, StrEnum)
                                   and value.__module__ == model.__name__}
COUNTRY_PATTERN = r"^[A-Z]{2}$"


def as_label(words: str) -> str:
    """A phrase written to follow "you provide" ("an app store") as a form shows it: "App store"."""
    for article in ("a ", "an ", "the "):
        if words.startswith(article):
            words = words[len(article):]
            break
    return words[:1].upper() + words[1:]


def enum_labels(enum: type[StrEnum]) -> dict[str, str]:
    values = tuple(m.value for m in enum)
    return {v: as_label(labels.word(v, FieldSpec("enum", values))) for v in values}


def region_labels() -> dict[str, str]:
    codes = [regions.COUNTRY, *regions.PROVINCES, *regions.CITIES]
    return {code: as_label(labels.region(code)) for code in codes}


def country_labels() -> dict[str, str]:
    return {code: as_label(labels.country(code)) for code in labels.COUNTRIES}


def annotate(schema: dict[str, Any]) -> dict[str, Any]:
    """Add `x-labels` to the profile's schema (in place) and return it."""
    for name, node in schema.get("$defs", {}).items():
        if name in ENUMS and "enum" in node:
            node[KEYWORD] = enum_labels(ENUMS[name])
    by_pattern = {regions.REGION_EXACT_PATTERN: region_labels(), COUNTRY_PATTERN: country_labels()}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("pattern") in by_pattern:
                node[KEYWORD] = by_pattern[node["pattern"]]
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)
    return schema
