// "Compare with today": the officer marks the profile of the business as it stands today, builds the new
// line on the form, and sees what the new line adds, removes and changes (POST /v1/assessments/compare,
// baseline = today, proposed = the form's profile), in the Compare page's own report.

import { ApiError, call } from "./api.js";
import { fill, h, uid } from "./dom.js";
import { comparisonReport, errorsBySide } from "./compare.js";
import { showProblem } from "./problems.js";
import { plural } from "./wording.js";

function describe(profile) {
  const count = (name, one, many) => plural(Array.isArray(profile[name]) ? profile[name].length : 0, one, many);
  const name = profile.business?.name;
  return `${name ? `${name}: ` : ""}${count("licences", "licence", "licences")}, ${count("services", "service", "services")}, `
    + `${count("data", "data category", "data categories")}`;
}

/**
 * todayPanel({current() -> profile, results, onProposedErrors(errors), onAssessment}) -> {root}.
 * The comparison goes into `results`, where the Assess answer goes.
 */
export function todayPanel({ current, results, onProposedErrors, onAssessment }) {
  let today = null;
  let busy = false;
  const headingId = uid("today");
  const state = h("p", { class: "status", role: "status", "aria-live": "polite", "data-today": "unset" },
    "Today is not marked yet.");
  const problem = h("div", { class: "problem", role: "alert", tabindex: "-1", hidden: true,
    "data-problem-for": "today" });
  const compare = h("button", { type: "button", class: "secondary", disabled: true, "data-role": "compare-today",
    onclick: () => run() }, "Compare with today");
  const mark = h("button", { type: "button", class: "secondary", "data-role": "mark-today", onclick: () => {
    today = structuredClone(current());
    state.dataset.today = "set";
    state.textContent = `Today is marked: ${describe(today)}. Now build the new line, then compare.`;
    compare.disabled = false;
  } }, "Mark this profile as today");

  async function run() {
    if (!today || busy) return;
    busy = true;
    compare.disabled = true;
    problem.hidden = true;
    onProposedErrors?.([]);
    fill(results);  // an earlier answer must not pass for this one's
    state.textContent = "Comparing with today\u2026";
    try {
      const answer = await call("v1/assessments/compare", { method: "POST",
        body: { baseline: today, proposed: current() } });
      const report = comparisonReport(answer, { heading: "What the new line changes, compared with today" });
      fill(results, report);
      onAssessment?.({ ruleset: answer.ruleset });
      state.textContent = `Compared with today (${describe(today)}).`;
      report.querySelector(".report-title").focus();
    } catch (err) {
      state.textContent = "";
      const { baseline, proposed, rest } = errorsBySide(err instanceof ApiError ? err.errors : []);
      onProposedErrors?.(proposed);
      const here = [...baseline.map((e) => ({ ...e, path: `today: ${e.path}` })), ...rest];
      if (here.length || !proposed.length) {
        showProblem(problem, null, err, { errors: here, title: proposed.length
          ? "Today's profile was not accepted" : undefined });
        problem.focus();
      } else {
        showProblem(problem, null, err, { errors: proposed, title: "The new line's profile was not accepted" });
      }
    } finally {
      busy = false;
      compare.disabled = !today;
    }
  }

  const root = h("section", { class: "today", "aria-labelledby": headingId, "data-panel": "today" },
    h("h3", { id: headingId }, "Compare with today"),
    h("p", { class: "group-help" }, "Load or build the business as it stands today and mark it; then add the new line "
      + "on the form. The comparison shows what the new line adds, removes and changes."),
    h("div", { class: "actions" }, mark, compare),
    state, problem);
  return { root };
}
