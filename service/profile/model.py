"""The business profile: the facts a caller states about a business (CONTRACT.md section 1).

Closed vocabularies are enums so a wrong value is refused with the list of allowed
ones; every object forbids unknown fields except `services[].attributes`, which the
contract leaves open ("such as"): unknown attributes are accepted as plain scalars
and reported back as warnings, because no rule reads them.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from pydantic.config import JsonValue

from . import regions

MIN_DATE = dt.date(1949, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)


def _check_region(code: str) -> str:
    if not regions.is_region(code):
        raise ValueError(f"{code!r} is not a region: expected {regions.REGION_HELP}")
    return code


def _check_country(code: str) -> str:
    if not regions.is_country_code(code):
        raise ValueError(f"{code!r} is not a country: expected an ISO 3166-1 alpha-2 code such as CN, SG or US")
    return code


def _date_text(value: Any) -> Any:
    """A date is written YYYY-MM-DD: not a number (read as seconds since 1970) nor a timestamp."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    # (a number would otherwise be read as a Unix timestamp: 0 is 1970-01-01)
    raise ValueError(f"{value!r} is not a date: expected a date as text, YYYY-MM-DD from {MIN_DATE} to {MAX_DATE}"
                     + (", not a number" if isinstance(value, (int, float)) else ""))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _json_number(value: Any) -> Any:
    """A JSON number (1200, or 1200.0, which JSON Schema counts as an integer): not true/false, not "1200"."""
    if isinstance(value, (bool, str)):
        raise ValueError(f"{value!r} is not a number: expected a whole number such as 1200")
    return value


def _check_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"date {value.isoformat()} is out of range: expected {MIN_DATE} to {MAX_DATE}")
    return value


#: C0/C1 control characters (NUL included) and lone surrogates ("\ud800" is valid JSON, but not text).
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Free text (a name, an attribute) is kept as given, format characters included: right-to-left marks
    and zero-width joiners belong to names in many scripts. Control characters and lone surrogates are
    refused: they are not text, and a lone surrogate cannot even be written out as UTF-8."""
    bad = _NOT_TEXT.search(value)
    if bad is None:
        return None
    return (f"contains {bad.group()!r} at character {bad.start()}: "
            "text may not hold control characters (U+0000-U+001F, U+007F-U+009F) or lone surrogates")


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: What `text_problem` allows, for published schemas (ECMA and Python regex alike).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
Text = Annotated[str, AfterValidator(_check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
# the patterns put in the published schema what the validators check, so clients can validate before sending
# (in json_schema_extra, not as constraints: the validators' messages say what is allowed in words)
Region = Annotated[str, Field(max_length=12, examples=["CN-BJ"],
                              json_schema_extra={"pattern": regions.REGION_EXACT_PATTERN}),
                   AfterValidator(_check_region)]
Country = Annotated[str, Field(max_length=2, examples=["SG"], json_schema_extra={"pattern": r"^[A-Z]{2}$"}),
                    AfterValidator(_check_country)]
#: true or false only (no 0/1 or "yes"): what the published schema says, so a typo is not read as a fact
Flag = Annotated[bool, Strict()]
Date = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_check_date),
                 Field(json_schema_extra={"pattern": r"^(19(49|[5-9]\d)|2[01]\d\d)-\d\d-\d\d$",
                                          "description": f"A date from {MIN_DATE} to {MAX_DATE}."})]
Count = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_json_number)]
#: An open vocabulary (the contract does not close it): a lower-case identifier.
Term = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["children"])]
#: Whose data it is, as the rules name them (`data[].subjects` is open: other terms are kept).
DATA_SUBJECTS = ("children", "minors", "employees", "patients", "customers", "users")
#: What data is used for, and what a cross-border line or transfer is for, as the rules name them (open terms).
DATA_PURPOSES = ("epidemic_prevention", "marketing", "human_resources")
FLOW_PURPOSES = ("internal_office", "business_operations", "telecom_operations")


class Sector(StrEnum):
    """The sectors a business may work in."""

    telecom = "telecom"
    internet = "internet"
    industrial = "industrial"
    finance = "finance"
    healthcare = "healthcare"
    education = "education"
    media = "media"
    advertising = "advertising"
    transport = "transport"
    research = "research"
    government = "government"
    other = "other"


class LicenceType(StrEnum):
    """Telecom and internet permits: IDC (Internet data centre), ISP (internet access), CDN (content delivery
    network), ICP (internet information services), BASIC_TELECOM (basic telecom services), MOBILE_RESALE (mobile
    communications resale), INTERNET_AV_PROGRAMME (internet audio-visual programmes), FINANCIAL_INFORMATION_SERVICE
    (financial information services)."""

    IDC = "IDC"
    ISP = "ISP"
    CDN = "CDN"
    ICP = "ICP"
    BASIC_TELECOM = "BASIC_TELECOM"
    MOBILE_RESALE = "MOBILE_RESALE"
    INTERNET_AV_PROGRAMME = "INTERNET_AV_PROGRAMME"
    FINANCIAL_INFORMATION_SERVICE = "FINANCIAL_INFORMATION_SERVICE"


class ServiceType(StrEnum):
    """The kinds of service a business may offer, e.g. idc (Internet data centre), isp (internet access services),
    cdn (content delivery network)."""

    idc = "idc"
    cloud_computing = "cloud_computing"
    cdn = "cdn"
    isp = "isp"
    website_hosting = "website_hosting"
    basic_telecom = "basic_telecom"
    international_dedicated_line_leasing = "international_dedicated_line_leasing"
    ip_address_allocation = "ip_address_allocation"
    domain_name_registration = "domain_name_registration"
    dns = "dns"
    email = "email"
    app_store = "app_store"
    mobile_app = "mobile_app"
    public_wlan = "public_wlan"
    public_video_surveillance = "public_video_surveillance"
    iot_platform = "iot_platform"
    online_ride_hailing = "online_ride_hailing"
    connected_vehicles = "connected_vehicles"
    industrial_internet_platform = "industrial_internet_platform"
    internet_audiovisual_programmes = "internet_audiovisual_programmes"
    online_audiovisual_information = "online_audiovisual_information"
    live_streaming = "live_streaming"
    online_advertising = "online_advertising"
    portal = "portal"
    search_engine = "search_engine"
    ecommerce_platform = "ecommerce_platform"
    financial_information_services = "financial_information_services"
    mobile_financial_app = "mobile_financial_app"
    educational_app = "educational_app"
    network_information_content_platform = "network_information_content_platform"
    mobile_communications_resale = "mobile_communications_resale"
    data_centre = "data_centre"
    cybersecurity_threat_information = "cybersecurity_threat_information"
    credit_information = "credit_information"
    user_profiling = "user_profiling"
    epidemic_prevention_app = "epidemic_prevention_app"


class AdContentType(StrEnum):
    """What advertisements are for: the kinds of advertising the rules on advertising single out."""

    medical = "medical"
    pharmaceutical = "pharmaceutical"
    medical_equipment = "medical_equipment"
    health_food = "health_food"
    food = "food"
    real_estate = "real_estate"
    financial_investment = "financial_investment"


class NetworkResourceKind(StrEnum):
    """The kinds of network resource a business may use or provide."""

    ip_addresses = "ip_addresses"
    bandwidth = "bandwidth"
    network_infrastructure = "network_infrastructure"
    telecom_equipment = "telecom_equipment"


class DataCategory(StrEnum):
    """Categories of data, as the instruments name them."""

    personal_information = "personal_information"
    sensitive_personal_information = "sensitive_personal_information"
    children_personal_information = "children_personal_information"
    personal_financial_information = "personal_financial_information"
    credit_information = "credit_information"
    health_medical_data = "health_medical_data"
    industrial_data = "industrial_data"
    scientific_data = "scientific_data"
    employee_health_information = "employee_health_information"
    important_data = "important_data"


class Storage(StrEnum):
    """Where data is kept: on the business's own premises, or on a cloud."""

    on_premises = "on_premises"
    cloud = "cloud"


class CrossBorderKind(StrEnum):
    """What crosses the border: a transfer of data, an international dedicated line, a VPN."""

    data_transfer = "data_transfer"
    dedicated_line = "dedicated_line"
    vpn = "vpn"


class ProductKind(StrEnum):
    """Kinds of product: commercial cryptography products, network products, IT products."""

    commercial_cryptography = "commercial_cryptography"
    network_product = "network_product"
    it_product = "it_product"


class Trade(StrEnum):
    """How a business deals in a product: import, export, domestic (sold in China) or procurement (a CII operator
    buying it)."""

    import_ = "import"
    export = "export"
    domestic = "domestic"
    procurement = "procurement"


class ProfileModel(BaseModel):
    """The objects of a profile: an unknown field is refused (a typo is reported, not ignored), and enumerated values
    are kept as their plain strings."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class Business(ProfileModel):
    """Who the business is. A yes/no fact left out (or null) is unstated, which is not the same as false: no rule
    assumes either answer, and a finding that depends on it names it in conditional_on."""

    name: Text | None = Field(None, max_length=300, description=(
        "The business's name, as the caller gives it (up to 300 characters; no rule reads it)."))
    registered_region: Region | None = Field(None, description=(
        "Where the business is registered: an ISO 3166-2:CN code such as CN-BJ (a province) or CN-GD-SZ (a city), "
        "or CN. A region outside mainland China (CN-HK, CN-MO, CN-TW) is reported in warnings, not assessed."))
    foreign_invested: Flag | None = Field(None, description="The business is foreign-invested.")
    cii_operator: Flag | None = Field(
        None, title="CII operator", description="The business operates critical information infrastructure (CII).")
    negative_credit_record: Flag | None = Field(
        None, description="The business has been listed with a negative credit record.")
    serious_data_incident_last_12_months: Flag | None = Field(
        None, description="The business had a serious data security incident in the last 12 months.")
    sectors: list[Sector] = Field(default_factory=list, max_length=12, description=(
        "The sectors the business works in (up to 12)."))


class Licence(ProfileModel):
    """A permit the business holds: its type, where it is valid, when it was granted and which services it covers."""

    type: LicenceType = Field(description="The kind of permit.")
    regions: list[Region] = Field(default_factory=list, max_length=40, description=(
        "Where the permit is valid (up to 40 ISO 3166-2:CN codes; CN: nationwide). A permit for a province covers "
        "the cities inside it (CN-GD covers CN-GD-SZ). An empty list states no region."))
    granted: Date | None = Field(None, description=(
        "The day the permit was granted; rules on older permits read it (e.g. an IDC permit from before the 2015 "
        "catalogue)."))
    scope: list[ServiceType] | None = Field(
        None,
        description="Service types the licence covers. When absent, the licence covers the service type named "
        "by its own type (IDC: idc, ISP: isp, CDN: cdn, BASIC_TELECOM: basic_telecom, MOBILE_RESALE: "
        "mobile_communications_resale, INTERNET_AV_PROGRAMME: internet_audiovisual_programmes, "
        "FINANCIAL_INFORMATION_SERVICE: financial_information_services; ICP: none).",
        max_length=40,
    )
    # The 2017 cleanup notice's transitions (004 II(I)2 and II(III)1): what the holder of an older permit did in time.
    assured_corresponding_permit: Flag | None = Field(None, description=(
        "For an IDC permit from before the 2015 catalogue whose holder had started cloud computing or CDN: the holder "
        "gave the original issuing authority written assurance, by 31 March 2017, that it would meet the requirements "
        "of the corresponding permit (2017 cleanup notice II(I)2)."))
    assured_entry_requirements: Flag | None = Field(None, description=(
        "For an IDC or ISP permit from before 1 December 2012: the holder gave the original issuing authority written "
        "assurance, by 31 March 2017, that it would meet the 2012 Notification's requirements (2017 cleanup notice "
        "II(III)1)."))
    entry_requirements_met: Flag | None = Field(None, description=(
        "For an IDC or ISP permit from before 1 December 2012: the holder has created the systems the 2012 "
        "Notification requires, passed the reviews and tests and completed the system docking (2017 cleanup notice "
        "II(III)1)."))


#: What a licence covers when the profile gives no `scope`.
DEFAULT_SCOPE: dict[str, list[str]] = {
    "IDC": ["idc"],
    "ISP": ["isp"],
    "CDN": ["cdn"],
    "ICP": [],
    "BASIC_TELECOM": ["basic_telecom"],
    "MOBILE_RESALE": ["mobile_communications_resale"],
    "INTERNET_AV_PROGRAMME": ["internet_audiovisual_programmes"],
    "FINANCIAL_INFORMATION_SERVICE": ["financial_information_services"],
}

Scalar = str | bool | int | float


_EXTRA_SCALARS: list[JsonValue] = [{"type": "string", "maxLength": 200, "pattern": TEXT_PATTERN},
                                   {"type": "number"}, {"type": "boolean"}, {"type": "null"}]


class ServiceAttributes(BaseModel):
    """Facts about one service. The named ones are read by rules; others (strings of up to 200 characters, numbers,
    booleans, null, or flat lists of up to 50 of them) are kept and reported in the assessment's warnings as unused."""

    model_config = ConfigDict(extra="allow", use_enum_values=True, title="Facts about the service", json_schema_extra={
        # what `_extra_are_flat` allows, stated for clients
        "additionalProperties": {"anyOf": [*_EXTRA_SCALARS, {"type": "array", "maxItems": 50,
                                                             "items": {"anyOf": _EXTRA_SCALARS}}]},
        "propertyNames": {"maxLength": 64, "pattern": TEXT_PATTERN}})

    users: Count | None = Field(None, description="Number of users of the service.")
    targets_minors: Flag | None = Field(None, description="The service is aimed at minors.")
    third_party_sdks: Flag | None = Field(None, title="Third-party SDKs", description=(
        "The app embeds third-party SDKs or plug-ins."))
    deep_learning_or_vr_content: Flag | None = Field(
        None, title="Deep-learning or VR content",
        description="The service offers content made with deep learning or virtual reality.")
    profiling_with_legal_effect: Flag | None = Field(
        None, description="The service profiles users in ways that may bring legal consequences for them.")
    self_built_telecom_equipment: Flag | None = Field(
        None, title="Self-built telecom equipment",
        description="The service runs on telecom equipment the business built itself.")
    content_types: list[AdContentType] | None = Field(None, max_length=20, description=(
        "For advertising: what the advertisements are for (up to 20 kinds)."))
    apply_for_certification: Flag | None = Field(None, description=(
        "The app is applying, or has applied, for app security certification."))
    institutional_user: Flag | None = Field(
        None, description="An educational institution that uses the app (rather than provides it).")
    live_shows: Flag | None = Field(None, description="The service broadcasts live shows.")
    filed: Flag | None = Field(None, description="The app has been filed (educational or mobile financial app filing).")
    certification_under_revocation: Flag | None = Field(
        None, description="A similar certification held by the operator is in its revocation period.")

    @model_validator(mode="after")
    def _extra_are_flat(self) -> ServiceAttributes:
        for key, value in (self.model_extra or {}).items():
            if len(key) > 64:
                raise ValueError(f"attribute name {key[:20]!r}... is longer than 64 characters")
            if problem := text_problem(key):
                raise ValueError(f"attribute name {key!r} {problem}")
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and len(value) > 50:
                raise ValueError(f"attribute {key!r} has more than 50 items")
            for item in values:
                if item is None:
                    continue
                if not isinstance(item, (str, bool, int, float)):
                    raise ValueError(f"attribute {key!r} must be a string, number, boolean or a flat list of them")
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"attribute {key!r} must be a finite number")
                if isinstance(item, str) and len(item) > 200:
                    raise ValueError(f"attribute {key!r} is longer than 200 characters")
                if isinstance(item, str) and (problem := text_problem(item)):
                    raise ValueError(f"attribute {key!r} {problem}")
        return self


class Service(ProfileModel):
    """A service the business offers: what, where, since when, and facts about it."""

    type: ServiceType = Field(description="The kind of service.")
    regions: list[Region] = Field(default_factory=list, max_length=40, description=(
        "Where the service is offered (up to 40 ISO 3166-2:CN codes; CN: nationwide). Each region is assessed on its "
        "own, and a region outside mainland China is reported in warnings, not assessed."))
    since: Date | None = Field(None, description="The day the business started offering the service.")
    attributes: ServiceAttributes = Field(default_factory=ServiceAttributes, description=(
        "Facts about the service. The contract leaves them open: attributes no rule reads are accepted, kept, and "
        "reported in the assessment's warnings."))


class NetworkResource(ProfileModel):
    """A network resource the business uses or provides; the flags say where it comes from and where it goes."""

    model_config = ConfigDict(title="Network resource")

    kind: NetworkResourceKind = Field(description="The kind of resource.")
    provider_licensed: Flag | None = Field(
        None, description="The provider of the resource holds the corresponding permit.")
    recorded: Flag | None = Field(None, description="IP addresses: recorded in full in MIIT's recordal system.")
    sublet_for_idc_isp: Flag | None = Field(None, title="Sublet for IDC or ISP", description=(
        "Sublet to other enterprises to run IDC or ISP services."))
    provided_to_unlicensed: Flag | None = Field(
        None, description="Provided to parties without the corresponding permit.")


class DataHolding(ProfileModel):
    """Data of one category the business holds: whose it is, where and how it is kept, how much, and what for."""

    model_config = ConfigDict(title="Data held")

    category: DataCategory = Field(description="The category of the data.")
    subjects: list[Annotated[Term, Field(examples=list(DATA_SUBJECTS))]] = Field(
        default_factory=list, max_length=10,
        description=f"Whose data it is. Rules read: {', '.join(DATA_SUBJECTS)}.",
    )
    storage: Storage | None = Field(None, description="How the data is kept: on the business's premises or on a cloud.")
    location: Country | None = Field(None, description=(
        "The country where the data is stored: CN, or another ISO 3166-1 alpha-2 code such as SG."))
    volume: Count | None = Field(None, description="Number of records or data subjects.")
    purpose: Annotated[Term, Field(examples=list(DATA_PURPOSES))] | None = Field(
        None, description=f"What the data is used for, e.g. {', '.join(DATA_PURPOSES)}.")


class CrossBorder(ProfileModel):
    """A connection or transfer across China's border: data sent abroad, an international dedicated line, a VPN."""

    model_config = ConfigDict(title="Cross-border flow")

    kind: CrossBorderKind = Field(description="What crosses the border.")
    data_category: DataCategory | None = Field(
        None, description="For a data transfer: the category of the data transferred.")
    destination: Country | None = Field(
        None, description="The country the data or the line goes to: an ISO 3166-1 alpha-2 code such as SG.")
    approved: Flag | None = Field(None, description="Approved by the telecommunications authority.")
    purpose: Annotated[Term, Field(examples=list(FLOW_PURPOSES))] | None = Field(
        None, description=f"What the line or transfer is for, e.g. {', '.join(FLOW_PURPOSES)}.")


class Product(ProfileModel):
    """A product the business imports, exports, sells in China or procures."""

    kind: ProductKind = Field(description="The kind of product.")
    trade: Trade | None = Field(None, description=(
        "How the business deals in it: import, export, domestic (sold in China) or procurement (a CII operator "
        "buying it)."))
    on_control_list: Flag | None = Field(
        None, description="Listed on the import licence list or export control list.")
    concerns_public_interest: Flag | None = Field(
        None, description="Concerns state security, the national economy, people's livelihoods or social public "
        "interests.")


def _null_allowed(schema: dict[str, Any]) -> None:
    """The published schema says what `_none_is_empty` accepts: a list, or null (read as empty)."""
    inner = {k: schema.pop(k) for k in list(schema) if k not in ("title", "description", "default")}
    schema["anyOf"] = [inner, {"type": "null"}]


class Profile(ProfileModel):
    """The facts a caller states about one business (CONTRACT.md section 1), which POST /v1/assessments evaluates.
    Every list may be empty, absent or null; a fact left out is unstated, which is not the same as false. An unknown
    field or value is refused (422, naming the path and what is allowed), except in services[].attributes."""

    as_of: Date | None = Field(None, description=(
        "The date the law is applied at (default: today). Rules carry the dates they apply from and until; "
        "deadlines are judged against it."))
    business: Business = Field(default_factory=Business, description="Who the business is.")
    licences: list[Licence] = Field(default_factory=list, json_schema_extra=_null_allowed, description=(
        "The telecom and internet permits the business holds."))
    services: list[Service] = Field(default_factory=list, json_schema_extra=_null_allowed, description=(
        "The services the business offers, each with the regions it is offered in."))
    network_resources: list[NetworkResource] = Field(
        default_factory=list, json_schema_extra=_null_allowed,
        description="The network resources the business uses or provides: IP addresses, bandwidth, infrastructure, "
        "equipment.")
    data: list[DataHolding] = Field(default_factory=list, json_schema_extra=_null_allowed, description=(
        "The data the business holds, one item per category."))
    cross_border: list[CrossBorder] = Field(default_factory=list, json_schema_extra=_null_allowed, description=(
        "The business's connections and data transfers across China's border."))
    products: list[Product] = Field(default_factory=list, json_schema_extra=_null_allowed, description=(
        "The products the business imports, exports, sells in China or procures."))

    @field_validator("licences", "services", "network_resources", "data", "cross_border", "products", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        """Every list may be empty or absent (CONTRACT.md); an explicit null reads as absent."""
        return [] if value is None else value

    def effective_as_of(self) -> dt.date:
        return self.as_of or dt.date.today()

    def unused_attributes(self) -> list[tuple[str, str]]:
        """(path, name) of every service attribute no rule can read."""
        out = []
        for i, service in enumerate(self.services):
            for key in (service.attributes.model_extra or {}):
                out.append((f"services[{i}].attributes.{key}", key))
        return out


    def outside_mainland(self) -> list[tuple[str, str]]:
        """(path, code) of every region outside mainland China: not assessed, and said so."""
        from service.profile.regions import in_mainland

        out = []
        if self.business.registered_region and not in_mainland(self.business.registered_region):
            out.append(("business.registered_region", self.business.registered_region))
        for name in ("licences", "services"):
            for i, item in enumerate(getattr(self, name)):
                out += [(f"{name}[{i}].regions[{j}]", code) for j, code in enumerate(item.regions)
                        if not in_mainland(code)]
        return out


def check_list_sizes(profile: Profile, limit: int) -> list[tuple[str, str]]:
    """Lists longer than the configured limit, as (path, message): big profiles are refused, not truncated."""
    problems = []
    for name in ("licences", "services", "network_resources", "data", "cross_border", "products"):
        items = getattr(profile, name)
        if len(items) > limit:
            problems.append((name, f"has {len(items)} items; at most {limit} are allowed"))
    return problems
