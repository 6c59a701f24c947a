"""`explanation`: a finding in one or two plain sentences, from the rule's template and what it matched.

The template is the analyst's (rules/*.yaml, checked by `service/rulebase/explanations.py`); this
module only fills its placeholders with the matched values in words. A rule without a template
gets a sentence made of its title and its reasons, so an obligation always carries one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from service.profile import labels
from service.profile.facts import FACT_TYPES, FieldSpec, number_date
from service.rulebase.explanations import Placeholder, Template, first_pattern
from service.rulebase.ruleset import RuleSpec

from .compiler import CompiledRule, Match

FALLBACK_REASONS = 4
#: The distinct values a placeholder takes over the matches: (value, number of its field's kind in `_specs`) each,
#: a list value as a tuple (so it can be a key).
Found = tuple[tuple[Any, int], ...]
#: Where a placeholder's value is in a match: the alias, the field's path, and the number of its kind in `_specs`.
Source = tuple[str, tuple[str, ...], int]


class Sentences:
    """Fills templates in. Built once per compiled rule set; what it works out is kept, because the same
    rules fire on the same kinds of facts in evaluation after evaluation."""

    CACHE_LIMIT = 20_000

    def __init__(self, derived: dict[str, dict[str, FieldSpec]]):
        self.types = {**FACT_TYPES, **derived}
        self._sources: dict[tuple[int, str], Source | None] = {}
        self._specs: list[FieldSpec | None] = []  # the kinds of field values come from, by number (cheap to hash)
        self._words: dict[tuple[Any, int, bool], tuple[str, ...]] = {}
        self._texts: dict[tuple[int, tuple[Found, ...], dt.date], str | None] = {}

    def explanation(self, spec: RuleSpec, matches: list[Match], as_of: dt.date, because: list[str]) -> str:
        text = self.render(spec.explanation, spec, matches, as_of) if spec.explanation is not None else None
        return text if text is not None else self.fallback(spec, because)

    def render(self, template: Template, spec: RuleSpec, matches: list[Match], as_of: dt.date) -> str | None:
        """The template filled in; None when a placeholder has no value (the checks make that a defect)."""
        raws = tuple([self._raw(p, matches) for p in template.placeholders]) if template.placeholders else ()
        key = (id(template), raws, as_of)
        if key in self._texts:
            return self._texts[key]
        text = self._texts[key] = self._write(template, spec, raws, as_of)
        if len(self._texts) > self.CACHE_LIMIT:
            self._texts.clear()
        return text

    def _write(self, template: Template, spec: RuleSpec, raws: tuple[Found, ...], as_of: dt.date) -> str | None:
        out: list[str] = []
        placeholders = iter(zip(template.placeholders, raws, strict=True))
        for part in template.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            p, found = next(placeholders)
            values = self._dates(p, spec, as_of) if p.kind == "date" else self._in_words(p, found)
            if not values:
                return None
            out.append(labels.join(values, p.conjunction))
        text = "".join(out).strip()
        return text[:1].upper() + text[1:]

    def _raw(self, p: Placeholder, matches: list[Match]) -> Found:
        """The distinct values a placeholder takes over the matches, with the field they come from."""
        if p.kind == "date":
            return ()
        found: dict[tuple[Any, int], None] = {}
        for compiled, match in matches:
            source = self._source(p, compiled)
            if source is None:
                continue
            alias, path, kind = source
            value: Any = match.get(alias)
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                found[(tuple(value) if isinstance(value, list) else value, kind)] = None
        return tuple(found)

    def _source(self, p: Placeholder, compiled: CompiledRule) -> Source | None:
        """Where a placeholder's value is in a match of this compiled rule."""
        key = (id(compiled), p.text)
        if key in self._sources:
            return self._sources[key]
        variant = compiled.variant
        located: tuple[str, str, FieldSpec | None] | None = None  # (alias, field, its kind)
        if p.kind == "var":
            binding = variant.bindings.get(p.name)
            if binding is not None:
                located = (f"p{binding.pattern}", binding.field, binding.spec)
        else:
            first = first_pattern(variant, p.name)
            if first is not None:
                located = (f"p{first[0]}", p.field, self.types.get(p.name, {}).get(p.field))
        source: Source | None = None
        if located is not None:
            alias, field, field_spec = located
            if field_spec not in self._specs:
                self._specs.append(field_spec)
            source = (alias, tuple(field.split(".")), self._specs.index(field_spec))
        self._sources[key] = source
        return source

    def _in_words(self, p: Placeholder, found: Found) -> list[str]:
        # text -> sort key: numbers by value, words alphabetically (not by profile order)
        texts: dict[str, tuple[int, Any, str]] = {}
        for raw, kind in found:
            key = (raw, kind, p.code)
            words = self._words.get(key)
            if words is None:
                field_spec = self._specs[kind]
                value = list(raw) if isinstance(raw, tuple) else raw
                words = tuple(_codes(value, field_spec) if p.code else labels.value(value, field_spec))
                self._words[key] = words
                if len(self._words) > self.CACHE_LIMIT:  # values come from callers: keep the memory bounded
                    self._words.clear()
            for text in words:
                texts.setdefault(text, (0, raw, "") if isinstance(raw, (int, float)) and not isinstance(raw, bool)
                                 else (1, 0, text.lower()))
        return sorted(texts, key=texts.__getitem__)

    @staticmethod
    def _dates(p: Placeholder, spec: RuleSpec, as_of: dt.date) -> list[str]:
        day = as_of if p.name == "as_of" else getattr(spec.rule, p.name)
        return [] if day is None else [day.isoformat() if p.code else labels.day(day)]

    @staticmethod
    def fallback(spec: RuleSpec, because: list[str]) -> str:
        title = spec.rule.title.rstrip(".")
        if not because:
            return f"{title}."
        shown = "; ".join(because[:FALLBACK_REASONS]) + ("; and more" if len(because) > FALLBACK_REASONS else "")
        return f"{title}. This applies because the profile shows: {shown}."



def _codes(raw: Any, spec: FieldSpec | None) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(x) for x in raw]
    if spec is not None and spec.kind == "date" and isinstance(raw, int):
        return [number_date(raw).isoformat()]
    if isinstance(raw, bool):
        return ["true" if raw else "false"]
    return [str(raw)]
