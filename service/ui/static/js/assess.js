// Assess a business: paste, open or pick an example profile, send it to POST /v1/assessments, and read
// the findings; or open an assessment recorded earlier by its id.

import { ApiError, call } from "./api.js";
import { apiHref, fill, h } from "./dom.js";
import { profileField } from "./fields.js";
import { assessmentReport } from "./findings.js";
import { ProfileTextError, readProfile, showProblem } from "./problems.js";
import { asText, samples } from "./samples.js";

function reportHeading(a, profile) {
  const name = profile?.business?.name;
  return name ? `Findings for ${name}` : "Findings";
}

export function assessView({ onAssessment }) {
  const field = profileField({
    name: "profile",
    label: "Profile of the business (JSON)",
    help: "The facts about the business: the date to apply the law at (as_of), the business itself, its licences, "
      + "services, data, cross-border flows, network resources and products. Every part may be left out. "
      + "Start from one of the examples above and edit it.",
    rows: 20,
  });
  const examples = h("div", { class: "examples" }, h("p", { class: "note" }, "Loading examples\u2026"));
  const button = h("button", { type: "submit", class: "primary" }, "Assess");
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const results = h("div", { class: "results", "data-results": "assess" });
  const lookup = h("input", { id: "assessment-id", name: "assessment_id", type: "text", spellcheck: "false",
    autocomplete: "off", pattern: "[0-9A-Za-z]{26}", "aria-describedby": "assessment-id-help", required: true });

  let busy = false;

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    field.clear();
    let profile;
    try {
      profile = readProfile(field.get());
    } catch (err) {
      showProblem(field.problem, field.textarea, err);
      field.problem.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    fill(results);  // an earlier answer must not pass for this one's
    status.textContent = "Assessing\u2026";
    try {
      // the officer's own text, as written: the service judges exactly what they see
      const answer = await call("v1/assessments", { method: "POST", body: field.get() });
      show(answer, reportHeading(answer, profile));
      status.textContent = `Assessed: ${answer.obligations?.length ?? 0} findings.`;
    } catch (err) {
      fill(results);
      status.textContent = "";
      showProblem(field.problem, field.textarea, err instanceof ApiError || err instanceof ProfileTextError ? err
        : new Error(String(err)));
      field.problem.focus();
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  function show(answer, heading) {
    const report = assessmentReport(answer, { level: 2, heading });
    fill(results, report);
    onAssessment?.(answer);
    report.querySelector(".report-title")?.focus();
  }

  /** #/assessments/ID: the recorded answer, read back from GET /v1/assessments/{id}. */
  async function openRecorded(id) {
    field.clear();
    lookup.value = id;
    fill(results);
    status.textContent = "Opening the recorded assessment\u2026";
    try {
      const answer = await call(`v1/assessments/${encodeURIComponent(id)}`);
      show(answer, "Recorded assessment");
      status.textContent = "Recorded assessment opened.";
    } catch (err) {
      status.textContent = "";
      fill(results, h("div", { class: "problem", role: "alert" },
        h("p", {}, h("strong", {}, `Assessment ${id} could not be opened`)), h("p", {}, err.message)));
    }
  }

  samples().then(({ profiles }) => {
    if (!profiles.length) {
      fill(examples, h("p", { class: "note" }, "No examples could be loaded."));
      return;
    }
    fill(examples, h("ul", { class: "example-list" }, profiles.map((s) => h("li", {},
      h("button", { type: "button", class: "example", "data-sample": s.id, "aria-describedby": `sample-${s.id}`,
        onclick: () => {
          field.set(asText(s.profile));
          status.textContent = `Example loaded: ${s.title}. Review it, then choose Assess.`;
          field.textarea.focus();
        } }, s.title),
      h("span", { id: `sample-${s.id}`, class: "note" }, s.description)))));
  });

  const root = h("section", { class: "view", "aria-labelledby": "assess-heading", "data-view": "assess" },
    h("h2", { id: "assess-heading", tabindex: "-1", class: "no-print" }, "Assess a business"),
    h("p", { class: "lead no-print" }, "Describe a business and see which obligations, prohibitions and violations its facts "
      + "trigger under the rule set in use, each with the passages of law it comes from. Every assessment is "
      + "recorded, so it can be opened again by its id."),
    h("form", { class: "assess-form", novalidate: true, onsubmit: submit, "aria-labelledby": "assess-heading" },
      h("fieldset", { class: "example-choice" }, h("legend", {}, "Start from an example"), examples),
      field.root,
      h("div", { class: "actions" }, button, status),
      h("p", { class: "hint" }, "Field names and allowed values: ",
        h("a", { href: apiHref("docs") }, "the API description"), ".")),
    results,
    h("details", { class: "open-recorded no-print" },
      h("summary", {}, "Open a recorded assessment"),
      h("form", { class: "inline-form", onsubmit: (e) => {
        e.preventDefault();
        const id = lookup.value.trim();
        if (id) window.location.hash = `#/assessments/${encodeURIComponent(id)}`;
      } },
      h("label", { for: "assessment-id" }, "Assessment id"), " ", lookup, " ",
      h("button", { type: "submit", class: "secondary" }, "Open"),
      h("p", { id: "assessment-id-help", class: "hint" }, "The 26-character id shown with every assessment."))));

  return { root, openRecorded, field };
}
