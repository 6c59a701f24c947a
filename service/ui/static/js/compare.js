// Compare two profiles (POST /v1/assessments/compare): what a change to the business adds, removes or
// changes among its duties, with what stays the same.

import { ApiError, call } from "./api.js";
import { apiHref, fill, h, uid } from "./dom.js";
import { profileField } from "./fields.js";
import { findingCard, findingTags } from "./findings.js";
import { readProfile, showProblem } from "./problems.js";
import { asText, samples } from "./samples.js";
import { countByKind, formatDate, kindLabel, plural, severityLabel } from "./wording.js";

const SIDES = ["baseline", "proposed"];

/** What differs between the two versions of one finding, as rows of (what, before, after). */
function differences(before, after) {
  const rows = [];
  const shown = (v, f = (x) => x) => (v === null || v === undefined || v === "" ? "none" : f(v));
  const field = (what, key, f) => {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      rows.push([what, shown(before[key], f), shown(after[key], f)]);
    }
  };
  field("Kind", "kind", (v) => kindLabel(v));
  field("Severity", "severity", severityLabel);
  field("Deadline", "deadline", formatDate);
  field("Overdue", "overdue", (v) => (v ? "yes" : "no"));
  field("Applies from", "applies_from", formatDate);
  field("Applies until", "applies_until", formatDate);
  field("Title", "title");
  field("In plain words", "explanation");
  const reasonsBefore = new Set(before.because ?? []);
  const reasonsAfter = new Set(after.because ?? []);
  const gone = [...reasonsBefore].filter((r) => !reasonsAfter.has(r));
  const come = [...reasonsAfter].filter((r) => !reasonsBefore.has(r));
  const citesBefore = (before.citations ?? []).map((c) => `${c.instrument_id} ${c.provision ?? ""}`).join("|");
  const citesAfter = (after.citations ?? []).map((c) => `${c.instrument_id} ${c.provision ?? ""}`).join("|");
  return { rows, gone, come, citationsChanged: citesBefore !== citesAfter };
}

function changeCard(change, level) {
  const before = change.baseline ?? {};
  const after = change.proposed ?? {};
  const { rows, gone, come, citationsChanged } = differences(before, after);
  const titleId = uid("change");
  const sub = `h${Math.min(level + 1, 6)}`;
  return h("article", { class: `finding change kind-${after.kind}`, "aria-labelledby": titleId,
    "data-rule-id": change.rule_id ?? after.rule_id },
  h(`h${level}`, { id: titleId, class: "finding-title" }, after.title || change.rule_id),
  findingTags(after),
  rows.length ? h("table", { class: "diff" },
    h("caption", { class: "visually-hidden" }, "What changed"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Now (baseline)"),
      h("th", { scope: "col" }, "With the change (proposed)"))),
    h("tbody", {}, rows.map(([what, b, a]) => h("tr", {}, h("th", { scope: "row" }, what), h("td", {}, b),
      h("td", {}, a))))) : null,
  come.length || gone.length ? h("div", { class: "because" },
    h(sub, {}, "Reasons that change"),
    h("ul", {},
      come.map((r) => h("li", { class: "reason-added" }, h("span", { class: "badge added" }, "New"), " ", r)),
      gone.map((r) => h("li", { class: "reason-removed" }, h("span", { class: "badge removed" }, "No longer"), " ", r))))
    : null,
  citationsChanged ? h("p", { class: "note" }, "The sources cited differ; the proposed version is below.") : null,
  h("details", {}, h("summary", {}, "The finding with the change, in full"),
    findingCard(after, { level: Math.min(level + 1, 6) })));
}

/**
 * A comparison's 422 errors by the profile they concern (paths baseline.* and proposed.*), each path made
 * relative to its profile: {baseline: [...], proposed: [...], rest: [...]}.
 */
export function errorsBySide(errors) {
  const out = { baseline: [], proposed: [], rest: [] };
  for (const e of errors) {
    const side = SIDES.find((s) => String(e.path ?? "").startsWith(`${s}.`) || e.path === s);
    if (side) out[side].push({ ...e, path: String(e.path).slice(side.length + 1) || "(the whole profile)" });
    else out.rest.push(e);
  }
  return out;
}

function section(key, heading, help, items, render, { collapsed = false } = {}) {
  const headingId = uid("compare");
  const body = items.length ? items.map(render) : [h("p", { class: "note" }, "None.")];
  const inner = [h("p", { class: "group-help" }, help), body];
  return h("section", { class: `group compare-${key}`, "aria-labelledby": headingId, "data-compare": key },
    h("h3", { id: headingId }, heading, " ", h("span", { class: "count" }, `(${items.length})`)),
    collapsed && items.length
      ? h("details", {}, h("summary", {}, `Show the ${plural(items.length, "finding", "findings")} that stay the same`),
        inner)
      : inner);
}

/**
 * What a comparison (POST /v1/assessments/compare) says, as a report: the findings a change adds, removes and
 * changes, and those it leaves. The Compare page and the onboarding's "Compare with today" both show it.
 */
export function comparisonReport(c, { heading = "What the change does" } = {}) {
  const headingId = uid("compare-result");
  const added = c.added ?? [];
  const removed = c.removed ?? [];
  const changed = c.changed ?? [];
  const unchanged = c.unchanged ?? [];
  const link = (ref, label) => (ref?.assessment_id ? [label, " ",
    h("a", { href: apiHref(`v1/assessments/${encodeURIComponent(ref.assessment_id)}`), "data-assessment-id": ref.assessment_id },
      h("code", {}, ref.assessment_id)), ref.as_of ? ` (as of ${formatDate(ref.as_of)})` : ""] : null);
  const report = h("section", { class: "report", "aria-labelledby": headingId, "data-report": "comparison" },
    h("h2", { id: headingId, tabindex: "-1", class: "report-title" }, heading),
    h("p", { class: "report-summary" },
      `${plural(added.length, "new finding", "new findings")}, `
      + `${removed.length} no longer applying, ${changed.length} changed, ${unchanged.length} unchanged.`),
    h("dl", { class: "facts" },
      h("dt", {}, "Recorded as"), h("dd", {}, link(c.baseline, "baseline"), " \u00b7 ", link(c.proposed, "proposed")),
      c.ruleset ? [h("dt", {}, "Rule set"), h("dd", {}, c.ruleset.version ?? "")] : null),
    h("div", { class: "report-controls no-print" },
      h("button", { type: "button", class: "secondary", onclick: () => window.print() }, "Print")),
    section("added", "New with the change", added.length ? `Triggered only by the proposed profile: ${countByKind(added)}.`
      : "The change triggers nothing new.", added, (o) => findingCard(o, { level: 4 })),
    section("removed", "No longer apply", "Triggered by the business now, not with the change.",
      removed, (o) => findingCard(o, { level: 4 })),
    section("changed", "Changed", "Triggered by both, but with a different kind, date or reasons.",
      changed, (ch) => changeCard(ch, 4)),
    section("unchanged", "Unchanged", "Triggered by both, exactly the same.", unchanged,
      (o) => findingCard(o, { level: 4 }), { collapsed: true }));
  return report;
}

export function compareView({ onAssessment, currentProfile }) {
  const fields = {
    baseline: profileField({ name: "baseline", label: "The business now (baseline)",
      help: "The profile as the business stands today.", rows: 16 }),
    proposed: profileField({ name: "proposed", label: "The business with the change (proposed)",
      help: "The same profile with the new business line, region, licence or data flow.", rows: 16 }),
  };
  const general = h("div", { class: "problem", role: "alert", tabindex: "-1", hidden: true, "data-problem-for": "compare" });
  const examples = h("div", { class: "examples" }, h("p", { class: "note" }, "Loading examples\u2026"));
  const button = h("button", { type: "submit", class: "primary" }, "Compare");
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const results = h("div", { class: "results", "data-results": "compare" });
  let busy = false;

  function clearAll() {
    for (const side of SIDES) fields[side].clear();
    general.hidden = true;
    general.replaceChildren();
  }

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    clearAll();
    const texts = {};
    let firstBad = null;
    for (const side of SIDES) {
      try {
        readProfile(fields[side].get());
        texts[side] = fields[side].get();
      } catch (err) {
        showProblem(fields[side].problem, fields[side].textarea, err);
        firstBad ??= fields[side].problem;
      }
    }
    if (firstBad) {
      firstBad.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    fill(results);  // an earlier answer must not pass for this one's
    status.textContent = "Comparing\u2026";
    try {
      // both texts are valid JSON (checked above), so they can be placed in the request as written
      const body = `{"baseline": ${texts.baseline}, "proposed": ${texts.proposed}}`;
      const answer = await call("v1/assessments/compare", { method: "POST", body });
      showComparison(answer);
      status.textContent = "Compared.";
    } catch (err) {
      fill(results);
      status.textContent = "";
      showErrors(err);
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  /** 422 errors go under the profile they concern (their path starts baseline. or proposed.). */
  function showErrors(err) {
    const { rest, ...bySide } = errorsBySide(err instanceof ApiError ? err.errors : []);
    let first = null;
    for (const side of SIDES) {
      if (bySide[side].length) {
        showProblem(fields[side].problem, fields[side].textarea, err, { errors: bySide[side] });
        first ??= fields[side].problem;
      }
    }
    if (rest.length || !first) {
      showProblem(general, null, err, { errors: rest });
      first ??= general;
    }
    first.focus();
  }

  function showComparison(c) {
    const report = comparisonReport(c);
    fill(results, report);
    onAssessment?.({ ruleset: c.ruleset });
    report.querySelector(".report-title").focus();
  }

  samples().then(({ comparisons }) => {
    const items = comparisons.map((s) => h("li", {},
      h("button", { type: "button", class: "example", "data-sample": s.id, "aria-describedby": `compare-sample-${s.id}`,
        onclick: () => {
          fields.baseline.set(asText(s.baseline));
          fields.proposed.set(asText(s.proposed));
          status.textContent = `Example loaded: ${s.title}. Review both profiles, then choose Compare.`;
          fields.baseline.textarea.focus();
        } }, s.title),
      h("span", { id: `compare-sample-${s.id}`, class: "note" }, s.description)));
    items.push(h("li", {},
      h("button", { type: "button", class: "example", "data-sample": "from-assess", onclick: () => {
        const text = currentProfile();
        if (!text.trim()) {
          status.textContent = "The Assess page has no profile yet.";
          return;
        }
        fields.baseline.set(text);
        fields.proposed.set(text);
        status.textContent = "Both profiles now hold the profile from the Assess page: change the proposed one.";
        fields.proposed.textarea.focus();
      } }, "Start from the profile on the Assess page"),
      h("span", { class: "note" }, "Copies it into both boxes, so you only edit what changes.")));
    fill(examples, h("ul", { class: "example-list" }, items));
  });

  const root = h("section", { class: "view", "aria-labelledby": "compare-heading", "data-view": "compare" },
    h("h2", { id: "compare-heading", tabindex: "-1", class: "no-print" }, "Compare two profiles"),
    h("p", { class: "lead no-print" }, "Before a business starts a new line, enters a region or changes a licence: see which "
      + "findings the change adds, which it removes and which change, under the same rule set and date."),
    h("form", { class: "compare-form", novalidate: true, onsubmit: submit, "aria-labelledby": "compare-heading" },
      h("fieldset", { class: "example-choice" }, h("legend", {}, "Start from an example"), examples),
      h("div", { class: "two-columns" }, fields.baseline.root, fields.proposed.root),
      general,
      h("div", { class: "actions" }, button, status)),
    results);

  return { root, fields };
}
