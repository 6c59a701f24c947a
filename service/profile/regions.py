"""Region codes (ISO 3166-2:CN) and their nesting: CN > CN-GD > CN-GD-SZ.

Place matters to the law: a permit for CN-GD covers Shenzhen (CN-GD-SZ), a nationwide
service (CN) operates in every province. Everything that reasons about regions uses
`ancestors` so the nesting is defined once.
"""
from __future__ import annotations

import functools
import re

COUNTRY = "CN"

#: ISO 3166-2:CN provincial-level divisions.
PROVINCES: dict[str, str] = {
    "CN-AH": "Anhui", "CN-BJ": "Beijing", "CN-CQ": "Chongqing", "CN-FJ": "Fujian",
    "CN-GD": "Guangdong", "CN-GS": "Gansu", "CN-GX": "Guangxi", "CN-GZ": "Guizhou",
    "CN-HA": "Henan", "CN-HB": "Hubei", "CN-HE": "Hebei", "CN-HI": "Hainan",
    "CN-HK": "Hong Kong", "CN-HL": "Heilongjiang", "CN-HN": "Hunan", "CN-JL": "Jilin",
    "CN-JS": "Jiangsu", "CN-JX": "Jiangxi", "CN-LN": "Liaoning", "CN-MO": "Macao",
    "CN-NM": "Inner Mongolia", "CN-NX": "Ningxia", "CN-QH": "Qinghai", "CN-SC": "Sichuan",
    "CN-SD": "Shandong", "CN-SH": "Shanghai", "CN-SN": "Shaanxi", "CN-SX": "Shanxi",
    "CN-TJ": "Tianjin", "CN-TW": "Taiwan", "CN-XJ": "Xinjiang", "CN-XZ": "Tibet",
    "CN-YN": "Yunnan", "CN-ZJ": "Zhejiang",
}

#: Cities the rule base names (a city code is its province code plus a suffix).
CITIES: dict[str, str] = {
    "CN-GD-SZ": "Shenzhen",
}

_CITY = re.compile(r"^(CN-[A-Z]{2})-[A-Z]{2,3}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")

REGION_PATTERN = r"^CN(-[A-Z]{2}(-[A-Z]{2,3})?)?$"
#: Exactly the codes `is_region` accepts, for published schemas.
REGION_EXACT_PATTERN = r"^CN(-(" + "|".join(sorted(c[3:] for c in PROVINCES)) + r")(-[A-Z]{2,3})?)?$"
REGION_HELP = "an ISO 3166-2:CN code: CN (nationwide), a province such as CN-GD, or a city inside one such as CN-GD-SZ"


#: Provincial-level codes outside mainland China. The instruments in the rule base govern the mainland:
#: a service, licence or registration there is reported back and not assessed (a duty the law does not
#: impose is worse than none). Data sent there is a cross-border flow, named by its own country code.
OUTSIDE_MAINLAND = {"CN-HK", "CN-MO", "CN-TW"}


@functools.lru_cache(maxsize=4096)
def in_mainland(code: str) -> bool:
    return not any(a in OUTSIDE_MAINLAND for a in ancestors(code))


def is_region(code: str) -> bool:
    if code == COUNTRY or code in PROVINCES or code in CITIES:
        return True
    match = _CITY.match(code)
    return bool(match and match.group(1) in PROVINCES)


def is_country_code(code: str) -> bool:
    """ISO 3166-1 alpha-2 shape: two capital letters (CN for China itself)."""
    return bool(_COUNTRY_CODE.match(code))


@functools.lru_cache(maxsize=4096)
def ancestors(code: str) -> tuple[str, ...]:
    """The region and every region that contains it, innermost first: CN-GD-SZ, CN-GD, CN (kept: profiles name the
    same few hundred regions again and again)."""
    if code == COUNTRY:
        return (COUNTRY,)
    parts = code.split("-")
    return tuple("-".join(parts[:i]) for i in range(len(parts), 0, -1))


def levels(code: str) -> dict[str, str]:
    """The region at each level of nesting, for matching containment with equality tests."""
    chain = ancestors(code)
    out = {"country": COUNTRY}
    if len(chain) >= 2:
        out["province"] = chain[-2]
    if len(chain) >= 3:
        out["city"] = chain[-3]
    return out


def name(code: str) -> str:
    if code == COUNTRY:
        return "nationwide"
    return CITIES.get(code) or PROVINCES.get(code) or code


def overlaps(a: str, b: str) -> bool:
    """True when one region contains the other: a business in either operates in both."""
    return a in ancestors(b) or b in ancestors(a)
