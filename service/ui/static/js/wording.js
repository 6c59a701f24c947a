// The words the page uses for the service's codes, and dates written out in full.

/** Kinds of finding, most serious first, in the order the page lists them. */
export const KINDS = [
  { kind: "violation", one: "Violation", many: "Violations",
    help: "The profile itself shows a breach: act on these first." },
  { kind: "prohibition", one: "Prohibition", many: "Prohibitions",
    help: "Things this business must not do." },
  { kind: "obligation", one: "Obligation", many: "Obligations",
    help: "Things this business must do." },
  { kind: "advisory", one: "Advisory", many: "Advisories",
    help: "Drafts and guidance: worth knowing, never binding." },
  { kind: "notice", one: "Notice", many: "Notices",
    help: "Campaigns, inspections and opportunities that concern this business." },
];

const KIND_BY_CODE = Object.fromEntries(KINDS.map((k) => [k.kind, k]));

export function kindLabel(kind, count = 1) {
  const k = KIND_BY_CODE[kind];
  if (!k) return kind ? String(kind) : "Category";
  return count === 1 ? k.one : k.many;
}

export function kindHelp(kind) {
  return KIND_BY_CODE[kind]?.help ?? "";
}

/** "3 violations, 1 obligation" (only the kinds present). */
export function countByKind(obligations) {
  const counts = new Map();
  for (const o of obligations) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  const parts = [];
  for (const { kind } of KINDS) {
    const n = counts.get(kind);
    if (n) parts.push(`${n} ${kindLabel(kind, n).toLowerCase()}`);
  }
  for (const [kind, n] of counts) {
    if (!KIND_BY_CODE[kind]) parts.push(`${n} ${kind}`);
  }
  return parts.join(", ");
}

const SEVERITY = { critical: "Critical", high: "High", medium: "Medium", low: "Low", info: "Information" };

export function severityLabel(severity) {
  return SEVERITY[severity] ?? (severity ? String(severity) : "");
}

const LEGAL_STATUS = {
  in_force: "In force",
  not_yet_in_force: "Not yet in force",
  draft: "Draft (not binding)",
  superseded: "Superseded",
  standard: "Recommended standard (not binding)",
  informational: "Informational (not binding)",
  no_longer_in_force: "No longer in force",
  in_force_date_not_established: "In force (date of entry into force not established)",
};

/** An instrument's place in the Chinese legal order, and whether it binds. */
const LEGAL_FORCE = {
  law: "Law",
  administrative_regulation: "Administrative regulation",
  departmental_rule: "Departmental rule",
  local_regulation: "Local regulation",
  normative_document: "Normative document",
  mandatory_standard: "Mandatory national standard",
  recommended_standard: "Recommended standard or guide (not binding)",
  draft: "Draft for comment (not binding)",
  enforcement_action: "Enforcement action or report (not binding)",
  policy_plan: "Policy plan or programme (not binding)",
};

export function legalForceLabel(force) {
  return LEGAL_FORCE[force] ?? (force ? String(force).replaceAll("_", " ") : "");
}

export function legalStatusLabel(status) {
  return LEGAL_STATUS[status] ?? (status ? String(status).replaceAll("_", " ") : "Unknown");
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];

/**
 * "2017-03-31" -> "31 March 2017"; "2020-03" -> "March 2020"; "2015" -> "2015". Written out by hand, not with
 * the browser's locale, so every officer (and every printed report) reads the same date the same way.
 */
export function formatDate(value) {
  if (value === null || value === undefined || value === "") return "";
  const text = String(value);
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(text);
  if (!m) return text;
  const [, year, month, day] = m;
  if (!month) return year;
  const name = MONTHS[Number(month) - 1];
  if (!name) return text;
  if (!day) return `${name} ${year}`;
  return `${Number(day)} ${name} ${year}`;
}

/** "2026-11-23T02:31:24.39Z" -> "23 November 2026, 02:31 UTC". */
export function formatTimestamp(value) {
  if (!value) return "";
  let text = String(value);
  if (/(Z|[+-]\d{2}:?\d{2})$/.test(text)) {  // an explicit offset: convert to UTC
    const when = new Date(text);
    if (!Number.isNaN(when.getTime())) text = when.toISOString();
  }  // without one the service means UTC (its database sessions run in UTC)
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(text);
  if (!m) return text;
  return `${formatDate(m[1])}, ${m[2]} UTC`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

const REGIONS = {
  CN: "Nationwide", "CN-BJ": "Beijing", "CN-SH": "Shanghai", "CN-TJ": "Tianjin", "CN-CQ": "Chongqing",
  "CN-GD": "Guangdong", "CN-GD-SZ": "Shenzhen", "CN-HI": "Hainan", "CN-AH": "Anhui", "CN-ZJ": "Zhejiang",
  "CN-JS": "Jiangsu",
};

/** "CN-GD-SZ" -> "Shenzhen (CN-GD-SZ)"; "CN" -> "Nationwide". */
export function regionLabel(code) {
  if (!code) return "";
  if (code === "CN") return REGIONS.CN;
  return REGIONS[code] ? `${REGIONS[code]} (${code})` : String(code);
}
