"""Sentences about the profile's fields: what a fact says when it is true, and what leaving it out leaves open.

`labels.py` says how one value reads; this module builds the sentences the questions to ask next
(`service/engine/questions.py`) state and the question an unstated field raises in a finding's
`conditional_on`. The tests compare these sentences: a change of wording here is a change of the API.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import labels


@dataclass(frozen=True)
class FieldWords:
    """How one field of the profile reads in a sentence."""

    unstated: str | None = None  # what a finding depending on it asks while the profile leaves it out
    true: str | None = None  # a yes/no field: what its holder does when it is true ("is aimed at minors") ...
    false: str | None = None  # ... and when it is false


#: Fields by name (a name means the same wherever it occurs).
FIELDS: dict[str, FieldWords] = {
    # the business
    "foreign_invested": FieldWords(true="is foreign-invested", false="is not foreign-invested"),
    "cii_operator": FieldWords(
        "Whether you operate critical information infrastructure",
        "operates critical information infrastructure (CII)", "does not operate critical information infrastructure"),
    "negative_credit_record": FieldWords(
        "Whether you have been listed with a negative credit record",
        "has a negative credit record", "has no negative credit record"),
    "serious_data_incident_last_12_months": FieldWords(
        true="had a serious data security incident in the last 12 months",
        false="had no serious data security incident in the last 12 months"),
    # licences
    "assured_corresponding_permit": FieldWords(
        "Whether you gave the original issuing authority written assurance, by 31 March 2017, that you would meet the "
        "requirements of the permit for the cloud computing or CDN business you had started",
        "was covered by written assurance to the issuing authority, by 31 March 2017, that the holder would meet the "
        "requirements of the permit for its cloud computing or CDN business",
        "was not covered by written assurance, by 31 March 2017, about the permit for its cloud computing or CDN "
        "business"),
    "assured_entry_requirements": FieldWords(
        "Whether you gave the original issuing authority written assurance, by 31 March 2017, that you would meet the "
        "2012 Notification's requirements",
        "was covered by written assurance, by 31 March 2017, that the holder would meet the 2012 Notification's "
        "requirements",
        "was not covered by written assurance, by 31 March 2017, about the 2012 Notification's requirements"),
    "entry_requirements_met": FieldWords(
        "Whether you have created the systems the 2012 Notification requires, passed the reviews and tests and "
        "completed the system docking",
        "meets the 2012 Notification's requirements (systems created, reviews and tests passed, docking completed)",
        "does not yet meet the 2012 Notification's requirements (systems, reviews and tests, docking)"),
    # services
    "since": FieldWords("When you started offering the service"),
    "targets_minors": FieldWords(true="is aimed at minors", false="is not aimed at minors"),
    "third_party_sdks": FieldWords(true="embeds third-party SDKs or plug-ins",
                                   false="embeds no third-party SDKs or plug-ins"),
    "deep_learning_or_vr_content": FieldWords(
        true="offers content made with deep learning or virtual reality",
        false="offers no content made with deep learning or virtual reality"),
    "profiling_with_legal_effect": FieldWords(
        "Whether the profiling may bring legal consequences for the users",
        "profiles users with legal effects on them", "profiles users without legal effects"),
    "self_built_telecom_equipment": FieldWords(true="uses telecom equipment the business built itself",
                                               false="uses no self-built telecom equipment"),
    "apply_for_certification": FieldWords(true="is applying for app security certification",
                                          false="is not applying for certification"),
    "institutional_user": FieldWords(
        "Whether you provide the app or only use it as an educational institution",
        "is used by the business as an educational institution",
        "is provided by the business (not only used as an institution)"),
    "live_shows": FieldWords(true="broadcasts live shows", false="broadcasts no live shows"),
    "filed": FieldWords("Whether the app has been filed", "has been filed", "has not been filed"),
    "certification_under_revocation": FieldWords(true="has a similar certification in its revocation period",
                                                 false="has no certification in a revocation period"),
    # network resources
    "provider_licensed": FieldWords(true="comes from a provider holding the permit",
                                    false="comes from a provider without the permit"),
    "recorded": FieldWords(true="is fully recorded in MIIT's system", false="is not fully recorded in MIIT's system"),
    "sublet_for_idc_isp": FieldWords(true="is sublet to other enterprises for their IDC or ISP services",
                                     false="is not sublet"),
    "provided_to_unlicensed": FieldWords(true="is provided to parties without the corresponding permit",
                                         false="is not provided to parties without a permit"),
    # data and cross-border flows
    "purpose": FieldWords("What it is used for"),
    "location": FieldWords("Where the data is stored"),
    "destination": FieldWords("Where the data goes"),
    "approved": FieldWords("Whether the telecommunications authorities approved it",
                           "is approved by the telecom authorities", "is not approved by the telecom authorities"),
    # products
    "trade": FieldWords("Whether the products are imported, exported, sold in China or procured"),
    "on_control_list": FieldWords(
        "Whether the products are on the import licence list or the export control list",
        "are on the import licence or export control list", "are not on a control list"),
    "concerns_public_interest": FieldWords(
        "Whether the products concern state security, the economy, livelihoods or public interests",
        "concern state security or public interests", "do not concern state security"),
}

#: How a product's trade reads after "the products".
TRADE_PHRASES = {"import": "are imported", "export": "are exported", "domestic": "are sold in China",
                 "procurement": "are procured (as a CII operator)"}
#: How a new product's trade reads after "you".
_TRADE_VERBS = {"import": "import", "export": "export", "procurement": "procure", "domestic": "sell in China"}
GROUP_TITLES = {"business": "About the business", "services": "Services the business may offer",
                "licences": "Licences the business may hold", "data": "Data the business may hold",
                "cross_border": "Cross-border connections and transfers", "products": "Products the business may trade",
                "network_resources": "Network resources the business may use"}


def flag(field: str, value: bool) -> str | None:
    """How a yes/no field reads when it has this value; None for a field without such words."""
    words = FIELDS.get(field)
    return None if words is None else words.true if value else words.false


def unstated(fact: str, field: str, path: str) -> str:
    """The question an unstated field leaves open, naming where the answer goes."""
    key = field.split(".")[-1]
    words = FIELDS.get(key)
    text = (words.unstated if words is not None else None) or f"Whether {key.replace('_', ' ')} holds"
    return f"{text}: the profile does not say ({path})."


# --- the questions' statements -----------------------------------------------------------------------
def business_flag(field: str, value: bool) -> str | None:
    """"The business is foreign-invested."; None for a field without yes/no words."""
    words = flag(field, value)
    return None if words is None else f"The business {words}."


def sector(name: str) -> str:
    return f"The business is in the {name} sector."


def registered_in(code: str) -> str:
    return f"The business is registered in {labels.region(code)}."


def item_label(name: str, item: Any) -> str:
    """What a listed item is, as the start of a sentence: "CDN", "IDC permit", "Personal information"."""
    text: str
    if name == "services":
        text = labels.SERVICE_TYPES.get(item.type, item.type)
    elif name == "licences":
        text = f"{labels.LICENCE_TYPES.get(item.type, item.type)} permit"
    elif name == "data":
        text = labels.DATA_CATEGORIES.get(item.category, item.category)
    else:
        text = labels.word(item.kind)
    return text[:1].upper() + text[1:]


def item_attribute(label: str, where: str, attr: str, value: Any, op: str = "eq") -> str:
    """"CDN (services[0]): aimed at minors."."""
    phrase = _attribute(attr, value, op).removeprefix("is ").removeprefix("are ")
    return f"{label} ({where}): {phrase}."


def _attribute(attr: str, value: Any, op: str) -> str:
    """An item's field with a value, as a predicate of the item ("is aimed at minors", "covers IDC")."""
    words = flag(attr, value) if isinstance(value, bool) else None
    if words is not None:
        return words
    if isinstance(value, dt.date):
        if op == "lt":  # the value is the day before the rule's date: name the rule's date
            return f"was granted before {labels.day(value + dt.timedelta(days=1))}"
        if op == "gt":
            return f"was granted after {labels.day(value - dt.timedelta(days=1))}"
    shown_words = labels.value(value, None) if not isinstance(value, dt.date) else [labels.day(value)]
    shown = labels.join(shown_words) if shown_words else str(value)
    return {
        "users": f"has at least {shown} users", "content_types": f"carries {shown} advertisements",
        "subjects": f"concerns {shown}", "storage": f"is stored {'on a cloud' if value == 'cloud' else 'on premises'}",
        "location": f"is kept in {labels.country(str(value))}", "volume": f"covers at least {shown} records or people",
        "purpose": f"is for {shown}", "destination": f"goes to {labels.country(str(value))}",
        "data_category": f"carries {shown}", "trade": TRADE_PHRASES.get(str(value), f"are traded: {shown}"),
        "granted": f"was granted on {shown}", "scope": f"covers {shown}",
    }.get(attr, f"has {attr.replace('_', ' ')} {shown}")


def _article(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def new_item(name: str, item: dict[str, Any]) -> str:
    """A new item of a profile list, stated as a fact about the business: "You offer CDN in Guangdong (CN-GD).\""""
    places = item.get("regions") or []
    where = labels.join([labels.region(r) for r in places]) if places else ""
    if name == "services":
        return f"You offer {labels.SERVICE_TYPES.get(item['type'], item['type'])}{' in ' + where if where else ''}."
    if name == "licences":
        permit = _article(labels.LICENCE_TYPES.get(item["type"], item["type"]))
        return f"You hold {permit} permit{' for ' + where if where else ''}."
    if name == "data":
        return f"You hold {labels.DATA_CATEGORIES.get(item['category'], item['category'])}."
    if name == "cross_border":
        if item["kind"] == "data_transfer":
            category = item.get("data_category")
            what = labels.DATA_CATEGORIES.get(category, category) if category else "data"
            return f"You transfer {what} across the border."
        return f"You use a cross-border {labels.word(item['kind'])}."
    if name == "products":
        return f"You {_TRADE_VERBS.get(str(item.get('trade')), 'trade in')} {labels.word(item['kind'])}."
    return f"You use {labels.word(item['kind'])}."
