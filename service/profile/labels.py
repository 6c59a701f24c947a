"""Words for the profile's vocabulary: how a value reads in a sentence a person is shown.

`cdn` is "CDN", `CN-GD` is "Guangdong (CN-GD)", 20170331 (a date field) is "31 March 2017".
Explanations (`service/engine/sentences.py`) and the sentences of `wording.py` use these; the
answer's `because` keeps the codes, so both the words and the codes are there to check.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from . import model, regions
from .facts import FieldSpec, number_date

#: Service types as noun phrases that follow "you provide", "your licences cover" or "you run":
#: kinds of business read without an article ("cloud computing"), things one runs with one ("an app store").
SERVICE_TYPES: dict[str, str] = {
    "idc": "IDC", "cloud_computing": "cloud computing", "cdn": "CDN", "isp": "internet access services",
    "website_hosting": "website hosting", "basic_telecom": "basic telecom services",
    "international_dedicated_line_leasing": "international dedicated line leasing",
    "ip_address_allocation": "IP address allocation", "domain_name_registration": "domain name registration",
    "dns": "DNS", "email": "e-mail", "app_store": "an app store", "mobile_app": "a mobile app",
    "public_wlan": "public Wi-Fi (WLAN)", "public_video_surveillance": "public video surveillance",
    "iot_platform": "an IoT platform", "online_ride_hailing": "online ride-hailing",
    "connected_vehicles": "a connected-vehicle platform",
    "industrial_internet_platform": "an industrial internet platform",
    "internet_audiovisual_programmes": "internet audio-visual programmes",
    "online_audiovisual_information": "online audio-visual information services", "live_streaming": "live streaming",
    "online_advertising": "online advertising", "portal": "a portal", "search_engine": "a search engine",
    "ecommerce_platform": "an e-commerce platform", "financial_information_services": "financial information services",
    "mobile_financial_app": "a mobile financial app", "educational_app": "an educational app",
    "network_information_content_platform": "a network information content platform",
    "mobile_communications_resale": "mobile communications resale", "data_centre": "a data centre",
    "cybersecurity_threat_information": "cybersecurity threat information services",
    "credit_information": "credit information services", "user_profiling": "user profiling",
    "epidemic_prevention_app": "an epidemic-prevention app",
}

#: Licence types as they read before "permit" or "licence".
LICENCE_TYPES: dict[str, str] = {
    "IDC": "IDC", "ISP": "ISP", "CDN": "CDN", "ICP": "ICP", "BASIC_TELECOM": "basic telecom",
    "MOBILE_RESALE": "mobile resale", "INTERNET_AV_PROGRAMME": "internet audio-visual programme",
    "FINANCIAL_INFORMATION_SERVICE": "financial information service",
}

DATA_CATEGORIES: dict[str, str] = {
    "personal_information": "personal information", "sensitive_personal_information": "sensitive personal information",
    "children_personal_information": "children's personal information",
    "personal_financial_information": "personal financial information", "credit_information": "credit information",
    "health_medical_data": "health and medical data", "industrial_data": "industrial data",
    "scientific_data": "scientific data", "employee_health_information": "employee health information",
    "important_data": "important data",
}

OTHER_WORDS: dict[str, str] = {
    # network resources, cross-border flows, products, storage, advertising content, trade
    "ip_addresses": "IP addresses", "bandwidth": "bandwidth", "network_infrastructure": "network infrastructure",
    "telecom_equipment": "telecom equipment", "data_transfer": "data transfer", "dedicated_line": "dedicated line",
    "vpn": "VPN", "commercial_cryptography": "commercial cryptography products", "network_product": "network products",
    "it_product": "IT products", "on_premises": "on premises", "cloud": "cloud", "medical": "medical",
    "pharmaceutical": "pharmaceutical", "medical_equipment": "medical equipment", "health_food": "health food",
    "food": "food", "real_estate": "real estate", "financial_investment": "financial investment",
    "import": "import", "export": "export", "domestic": "domestic", "procurement": "procurement",
}

#: Countries a profile is likely to name (ISO 3166-1 alpha-2); others read as their code.
COUNTRIES: dict[str, str] = {
    "CN": "China", "HK": "Hong Kong", "MO": "Macao", "TW": "Taiwan", "SG": "Singapore", "JP": "Japan",
    "KR": "South Korea", "US": "the United States", "CA": "Canada", "GB": "the United Kingdom", "AU": "Australia",
    "NZ": "New Zealand", "IN": "India", "RU": "Russia", "CH": "Switzerland", "NO": "Norway", "MY": "Malaysia",
    "TH": "Thailand", "VN": "Vietnam", "ID": "Indonesia", "PH": "the Philippines", "AE": "the United Arab Emirates",
    "BR": "Brazil", "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus",
    "CZ": "Czechia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France", "DE": "Germany",
    "GR": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia", "LT": "Lithuania",
    "LU": "Luxembourg", "MT": "Malta", "NL": "the Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania",
    "SK": "Slovakia", "SI": "Slovenia", "ES": "Spain", "SE": "Sweden",
}

_BY_VALUES: dict[tuple[str, ...], dict[str, str]] = {
    tuple(m.value for m in model.ServiceType): SERVICE_TYPES,
    tuple(m.value for m in model.LicenceType): LICENCE_TYPES,
    tuple(m.value for m in model.DataCategory): DATA_CATEGORIES,
}
_ANY = {**OTHER_WORDS, **DATA_CATEGORIES, **LICENCE_TYPES, **SERVICE_TYPES}


def region(code: str) -> str:
    """"Guangdong (CN-GD)"; "all of China (CN)"."""
    if code == regions.COUNTRY:
        return "all of China (CN)"
    return f"{regions.name(code)} ({code})" if regions.name(code) != code else code


def country(code: str) -> str:
    name = COUNTRIES.get(code)
    return f"{name} ({code})" if name else code


def day(value: dt.date) -> str:
    """"31 March 2017"."""
    return f"{value.day} {value.strftime('%B')} {value.year}"


def number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def word(value: str, spec: FieldSpec | None = None) -> str:
    """An enumerated value or an open-vocabulary term in words."""
    table = _BY_VALUES.get(spec.values) if spec is not None and spec.values else None
    if table is not None and value in table:
        return table[value]
    return _ANY.get(value) or value.replace("_", " ")


def value(raw: Any, spec: FieldSpec | None) -> list[str]:
    """One fact value in words; a list field gives one entry per item."""
    kind = spec.kind if spec is not None else "unknown"
    if raw is None:
        return []
    if isinstance(raw, list):
        item = FieldSpec("enum", spec.values) if spec is not None and spec.values else None
        return [w for x in raw for w in value(x, item)]
    if isinstance(raw, bool):
        return ["yes" if raw else "no"]
    if kind == "date" and isinstance(raw, int):
        return [day(number_date(raw))]
    if isinstance(raw, dt.date):
        return [day(raw)]
    if kind == "region" and isinstance(raw, str):
        return [region(raw)]
    if kind == "country" and isinstance(raw, str):
        return [country(raw)]
    if isinstance(raw, (int, float)):
        return [number(raw)]
    return [word(str(raw), spec)]


def join(items: list[str], conjunction: str = "and", limit: int = 8) -> str:
    """"A", "A and B", "A, B and C"; beyond `limit` items, "A, B, ... and 5 others"."""
    if len(items) > limit:
        shown, rest = items[: limit - 1], len(items) - (limit - 1)
        return ", ".join(shown) + f" {conjunction} {rest} others"
    if len(items) <= 2:
        return f" {conjunction} ".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


#: The profile list each fact type comes from (business is one object, not a list).
FACT_LISTS = {"licence": "licences", "service": "services", "data": "data", "cross_border": "cross_border",
              "product": "products", "network_resource": "network_resources"}


def profile_path(fact: str, index: int | None, field: str) -> str | None:
    """Where a fact's field sits in the profile: `business.cii_operator`, `licences[0].granted`."""
    if fact == "business":
        return f"business.{field}"
    name = FACT_LISTS.get(fact)
    return f"{name}[{index}].{field}" if name is not None and index is not None else None
