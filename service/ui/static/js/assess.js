// Assess a business: build the profile on the form (generated from the profile's schema) or as JSON (the two
// stay in step), see the findings and the questions that matter update beside it, compare the new line with
// today, and send it to POST /v1/assessments to record the assessment; or open one recorded earlier by its id.

import { ApiError, call } from "./api.js";
import { apiHref, fill, h } from "./dom.js";
import { profileField } from "./fields.js";
import { assessmentReport } from "./findings.js";
import { profileForm } from "./form.js";
import { locatePath } from "./jsontext.js";
import { liveAssessment } from "./live.js";
import { applyPatch, landing } from "./paths.js";
import { ProfileTextError, readProfile, showProblem } from "./problems.js";
import { questionsPanel } from "./questions.js";
import { asText, samples } from "./samples.js";
import { todayPanel } from "./today.js";

/** How long typing in the JSON rests before the form follows. */
const TEXT_DELAY_MS = 300;

function reportHeading(a, profile) {
  const name = profile?.business?.name;
  return name ? `Findings for ${name}` : "Findings";
}

export function assessView({ onAssessment }) {
  let draft = {};  // the profile on screen: the form's value, and the JSON text's when it reads
  let form = null;  // once the schema has come
  let textProblem = false;  // the problem box shows the JSON as read while typing (not an answer of Assess)
  let textTimer = null;

  const field = profileField({
    name: "profile",
    label: "Profile of the business (JSON)",
    help: "The same profile as the form, as JSON: edit either, the other follows. The facts about the business: the "
      + "date to apply the law at (as_of), the business itself, its licences, services, data, cross-border flows, "
      + "network resources and products. Every part may be left out.",
    rows: 14,
    onText: (text, { typed }) => {
      clearTimeout(textTimer);
      if (typed) {
        live.hold();
        textTimer = setTimeout(() => readText(text), TEXT_DELAY_MS);
      } else readText(text, { whole: true });
    },
  });
  const examples = h("div", { class: "examples" }, h("p", { class: "note" }, "Loading examples\u2026"));
  const button = h("button", { type: "submit", class: "primary" }, "Assess");
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const results = h("div", { class: "results", "data-results": "assess" });
  const lookup = h("input", { id: "assessment-id", name: "assessment_id", type: "text", spellcheck: "false",
    autocomplete: "off", pattern: "[0-9A-Za-z]{26}", "aria-describedby": "assessment-id-help", required: true });

  let busy = false;

  // --- the form, the JSON and the live findings, in step ----------------------------------------------------
  const formBox = h("div", { class: "form-box", "data-form-state": "loading" },
    h("p", { class: "note", role: "status" }, "Loading the form\u2026"));
  const questions = questionsPanel({ onAnswer: answer, onFill: (path) => form?.focusPath(path) });
  const live = liveAssessment({
    questions,
    onErrors: (errors) => form?.showErrors(errors),
    onShowPath: (path) => form?.focusPath(path) || selectInText(path),
    onAnswer: onAssessment,
  });
  const today = todayPanel({ current: () => draft, results, onAssessment,
    onProposedErrors: (errors) => form?.showErrors(errors) });

  function clearTextProblem() {
    if (textProblem) field.clear();
    textProblem = false;
  }

  /** The JSON text changed: when it reads as a profile, the form follows; when not, it says where, and waits. */
  function readText(text, { whole = false } = {}) {
    let value = {};
    if (text.trim()) {
      try {
        value = readProfile(text);
      } catch (err) {
        showProblem(field.problem, field.textarea, err, { select: false });
        textProblem = true;
        live.pause();
        return;  // the form keeps the last profile that could be read
      }
    }
    clearTextProblem();
    draft = value;
    form?.render(draft);
    live.schedule(draft, { whole });
  }

  /** The form changed the profile: the JSON follows, and the findings. */
  function formChanged(value) {
    draft = value;
    field.show(asText(draft));
    clearTextProblem();
    live.schedule(draft);
  }

  /** A one-click answer: its patch goes into the profile, the form shows where, and everything follows. */
  function answer(patch, path) {
    let next;
    try {
      next = applyPatch(draft, patch);
    } catch (err) {
      status.textContent = `That answer could not be added to the profile: ${err.message}`;
      return;
    }
    form?.render(next);
    for (const op of patch) form?.reveal(landing(next, op));
    formChanged(next);
    status.textContent = `Answer added to the profile (${path}); the findings and questions follow.`;
    questions.root.focus({ preventScroll: true });
  }

  /** An error no field of the form shows (a field the schema does not have): select it in the JSON. */
  function selectInText(path) {
    const range = path ? locatePath(field.get(), path) : null;
    if (!range) return false;
    field.textarea.focus();
    field.textarea.setSelectionRange(range.start, range.end);
    return true;
  }

  function loadForm() {
    call("v1/schemas/profile").then((schema) => {
      form = profileForm({ schema, onChange: formChanged });
      form.render(draft);
      formBox.dataset.formState = "ready";
      fill(formBox, form.root);
    }, (err) => {
      formBox.dataset.formState = "failed";
      fill(formBox, h("div", { class: "problem", role: "alert" },
        h("p", {}, h("strong", {}, "The form could not be loaded")), h("p", {}, err.message),
        h("p", {}, "The JSON below works as before. ",
          h("button", { type: "button", class: "secondary small", onclick: loadForm }, "Try again"))));
    });
  }
  loadForm();
  live.schedule(draft);  // an empty profile already has questions worth asking
  document.addEventListener("token-changed", () => live.refresh());

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
      + "trigger under the rule set in use, each with the passages of law it comes from. Fill in the form (or the "
      + "JSON), answer the questions that matter with one click, and watch the findings follow. Choose Assess to "
      + "record an assessment, so it can be opened again by its id."),
    h("form", { class: "assess-form", novalidate: true, onsubmit: submit, "aria-labelledby": "assess-heading" },
      h("fieldset", { class: "example-choice" }, h("legend", {}, "Start from an example"), examples),
      h("div", { class: "onboarding" },
        h("div", { class: "onboarding-main" }, formBox, field.root),
        h("aside", { class: "onboarding-side no-print", "aria-label": "Questions, findings so far, compare with today" },
          live.root, questions.root, today.root)),
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
