// #/rulesets, for operators: the stored rule-set versions (which is active, who stored and who activated each),
// and for a version not active its portfolio impact (an impact job, polled until done: totals by rule and by
// instrument, the businesses that change, the CSV). Only once the impact is shown can the version be activated.

import { call, fetchFile } from "./api.js";
import { fill, h, routeLink, uid } from "./dom.js";
import { clearProblem, showProblem } from "./problems.js";
import { formatTimestamp, plural } from "./wording.js";

const PAGE = 25;  // businesses per page of the impact
const POLL_MS = 400;
const CHANGES = [["added", "Obligations added"], ["removed", "Obligations removed"], ["changed", "Obligations changed"]];
const OPERATORS_ONLY = "Only an operator sees who activated each version, a version's impact, and can activate it";

/** version -> its latest successful activation (activate, rollback, reload or start-up) in the audit log. */
function activations(events) {
  const found = new Map();
  for (const e of events) {  // newest first
    if (e.outcome === "ok" && e.to_version && !found.has(e.to_version)) found.set(e.to_version, e);
  }
  return found;
}

function whenAndWho(at, actor, note) {
  return [formatTimestamp(at), h("br"), h("span", { class: "id" }, `by ${actor}`), note ? ` (${note})` : null];
}

/** A table of counts by rule or by instrument: each id links to its page in the Rules or Instruments section. */
function countsTable(caption, idHeading, section, counts) {
  const ids = Object.keys(counts).sort();
  if (!ids.length) return h("p", { class: "note" }, "None.");
  return h("table", { class: "listing impact-counts", "data-counts": section },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, [idHeading, "Added", "Removed", "Changed"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ids.map((id) => h("tr", { "data-id": id },
      h("th", { scope: "row" }, routeLink([section, id], h("code", {}, id))),
      CHANGES.map(([k]) => h("td", { class: "number", "data-change": k }, String(counts[id][k])))))));
}

function findingItems(findings, change) {
  if (!findings.length) return null;
  return h("ul", { class: "rule-list", "data-change": change }, findings.map((f) => h("li", { "data-rule-id": f.rule_id },
    routeLink(["rules", f.rule_id], h("code", {}, f.rule_id)), ` \u2014 ${f.title}`,
    f.fields?.length ? h("span", { class: "note" }, ` (what differs: ${f.fields.join(", ")})`) : null)));
}

function businessRows(businesses) {
  return businesses.map((b) => h("tr", { "data-business": b.business },
    h("th", { scope: "row" }, b.subject ?? h("span", {}, "No subject: ", h("code", { class: "id" }, b.business)),
      h("br"), routeLink(["assessments", b.assessment_id], h("span", { class: "id" }, "latest assessment"))),
    b.changes ? CHANGES.map(([k]) => h("td", {}, findingItems(b.changes[k], k) ?? "\u2014"))
      : h("td", { colspan: 3, class: "warning" }, `Could not be evaluated: ${b.error ?? "unknown error"}`)));
}

/** Save a Blob under a file name (an object URL: the CSV is fetched with the token, so a plain link would not do). */
function save(blob, filename) {
  const href = URL.createObjectURL(blob);
  const link = h("a", { href, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** The impact of one version: started, polled, shown a page of businesses at a time, then offered for activation. */
function impactPanel(version, { onActivated }) {
  const headingId = uid("impact-heading");
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const progressId = uid("impact-progress");
  const progress = h("progress", { id: progressId, max: 1, value: 0 });
  const progressText = h("p", { class: "status", role: "status", "aria-live": "polite" }, "Starting the impact job\u2026");
  const results = h("div", { class: "impact-results" });
  const activateStatus = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const actions = h("div", { class: "actions" });  // filled once the impact is shown
  const about = h("p", { class: "lead" });
  const root = h("section", { class: "impact", "aria-labelledby": headingId, "data-impact-version": version },
    h("h3", { id: headingId, tabindex: "-1" }, `Impact of version ${version}`), about,
    h("div", { class: "impact-progress" }, h("label", { for: progressId }, "Businesses evaluated"), " ", progress),
    progressText, problem, results, actions, activateStatus);
  let stopped = false;
  let job = null;
  const afters = [0];  // the `after` of each page seen: back and forth

  function showProgress(view) {
    const evaluated = view.total - view.pending;
    progress.max = Math.max(view.total, 1);
    progress.value = view.total ? evaluated : 1;
    progressText.textContent = view.state === "done"
      ? `Done: ${plural(view.total, "business", "businesses")} evaluated${view.failed ? `, ${view.failed} could not be` : ""}.`
      : `Evaluating: ${evaluated} of ${plural(view.total, "business", "businesses")}\u2026`;
  }

  function showPage(view) {
    const t = view.totals;
    const page = afters.length;
    const pager = h("div", { class: "actions pager" },
      page > 1 ? h("button", { type: "button", class: "secondary", onclick: () => turn(-1) }, "\u2190 Previous businesses") : null,
      view.next_after !== null ? h("button", { type: "button", class: "secondary", onclick: () => turn(view.next_after) },
        "Next businesses \u2192") : null);
    const first = (page - 1) * PAGE + 1;
    fill(results,
      h("p", { class: "report-summary", "data-businesses-changed": t.businesses_changed },
        `${plural(t.businesses_changed, "business sees", "businesses see")} obligations added, removed or changed`
        + ` (of ${view.total} assessed)${t.businesses_failed ? `; ${t.businesses_failed} could not be evaluated` : ""}.`),
      h("h4", {}, "By rule"), countsTable("Businesses affected, by rule", "Rule", "rules", t.by_rule),
      h("h4", {}, "By instrument"),
      countsTable("Businesses affected, by instrument", "Instrument", "instruments", t.by_instrument),
      h("h4", { tabindex: "-1", "data-businesses-heading": "" }, "Businesses that change"),
      view.businesses.length ? [
        h("p", { class: "status" }, `Businesses ${first} to ${first + view.businesses.length - 1}.`),
        h("table", { class: "listing impact-businesses" },
          h("caption", { class: "visually-hidden" }, "Businesses whose obligations change"),
          h("thead", {}, h("tr", {}, ["Business", ...CHANGES.map(([, label]) => label)].map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, businessRows(view.businesses))),
        pager] : h("p", { class: "note" }, "None: no business's obligations change."));
  }

  /** Another page of businesses: `next` is its `after`, or -1 for the one before. */
  async function turn(next) {
    const after = next === -1 ? afters.at(-2) : next;
    try {
      clearProblem(problem);
      const view = await call(`v1/impact/${encodeURIComponent(job)}?limit=${PAGE}&after=${after}`);
      if (next === -1) afters.pop();
      else afters.push(next);
      showPage(view);
      results.querySelector("[data-businesses-heading]").focus();  // the button pressed is gone: keep the place
    } catch (err) {
      showProblem(problem, null, err);
    }
  }

  function showActions(view) {
    const csv = h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        save(await fetchFile(`v1/impact/${encodeURIComponent(job)}.csv`, "text/csv"), `impact-${job}.csv`);
      } catch (err) {
        showProblem(problem, null, err);
      }
    } }, "Download every change (CSV)");
    const activate = h("button", { type: "button", class: "primary", "data-activate": version, onclick: async () => {
      const affected = plural(view.totals.businesses_changed, "business sees", "businesses see");
      if (!window.confirm(`Activate version ${version}? ${affected} obligations added, removed or changed `
        + `(compared with version ${view.baseline_version}).`)) return;
      activate.disabled = true;
      activateStatus.textContent = `Activating version ${version}\u2026`;
      try {
        clearProblem(problem);
        await call(`v1/rulesets/${encodeURIComponent(version)}/activate`, { method: "POST" });
        activateStatus.textContent = `Version ${version} is now active.`;
        actions.replaceChildren();  // active now: nothing left to activate
        onActivated(version);
      } catch (err) {
        activate.disabled = false;
        activateStatus.textContent = "";
        showProblem(problem, null, err);
      }
    } }, "Activate this version");
    fill(actions, activate, csv);
  }

  async function start() {
    try {
      let view = await call(`v1/rulesets/${encodeURIComponent(version)}/impact`, { method: "POST" });
      job = view.job;
      root.dataset.job = job;
      fill(about, `Compared with version ${view.baseline_version}, the one active now: every business's latest `
        + "assessed profile is evaluated under both.", h("br"), h("span", { class: "id" }, `Job ${view.job}`));
      showProgress(view);
      while (view.state !== "done") {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        if (stopped) return;
        view = await call(`v1/impact/${encodeURIComponent(job)}?limit=${PAGE}`);
        showProgress(view);
      }
      if (stopped) return;
      showPage(view);
      showActions(view);
    } catch (err) {
      progressText.textContent = "The impact could not be shown.";
      showProblem(problem, null, err);
    }
  }

  start();
  return { root, stop: () => { stopped = true; } };
}

/** #/rulesets: the versions, newest first, and the impact of the one chosen. */
export function rulesetsView({ onActivated }) {
  const problem = h("div", { class: "problem", role: "alert", hidden: true });
  const listing = h("div", {}, h("p", { class: "note", role: "status" }, "Loading the versions\u2026"));
  const impactBox = h("div", {});
  let impact = null;

  function showImpact(version) {
    impact?.stop();
    impact = impactPanel(version, { onActivated: (v) => { load(); onActivated(v); } });
    fill(impactBox, impact.root);
    impact.root.querySelector("h3").focus();
  }

  function row(v, activated) {
    const last = activated?.get(v.version);
    return h("tr", { "data-version": v.version, class: v.active ? "active" : "" },
      h("th", { scope: "row" }, h("code", {}, v.version), v.active ? [" ", h("span", { class: "badge duty" }, "Active")] : null),
      h("td", { class: "number" }, String(v.rule_count)),
      h("td", {}, whenAndWho(v.created_at, v.created_by)),
      h("td", { "data-activated": "" }, !activated ? h("span", { class: "note" }, "(operators only)")
        : last ? whenAndWho(last.at, last.actor, last.action === "rollback" ? "a rollback" : null) : "Never"),
      h("td", {}, v.active ? h("span", { class: "note" }, "In use")
        : h("button", { type: "button", class: "secondary", "data-show-impact": v.version,
          onclick: () => showImpact(v.version) }, "Show impact",
        h("span", { class: "visually-hidden" }, ` of version ${v.version}`))));
  }

  async function load() {
    clearProblem(problem);
    try {
      const [list, audit] = await Promise.all([call("v1/rulesets"),
        call("v1/audit?limit=1000").catch((err) => err)]);
      const activated = audit instanceof Error ? null : activations(audit.events);
      if (audit instanceof Error) showProblem(problem, null, audit, { title: OPERATORS_ONLY });
      fill(listing, h("table", { class: "listing rulesets" },
        h("caption", { class: "visually-hidden" }, "Stored rule-set versions, newest first"),
        h("thead", {}, h("tr", {}, ["Version", "Rules", "Stored", "Activated (last)", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.versions.map((v) => row(v, activated)))));
    } catch (err) {
      listing.replaceChildren();
      showProblem(problem, null, err, { title: "The rule-set versions could not be loaded" });
    }
  }

  const root = h("section", { class: "view", "aria-labelledby": "rulesets-heading", "data-view": "rulesets" },
    h("h2", { id: "rulesets-heading", tabindex: "-1" }, "Rule sets"),
    h("p", { class: "lead" }, "The stored rule-set versions, newest first. Before activating a version, show its "
      + "impact: which businesses (the latest profile assessed for each) gain, lose or see changed obligations."),
    problem, listing, impactBox);
  document.addEventListener("token-changed", () => load());
  const view = { root, refresh: () => { load(); return view; } };
  return view;
}
