"""Explanation templates: the sentence a rule's finding is explained with, filled from what it matched.

```yaml
explanation: >-
  You offer {$t} in {$r}, and none of your licences covers {$t} there.
```

A template is text with placeholders in braces:

  {$r}                      a variable the rule's conditions bind ($r, $t, ...)
  {service.type}            a field of the fact the rule's first `service` condition matched;
  {service.attributes.users}  fields of derived facts too ({internet_access_service.permit})
  {as_of}                   the date the assessment applies the law at
  {deadline} {applies_from} {applies_until}   the rule's own dates (the rule must set them)
  {...|or}                  several values joined with "or" (the default is "and")
  {...|code}                the value as the profile states it (cdn, CN-GD) instead of in words
  {{ and }}                 literal braces

Values read as words: `cdn` is "CDN", `CN-GD` "Guangdong (CN-GD)", a date "31 March 2017". When a rule
fired on several matches (a service in three regions), a placeholder lists every distinct value:
"Beijing (CN-BJ), Guangdong (CN-GD) and Shanghai (CN-SH)".

Templates are checked with the rule: a variable must be bound in every alternative of the rule's
conditions, a fact must be matched in every alternative, and its field must be one the condition
tests (or one every such fact carries, such as service.type), so the profile is sure to state it:
a placeholder never comes out empty.
Nothing in a template is evaluated: placeholders name values, and our code writes them in.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.profile.facts import ALWAYS_STATED

from .conditions import AS_OF, VAR_PATTERN, Pattern, Variant

if TYPE_CHECKING:
    from service.profile.facts import FieldSpec

DATES = ("as_of", "deadline", "applies_from", "applies_until")
FILTERS = ("or", "and", "code")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)$")

#: Tests that hold only when the field has a value: a placeholder may name a field tested so.
_NEEDS_VALUE = {"eq", "in", "gte", "gt", "lte", "lt", "includes", "includes_any", "covers", "within", "overlaps"}


@dataclass(frozen=True)
class Placeholder:
    text: str  # as written, for messages: "{service.type|or}"
    kind: str  # "var", "field" or "date"
    name: str  # "$r", "service" or "deadline"
    field: str = ""  # "type", "attributes.users"
    conjunction: str = "and"
    code: bool = False


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Placeholder, ...]
    placeholders: tuple[Placeholder, ...] = ()


def parse(text: str) -> tuple[Template | None, list[str]]:
    """A template's text -> its parts, or the syntax errors found."""
    parts: list[str | Placeholder] = []
    errors: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token in ("{", "}"):
            errors.append(f"unmatched {token!r} at character {m.start() + 1}: write {token * 2} for a literal brace")
        else:
            placeholder = _placeholder(token, m.group(1).strip())
            if isinstance(placeholder, str):
                errors.append(placeholder)
            else:
                parts.append(placeholder)
    if pos < len(text):
        parts.append(text[pos:])
    merged: list[str | Placeholder] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if errors:
        return None, errors
    return Template(text, tuple(merged), tuple(p for p in merged if isinstance(p, Placeholder))), []


def _placeholder(token: str, inner: str) -> Placeholder | str:
    """A placeholder, or what is wrong with it."""
    body, _, filters = inner.partition("|")
    body = body.strip()
    conjunction, code = "and", False
    for f in (x.strip() for x in filters.split("|")) if filters else ():
        if f not in FILTERS:
            return f"{token}: unknown filter {f!r} (expected {', '.join(FILTERS)})"
        if f == "code":
            code = True
        else:
            conjunction = f
    if not body:
        return f"{token}: an empty placeholder (write {{{{ for a literal brace)"
    if body.startswith("$"):
        if body == AS_OF:
            return f"{token}: write {{as_of}} for the assessment's date"
        if not VAR_PATTERN.match(body):
            return f"{token}: {body!r} is not a variable name ($ and a lower-case identifier)"
        return Placeholder(token, "var", body, conjunction=conjunction, code=code)
    if body in DATES:
        return Placeholder(token, "date", body, conjunction=conjunction, code=code)
    m = _FIELD.match(body)
    if not m:
        return f"{token}: expected a variable ($r), a fact and field (service.type) or one of {', '.join(DATES)}"
    return Placeholder(token, "field", m.group(1), m.group(2), conjunction, code)


def first_pattern(variant: Variant, fact: str) -> tuple[int, Pattern] | None:
    """The first positive pattern on `fact` in a variant, with its index among the positive patterns
    (the engine's alias for it is `p<index>`)."""
    index = 0
    for pattern in variant.patterns:
        if pattern.negated:
            continue
        if pattern.fact == fact:
            return index, pattern
        index += 1
    return None


def check(template: Template, variants: list[Variant], fields: dict[str, dict[str, FieldSpec]],
          derived: set[str], dates: Mapping[str, object]) -> list[str]:
    """What is wrong with a template for a rule with these variants (empty: nothing)."""
    errors: list[str] = []
    for p in template.placeholders:
        if p.kind == "var":
            missing = [i for i, v in enumerate(variants) if p.name not in v.bindings]
            if len(missing) == len(variants):
                bound = sorted({name for v in variants for name in v.bindings})
                errors.append(f"{p.text}: no condition of the rule binds {p.name}"
                              + (f" (bound: {', '.join(bound)})" if bound else " (it binds no variable)"))
            elif missing:
                errors.append(f"{p.text}: {p.name} is not bound in every alternative of the rule's `any` "
                              f"(alternatives {', '.join(str(i + 1) for i in missing)} do not bind it)")
        elif p.kind == "date":
            if p.name != "as_of" and dates.get(p.name) is None:
                errors.append(f"{p.text}: the rule has no {p.name}")
        else:
            known = fields.get(p.name)
            if known is None:
                errors.append(f"{p.text}: {p.name!r} is neither a profile fact nor derived by any rule")
                continue
            if p.field not in known:
                errors.append(f"{p.text}: {p.name} has no field {p.field!r} (fields: {', '.join(sorted(known))})")
                continue
            for i, variant in enumerate(variants):
                found = first_pattern(variant, p.name)
                where = f"alternative {i + 1} of the rule's `any`" if len(variants) > 1 else "the rule's conditions"
                if found is None:
                    errors.append(f"{p.text}: {where} match no {p.name} fact")
                    break
                if p.name not in derived and (p.name, p.field) not in ALWAYS_STATED and not _tested(found[1], p.field):
                    errors.append(f"{p.text}: {where} do not test {p.name}.{p.field} on the first {p.name} "
                                  "condition, so the profile may not state it (test it, or bind it to a variable)")
                    break
    return errors


def _tested(pattern: Pattern, field: str) -> bool:
    return any(t.field == field and (t.op in _NEEDS_VALUE or (t.op == "given" and t.value is True))
               for t in pattern.tests)
