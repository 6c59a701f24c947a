"""Reference profiles for the benchmarks: small (1 licence, 2 services) and large (10 licences, 30 services,
10 data categories, 5 cross-border flows)."""
from __future__ import annotations

SMALL = {
    "as_of": "2020-10-01",
    "business": {"name": "Small Cloud", "registered_region": "CN-BJ", "sectors": ["internet"]},
    "licences": [{"type": "IDC", "regions": ["CN-BJ"], "granted": "2011-06-01", "scope": ["idc"]}],
    "services": [
        {"type": "cloud_computing", "regions": ["CN-BJ"], "since": "2016-05-01", "attributes": {"users": 20000}},
        {"type": "mobile_app", "regions": ["CN"], "attributes": {"users": 150000, "third_party_sdks": True}},
    ],
}

_SERVICE_TYPES = ["idc", "cloud_computing", "cdn", "isp", "website_hosting", "mobile_app", "app_store", "email", "dns",
                  "portal", "search_engine", "ecommerce_platform", "online_advertising", "live_streaming",
                  "iot_platform", "online_ride_hailing", "educational_app", "mobile_financial_app",
                  "financial_information_services", "internet_audiovisual_programmes", "online_audiovisual_information",
                  "industrial_internet_platform", "public_wlan", "user_profiling", "credit_information",
                  "data_centre", "connected_vehicles", "epidemic_prevention_app",
                  "network_information_content_platform", "cybersecurity_threat_information"]
_REGIONS = ["CN-BJ", "CN-SH", "CN-GD", "CN-GD-SZ", "CN-ZJ", "CN-HI", "CN-TJ"]
_DATA = ["personal_information", "sensitive_personal_information", "children_personal_information",
         "personal_financial_information", "credit_information", "health_medical_data", "industrial_data",
         "scientific_data", "employee_health_information", "important_data"]

LARGE = {
    "as_of": "2020-10-01",
    "business": {"name": "Large Group", "registered_region": "CN-SH", "foreign_invested": True, "cii_operator": True,
                 "negative_credit_record": False, "serious_data_incident_last_12_months": False,
                 "sectors": ["internet", "telecom", "finance", "media"]},
    "licences": [{"type": t, "regions": [_REGIONS[i % len(_REGIONS)]], "granted": f"20{10 + i}-03-01"}
                 for i, t in enumerate(["IDC", "ISP", "CDN", "ICP", "BASIC_TELECOM", "MOBILE_RESALE",
                                        "INTERNET_AV_PROGRAMME", "FINANCIAL_INFORMATION_SERVICE", "IDC", "CDN"])],
    "services": [{"type": t, "regions": [_REGIONS[i % len(_REGIONS)]],
                  "attributes": {"users": 1000 * (i + 1) ** 3, "targets_minors": i % 4 == 0,
                                 "third_party_sdks": i % 2 == 0}}
                 for i, t in enumerate(_SERVICE_TYPES)],
    "network_resources": [{"kind": "ip_addresses", "provider_licensed": True, "recorded": False},
                          {"kind": "bandwidth", "provider_licensed": False}],
    "data": [{"category": c, "subjects": ["customers"], "storage": "cloud", "location": "CN", "volume": 10 ** (i % 7)}
             for i, c in enumerate(_DATA)],
    "cross_border": [{"kind": "data_transfer", "data_category": "personal_information", "destination": "SG"},
                     {"kind": "data_transfer", "data_category": "important_data", "destination": "US"},
                     {"kind": "dedicated_line", "approved": False, "purpose": "business_operations"},
                     {"kind": "vpn", "approved": True, "purpose": "internal_office"},
                     {"kind": "data_transfer", "data_category": "health_medical_data", "destination": "DE"}],
    "products": [{"kind": "commercial_cryptography", "trade": "export", "on_control_list": True}],
}


def heavy(name: str = "Heavy Group") -> dict:
    """A valid profile near the expensive end: 4 services in every mainland province and 4 licences over 10 of them
    with 3 service types in scope (124 + 120 facts, within MAX_PROFILE_FACTS), so the engine's joins between
    services and licences multiply: about 0.45 s an evaluation."""
    from service.profile.regions import OUTSIDE_MAINLAND, PROVINCES

    provinces = sorted(code for code in PROVINCES if code not in OUTSIDE_MAINLAND)
    return {
        "as_of": "2020-10-01",
        "business": {"name": name, "registered_region": "CN-BJ", "sectors": ["internet"]},
        "licences": [{"type": t, "regions": provinces[:10], "granted": "2011-05-01",
                      "scope": ["idc", "cloud_computing", "cdn"]} for t in ("IDC", "ISP", "CDN", "ICP")],
        "services": [{"type": t, "regions": provinces} for t in ("idc", "cloud_computing", "cdn", "isp")],
    }


def realistic() -> list[dict]:
    """Businesses written from the sources, each as a compliance officer would state it: every scenario of
    tests/scenarios and every sample of the page (service/ui/static/samples.json)."""
    import json
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent
    out = [yaml.safe_load(path.read_text(encoding="utf-8"))["profile"]
           for path in sorted((root / "tests" / "scenarios").glob("*.yaml"))]
    samples = json.loads((root / "service" / "ui" / "static" / "samples.json").read_text(encoding="utf-8"))
    out += [sample["profile"] for sample in samples["profiles"]]
    return out


#: What the generated businesses offer: the everyday lines of business of the rule base's addressees.
_OFFERED = ["idc", "cloud_computing", "cdn", "isp", "website_hosting", "mobile_app", "portal", "ecommerce_platform",
            "online_advertising", "live_streaming", "educational_app", "mobile_financial_app", "email", "dns",
            "app_store", "iot_platform", "data_centre", "search_engine", "online_audiovisual_information",
            "network_information_content_platform", "public_wlan", "industrial_internet_platform"]
_PERMITS = {"idc": "IDC", "cloud_computing": "IDC", "cdn": "CDN", "isp": "ISP", "website_hosting": "IDC",
            "portal": "ICP", "ecommerce_platform": "ICP", "mobile_app": "ICP",
            "live_streaming": "INTERNET_AV_PROGRAMME",
            "online_audiovisual_information": "INTERNET_AV_PROGRAMME"}
_SECTORS = ["internet", "telecom", "finance", "media", "education", "advertising", "healthcare", "industrial",
            "transport"]


def generated(count: int, seed: int = 1) -> list[dict]:
    """`count` realistic profiles, no two alike: a business in one or two sectors registered in a province, offering
    one to three services in one to four regions (or nationwide) since a date between 2005 and 2024, holding a permit
    for some of them granted on another, sometimes data, a cross-border flow, network resources or a product; as_of
    between 2017 and 2026. Fresh facts for every profile, so nothing an evaluation works out is the same twice."""
    import datetime as dt
    import random

    from service.profile.regions import OUTSIDE_MAINLAND, PROVINCES

    rng = random.Random(seed)
    provinces = sorted(code for code in PROVINCES if code not in OUTSIDE_MAINLAND)

    def day(first: int, last: int) -> str:
        start = dt.date(first, 1, 1)
        return (start + dt.timedelta(days=rng.randrange((dt.date(last, 12, 31) - start).days))).isoformat()

    def places() -> list[str]:
        return ["CN"] if rng.random() < 0.2 else rng.sample(provinces, rng.randint(1, 4))

    out = []
    for i in range(count):
        home = rng.choice(provinces)
        services = [{"type": t, "regions": places(), "since": day(2005, 2024),
                     "attributes": {"users": rng.choice([50, 3000, 200_000, 5_000_000, 80_000_000]),
                                    "targets_minors": rng.random() < 0.15, "third_party_sdks": rng.random() < 0.5}}
                    for t in rng.sample(_OFFERED, rng.randint(1, 3))]
        licences = [{"type": _PERMITS[s["type"]], "regions": rng.choice([s["regions"], [home]]),
                     "granted": day(2005, 2024)}
                    for s in services if s["type"] in _PERMITS and rng.random() < 0.6]
        profile: dict = {
            "as_of": day(2017, 2026),
            "business": {"name": f"Generated {seed}-{i}", "registered_region": home,
                         "foreign_invested": rng.random() < 0.2, "cii_operator": rng.random() < 0.1,
                         "sectors": rng.sample(_SECTORS, rng.randint(1, 2))},
            "licences": licences, "services": services,
        }
        if rng.random() < 0.6:
            profile["data"] = [{"category": c, "subjects": ["customers"],
                                "storage": rng.choice(["cloud", "on_premises"]),
                                "location": "CN", "volume": rng.choice([500, 200_000, 3_000_000])}
                               for c in rng.sample(_DATA, rng.randint(1, 2))]
        if rng.random() < 0.2:
            profile["cross_border"] = [{"kind": "data_transfer", "data_category": "personal_information",
                                        "destination": rng.choice(["SG", "US", "DE", "JP"])}]
        if rng.random() < 0.2:
            profile["network_resources"] = [{"kind": rng.choice(["ip_addresses", "bandwidth"]),
                                             "provider_licensed": rng.random() < 0.7}]
        if rng.random() < 0.05:
            profile["products"] = [{"kind": "commercial_cryptography", "trade": rng.choice(["import", "export"])}]
        out.append(profile)
    return out
