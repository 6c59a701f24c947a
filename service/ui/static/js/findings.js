// Findings (the obligations of an assessment) as a compliance officer reads them: title, kind, severity,
// deadline, the plain reason when the service gives one, the facts behind it, and every source quoted.

import { apiHref, h, routeLink, uid } from "./dom.js";
import {
  KINDS, countByKind, formatDate, kindHelp, kindLabel, legalForceLabel, legalStatusLabel, plural, regionLabel,
  severityLabel,
} from "./wording.js";

/** The badges under a finding's title: kind, severity, deadline (overdue or not), start date. */
export function findingTags(o, { starts } = {}) {
  const tags = [
    h("span", { class: `badge kind kind-${o.kind ?? "category"}` }, kindLabel(o.kind)),
  ];
  if (o.severity) {
    tags.push(h("span", { class: `badge severity severity-${o.severity}` }, `${severityLabel(o.severity)} severity`));
  }
  if (o.legal_force) {
    tags.push(h("span", { class: `badge force force-${o.legal_force}` }, legalForceLabel(o.legal_force)));
  }
  if (Array.isArray(o.conditional_on) && o.conditional_on.length) {
    tags.push(h("span", { class: "badge conditional" }, "Conditional"));
  }
  if (o.deadline && o.overdue === true) {  // a rule's own `overdue` says what happens then, not that it has
    tags.push(h("span", { class: "badge overdue" }, `Overdue: deadline was ${formatDate(o.deadline)}`));
  } else if (o.deadline) {
    tags.push(h("span", { class: "badge deadline" }, `Deadline ${formatDate(o.deadline)}`));
  }
  if (starts) tags.push(h("span", { class: "badge starts" }, `Applies from ${formatDate(starts)}`));
  return h("p", { class: "tags" }, tags.flatMap((t, i) => (i ? [" ", t] : [t])));
}

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** One quoted passage with where it comes from (`instrument: false` on the instrument's own page). */
export function citationBlock(c, { instrument = true } = {}) {
  const where = [];
  if (c.issuer) where.push(c.issuer);
  if (c.issued) where.push(`issued ${formatDate(c.issued)}`);
  if (c.document_number) where.push(c.document_number);
  if (c.provision) where.push(`provision ${c.provision}`);
  const source = c.source ?? { document: c.document, quote: c.quote };
  const status = c.legal_status
    ? h("span", { class: `badge status status-${c.legal_status}` }, legalStatusLabel(c.legal_status)) : null;
  return h("figure", { class: "citation", "data-instrument-id": c.instrument_id },
    h("blockquote", { class: "quote" }, source?.quote ?? ""),
    h("figcaption", {},
      !instrument ? null
        : c.instrument_id ? routeLink(["instruments", c.instrument_id], c.title || c.instrument_id) : (c.title ?? ""),
      where.length ? (instrument ? ` \u2014 ${where.join(", ")}` : capitalised(where.join(", "))) : "",
      status ? [" ", status] : null,
      c.final_version ? [" ", h("span", { class: "note" }, "Final version: "),
        routeLink(["instruments", c.final_version], c.final_version)] : null,
      source?.document ? h("span", { class: "source-document" }, ` Source text: ${source.document}`) : null));
}

/**
 * A finding as a card. `level` is the heading level of its title (the page's outline stays in order).
 * Fields the service may add later (explanation, starts) show when present and are skipped when not.
 */
export function findingCard(o, { level = 4, starts, note } = {}) {
  const titleId = uid("finding");
  const sub = `h${Math.min(level + 1, 6)}`;
  const meta = [];
  if (o.applies_from && o.applies_until) {
    meta.push(`Applies from ${formatDate(o.applies_from)} until ${formatDate(o.applies_until)}`);
  } else if (o.applies_from) {
    meta.push(`Applies from ${formatDate(o.applies_from)}`);
  } else if (o.applies_until) {
    meta.push(`Applies until ${formatDate(o.applies_until)}`);
  }
  if (o.jurisdiction) meta.push(regionLabel(o.jurisdiction));
  return h("article", { class: `finding kind-${o.kind}`, "aria-labelledby": titleId, "data-rule-id": o.rule_id,
    "data-kind": o.kind },
  h(`h${level}`, { id: titleId, class: "finding-title" }, o.title || o.rule_id),
  findingTags(o, { starts }),
  note ? h("p", { class: "note" }, note) : null,
  typeof o.explanation === "string" && o.explanation
    ? h("p", { class: "explanation" }, h("strong", {}, "In plain words: "), o.explanation) : null,
  o.summary ? h("p", { class: "summary" }, o.summary) : null,
  Array.isArray(o.conditional_on) && o.conditional_on.length ? h("div", { class: "conditional-on" },
    h(sub, {}, "Depends on what the profile does not say"),
    h("ul", {}, o.conditional_on.map((c) => h("li", { "data-path": c.path }, c.statement)))) : null,
  Array.isArray(o.caveats) && o.caveats.length ? h("ul", { class: "caveats" },
    o.caveats.map((c) => h("li", {}, c))) : null,
  Array.isArray(o.because) && o.because.length ? h("div", { class: "because" },
    h(sub, {}, "Why this applies"),
    h("ul", {}, o.because.map((b) => h("li", {}, b)))) : null,
  Array.isArray(o.citations) && o.citations.length ? h("div", { class: "sources" },
    h(sub, {}, o.citations.length === 1 ? "Source" : `Sources (${o.citations.length})`),
    o.citations.map(citationBlock)) : null,
  o.interpretation ? h("div", { class: "interpretation" },
    h(sub, {}, "How the source is read"),
    h("p", {}, h("strong", {}, "Reading taken: "), o.interpretation.reading),
    h("p", {}, h("strong", {}, "Alternative: "), o.interpretation.alternative),
    h("p", {}, h("strong", {}, "Why: "), o.interpretation.why)) : null,
  h("p", { class: "meta" },
    meta.length ? `${meta.join(" \u00b7 ")} \u00b7 ` : "",
    "Rule ", routeLink(["rules", o.rule_id], h("code", {}, o.rule_id))));
}

/** The instrument a finding is filed under when grouped by instrument: the first it cites. */
function primaryInstrument(o) {
  const c = (o.citations ?? [])[0];
  return c ? { id: c.instrument_id, title: c.title || c.instrument_id, issuer: c.issuer, issued: c.issued }
    : { id: "", title: "No source", issuer: "", issued: "" };
}

/** Findings grouped under headings of `level`: by kind (most serious first) or by instrument. */
export function groupedFindings(obligations, by, level = 3) {
  const groups = [];
  if (by === "instrument") {
    const byId = new Map();
    for (const o of obligations) {
      const inst = primaryInstrument(o);
      if (!byId.has(inst.id)) byId.set(inst.id, { inst, items: [] });
      byId.get(inst.id).items.push(o);
    }
    for (const { inst, items } of byId.values()) {
      const headingId = uid("group");
      const detail = [inst.issuer, inst.issued ? formatDate(inst.issued) : ""].filter(Boolean).join(", ");
      groups.push(h("section", { class: "group", "aria-labelledby": headingId, "data-instrument-id": inst.id },
        h(`h${level}`, { id: headingId }, inst.title, " ", h("span", { class: "count" }, `(${items.length})`)),
        h("p", { class: "group-help" }, detail ? `${detail}. ` : "", countByKind(items), "."),
        items.map((o) => findingCard(o, { level: level + 1 }))));
    }
  } else {
    const known = new Set(KINDS.map((k) => k.kind));
    const order = [...KINDS.map((k) => k.kind), ...new Set(obligations.map((o) => o.kind).filter((k) => !known.has(k)))];
    for (const kind of order) {
      const items = obligations.filter((o) => o.kind === kind);
      if (!items.length) continue;
      const headingId = uid("group");
      groups.push(h("section", { class: `group group-${kind}`, "aria-labelledby": headingId, "data-kind": kind },
        h(`h${level}`, { id: headingId }, kindLabel(kind, items.length), " ",
          h("span", { class: "count" }, `(${items.length})`)),
        kindHelp(kind) ? h("p", { class: "group-help" }, kindHelp(kind)) : null,
        items.map((o) => findingCard(o, { level: level + 1 }))));
    }
  }
  return groups;
}

/** An upcoming duty: `{starts, obligation}` as the service describes it, or an obligation with `starts`. */
function upcomingParts(item) {
  const wrapped = item?.obligation && typeof item.obligation === "object";
  let o = wrapped ? item.obligation : item;
  if (wrapped && item.deadline && !o.deadline) o = { ...o, deadline: item.deadline };  // a deadline in the horizon
  const starts = item?.starts ?? item?.date ?? item?.applies_from ?? o?.applies_from ?? null;
  return { o, starts };
}

/**
 * The whole assessment: who and when, the counts, a choice of grouping, the findings, then what is coming,
 * the service's warnings about the profile, and the categories it inferred.
 */
export function assessmentReport(a, { level = 2, heading } = {}) {
  const obligations = Array.isArray(a.obligations) ? a.obligations : [];
  const upcoming = Array.isArray(a.upcoming) ? a.upcoming : [];
  const warnings = Array.isArray(a.warnings) ? a.warnings : [];
  const derived = Array.isArray(a.derived_facts) ? a.derived_facts : [];
  const headingId = uid("report");
  const groupsBox = h("div", { class: "groups" });
  const sub = level + 1;

  const grouping = uid("grouping");
  const show = (by) => groupsBox.replaceChildren(...groupedFindings(obligations, by, sub));
  const choice = (value, label, checked) => h("label", { class: "choice" },
    h("input", { type: "radio", name: grouping, value, checked, onchange: () => show(value) }), " ", label);

  const id = a.assessment_id;
  const meta = h("dl", { class: "facts" },
    id ? [h("dt", {}, "Assessment"), h("dd", {},
      h("a", { href: apiHref(`v1/assessments/${encodeURIComponent(id)}`), class: "assessment-link",
        "data-assessment-id": id }, h("code", {}, id)),
      " ", h("span", { class: "note" }, "(the recorded answer, exactly as the service returned it)"), " \u00b7 ",
      routeLink(["assessments", id], "link to this report"))] : null,
    h("dt", {}, "Law applied as of"), h("dd", {}, formatDate(a.as_of) || "today"),
    a.ruleset ? [h("dt", {}, "Rule set"), h("dd", {}, a.ruleset.version ?? "",
      a.ruleset.digest ? h("span", { class: "note digest" }, ` (${String(a.ruleset.digest).slice(0, 19)}\u2026)`) : null)]
      : null);

  const summary = obligations.length
    ? `${plural(obligations.length, "finding", "findings")}: ${countByKind(obligations)}.`
    : "Nothing in the rule base applies to this profile on this date.";

  const report = h("section", { class: "report", "aria-labelledby": headingId },
    h(`h${level}`, { id: headingId, tabindex: "-1", class: "report-title" },
      heading ?? "Findings"),
    meta,
    h("p", { class: "report-summary" }, summary),
    obligations.length ? h("div", { class: "report-controls no-print" },
      h("fieldset", { class: "inline" },
        h("legend", {}, "Group the findings"),
        choice("kind", "by kind", true), " ", choice("instrument", "by instrument", false)),
      h("button", { type: "button", class: "secondary", onclick: () => window.print() }, "Print")) : null,
    groupsBox,
    upcoming.length ? h("section", { class: "upcoming", "aria-labelledby": `${headingId}-upcoming` },
      h(`h${sub}`, { id: `${headingId}-upcoming` }, "Coming up ", h("span", { class: "count" }, `(${upcoming.length})`)),
      h("p", { class: "group-help" }, "Duties whose conditions this business already meets but which apply only after "
        + `${formatDate(a.as_of) || "the assessment date"}, with the date each starts.`),
      upcoming.map((item) => {
        const { o, starts } = upcomingParts(item);
        return o ? findingCard(o, { level: sub + 1, starts }) : null;
      })) : null,
    warnings.length ? h("section", { class: "warnings", "aria-labelledby": `${headingId}-warnings` },
      h(`h${sub}`, { id: `${headingId}-warnings` }, "About the profile"),
      h("ul", {}, warnings.map((w) => h("li", {},
        w.path ? [h("code", {}, w.path), ": "] : null, w.message ?? String(w))))) : null,
    derived.length ? h("details", { class: "derived" },
      h("summary", {}, `What the service inferred about this business (${derived.length})`),
      h("ul", {}, derived.map((d) => h("li", {},
        h("code", {}, d.fact),
        d.values && Object.keys(d.values).length
          ? ` (${Object.entries(d.values).map(([k, v]) => `${k}: ${v}`).join(", ")})` : "",
        Array.isArray(d.from_rules) && d.from_rules.length
          ? [" \u2014 from ", d.from_rules.flatMap((r, i) => (i ? [", ", routeLink(["rules", r], r)] : [routeLink(["rules", r], r)]))]
          : null)))) : null);
  show("kind");
  return report;
}
