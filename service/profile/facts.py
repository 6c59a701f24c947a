"""Profile -> facts: the flat records the engine matches rules against.

The profile nests lists (a service offered in several regions, a licence with several
regions and a scope). The engine joins facts with equality tests, so each nested list
that rules join on is spread into one fact per item: one `service` fact per region,
one `licence` fact per region and covered service type. Dates become YYYYMMDD integers
(the engine compares numbers), and every region field carries the regions that contain
it (`<field>__province`, `<field>__country`) so "covers" and "within" are equality tests.

`FACT_TYPES` is the vocabulary rules may use: fact types, their fields and the values
allowed. The rule validator checks every condition against it.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from . import model, regions
from .model import DEFAULT_SCOPE, Profile


@dataclass(frozen=True)
class FieldSpec:
    """What one fact field holds, so conditions on it can be checked before they run."""

    kind: str  # enum, term, bool, number, date, region, country, list
    values: tuple[str, ...] = ()  # allowed values (enum, or items of a list)
    spread: bool = False  # a list spread into one fact per item: `includes` is an equality test
    description: str = ""


def _enum(e: type[StrEnum]) -> tuple[str, ...]:
    return tuple(m.value for m in e)


BOOL = FieldSpec("bool")
NUMBER = FieldSpec("number")
DATE = FieldSpec("date")
REGION = FieldSpec("region")
COUNTRY = FieldSpec("country")
TERM = FieldSpec("term")

FACT_TYPES: dict[str, dict[str, FieldSpec]] = {
    "business": {
        "registered_region": REGION,
        "foreign_invested": BOOL,
        "cii_operator": BOOL,
        "negative_credit_record": BOOL,
        "serious_data_incident_last_12_months": BOOL,
        "sectors": FieldSpec("list", _enum(model.Sector)),
    },
    "licence": {
        "type": FieldSpec("enum", _enum(model.LicenceType)),
        "region": REGION,
        "granted": DATE,
        "scope": FieldSpec("list", _enum(model.ServiceType), spread=True),
        "assured_corresponding_permit": BOOL,
        "assured_entry_requirements": BOOL,
        "entry_requirements_met": BOOL,
    },
    "service": {
        "type": FieldSpec("enum", _enum(model.ServiceType)),
        "region": REGION,
        "since": DATE,
        "attributes.users": NUMBER,
        "attributes.targets_minors": BOOL,
        "attributes.third_party_sdks": BOOL,
        "attributes.deep_learning_or_vr_content": BOOL,
        "attributes.profiling_with_legal_effect": BOOL,
        "attributes.self_built_telecom_equipment": BOOL,
        "attributes.content_types": FieldSpec("list", _enum(model.AdContentType)),
        "attributes.apply_for_certification": BOOL,
        "attributes.institutional_user": BOOL,
        "attributes.live_shows": BOOL,
        "attributes.filed": BOOL,
        "attributes.certification_under_revocation": BOOL,
    },
    "network_resource": {
        "kind": FieldSpec("enum", _enum(model.NetworkResourceKind)),
        "provider_licensed": BOOL,
        "recorded": BOOL,
        "sublet_for_idc_isp": BOOL,
        "provided_to_unlicensed": BOOL,
    },
    "data": {
        "category": FieldSpec("enum", _enum(model.DataCategory)),
        "subjects": FieldSpec("list"),
        "storage": FieldSpec("enum", _enum(model.Storage)),
        "location": COUNTRY,
        "volume": NUMBER,
        "purpose": TERM,
    },
    "cross_border": {
        "kind": FieldSpec("enum", _enum(model.CrossBorderKind)),
        "data_category": FieldSpec("enum", _enum(model.DataCategory)),
        "destination": COUNTRY,
        "approved": BOOL,
        "purpose": TERM,
    },
    "product": {
        "kind": FieldSpec("enum", _enum(model.ProductKind)),
        "trade": FieldSpec("enum", _enum(model.Trade)),
        "on_control_list": BOOL,
        "concerns_public_interest": BOOL,
    },
    # Where the business is: its registered region and every region a service is offered in.
    "presence": {
        "region": REGION,
        "registered": BOOL,
        "operates": BOOL,
    },
}

#: What the holder of a licence says it did (the 2017 cleanup notice's transitions).
LICENCE_FLAGS = ("assured_corresponding_permit", "assured_entry_requirements", "entry_requirements_met")

#: Fields every fact of its type carries (the profile requires them), whatever a rule tests.
ALWAYS_STATED: set[tuple[str, str]] = {
    ("licence", "type"), ("service", "type"), ("network_resource", "kind"), ("data", "category"),
    ("cross_border", "kind"), ("product", "kind"), ("presence", "region"), ("presence", "registered"),
    ("presence", "operates"),
}

#: Fact types built by the engine itself; rules cannot name them.
CONTEXT = "context"
PHASE = "phase"
START = "start"
RESERVED = {CONTEXT, PHASE, START}


def date_number(value: dt.date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


def number_date(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)


@functools.lru_cache(maxsize=4096)
def region_fields(name: str, code: str) -> Mapping[str, str]:
    """A region field plus the regions containing it, so containment is an equality test (kept, read-only: the
    same regions come again and again)."""
    lv = regions.levels(code)
    # always both companions: the engine fails (rather than not matching) when a join names a missing field
    return MappingProxyType({name: code, f"{name}__country": lv["country"],
                             f"{name}__province": lv.get("province", code)})


def _put(fact: dict[str, Any], key: str, value: Any) -> None:
    """Absent values stay absent: a rule about a fact the caller did not state must not match."""
    if value is None:
        return
    if isinstance(value, dt.date):
        value = date_number(value)
    fact[key] = value


def mainland(codes: list[str]) -> list[str]:
    """The regions the rule base reaches; a licence or service only outside the mainland gives no fact."""
    return [code for code in codes if regions.in_mainland(code)]


def _places(codes: list[str]) -> list[str | None]:
    """The regions of a licence or service, one fact each: one fact without a region when it names none."""
    return [*mainland(codes)] if codes else [None]


def expansion(profile: Profile) -> tuple[int, int]:
    """How many service and licence facts `build_facts` makes (without making them): one per service and
    region, one per licence, region and service type in scope. Joins between them are what make an
    evaluation's work grow (much) faster than the profile, so the API bounds their sum."""
    services = sum(max(1, len(s.regions)) for s in profile.services)
    licences = 0
    for lic in profile.licences:
        scope = lic.scope if lic.scope is not None else DEFAULT_SCOPE.get(lic.type, [])
        licences += max(1, len(lic.regions)) * max(1, len(set(scope)))
    return services, licences


def build_facts(profile: Profile) -> list[dict[str, Any]]:
    """Every fact of the profile, in a stable order (the same profile gives the same facts)."""
    facts: list[dict[str, Any]] = []
    b = profile.business
    business: dict[str, Any] = {"t": "business", "id": "business"}
    registered = b.registered_region if b.registered_region and regions.in_mainland(b.registered_region) else None
    if registered:
        business.update(region_fields("registered_region", registered))
    for key in ("foreign_invested", "cii_operator", "negative_credit_record", "serious_data_incident_last_12_months"):
        _put(business, key, getattr(b, key))
    business["sectors"] = sorted(set(b.sectors))
    facts.append(business)

    presence: dict[str, dict[str, Any]] = {}
    if registered:
        presence[registered] = {"registered": True, "operates": False}
    for service in profile.services:
        for code in mainland(service.regions):
            presence.setdefault(code, {"registered": False, "operates": False})["operates"] = True
    for code in sorted(presence):
        facts.append({"t": "presence", "id": f"presence:{code}", **region_fields("region", code), **presence[code]})

    for i, lic in enumerate(profile.licences):
        scope = lic.scope if lic.scope is not None else DEFAULT_SCOPE.get(lic.type, [])
        covered: list[str | None] = [*sorted(set(scope))] or [None]
        for place in _places(lic.regions):
            for item in covered:
                fact: dict[str, Any] = {"t": "licence", "id": f"licence:{i}:{place}:{item}", "type": lic.type}
                if place:
                    fact.update(region_fields("region", place))
                _put(fact, "granted", lic.granted)
                _put(fact, "scope", item)
                for key in LICENCE_FLAGS:
                    _put(fact, key, getattr(lic, key))
                fact["index"] = i
                facts.append(fact)

    for i, service in enumerate(profile.services):
        attributes = service.attributes.model_dump(exclude_none=True, exclude=set(service.attributes.model_extra or {}))
        for place in _places(service.regions):
            fact = {"t": "service", "id": f"service:{i}:{place}", "type": service.type, "index": i}
            if place:
                fact.update(region_fields("region", place))
            _put(fact, "since", service.since)
            if attributes:
                fact["attributes"] = attributes
            facts.append(fact)

    for i, res in enumerate(profile.network_resources):
        fact = {"t": "network_resource", "id": f"network_resource:{i}", "index": i, "kind": res.kind}
        for key in ("provider_licensed", "recorded", "sublet_for_idc_isp", "provided_to_unlicensed"):
            _put(fact, key, getattr(res, key))
        facts.append(fact)

    for i, holding in enumerate(profile.data):
        fact = {"t": "data", "id": f"data:{i}", "index": i, "category": holding.category,
                "subjects": sorted(set(holding.subjects))}
        for key in ("storage", "location", "volume", "purpose"):
            _put(fact, key, getattr(holding, key))
        facts.append(fact)

    for i, flow in enumerate(profile.cross_border):
        fact = {"t": "cross_border", "id": f"cross_border:{i}", "index": i, "kind": flow.kind}
        for key in ("data_category", "destination", "approved", "purpose"):
            _put(fact, key, getattr(flow, key))
        facts.append(fact)

    for i, product in enumerate(profile.products):
        fact = {"t": "product", "id": f"product:{i}", "index": i, "kind": product.kind}
        for key in ("trade", "on_control_list", "concerns_public_interest"):
            _put(fact, key, getattr(product, key))
        facts.append(fact)
    return facts


def context_fact(as_of: dt.date) -> dict[str, Any]:
    return {"t": CONTEXT, "id": CONTEXT, "as_of": date_number(as_of)}
