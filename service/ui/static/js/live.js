// The findings beside the form, as the profile changes: a moment after the last change (DELAY_MS) the draft is
// evaluated without being recorded (POST /v1/assessments?record=false) and the questions asked again
// (POST /v1/assessments/questions). A change while those are under way cancels them: only the answer for the
// profile on screen is shown. A refused profile (422) is shown on the form's fields, and listed here.

import { ApiError, call } from "./api.js";
import { h, uid } from "./dom.js";
import { findingCard, findingTags } from "./findings.js";
import { KINDS, countByKind, kindLabel, plural } from "./wording.js";

const DELAY_MS = 400;
/** Questions fetched each time: enough to offer more after some are answered "no". */
const QUESTIONS_LIMIT = 40;

function isAbort(err) {
  return err?.name === "AbortError";
}

/**
 * liveAssessment({questions, onErrors(errors), onShowPath(path), onAnswer(assessment)}) -> {root, schedule(profile)}.
 * root carries data-live-state: pending (a change is coming), loading, ready, refused (422), failed, or paused
 * (the JSON does not read: nothing to evaluate until it does).
 */
export function liveAssessment({ questions, onErrors, onShowPath, onAnswer }) {
  const headingId = uid("live");
  const status = h("p", { class: "live-summary", role: "status", "aria-live": "polite" });
  const body = h("div", { class: "live-findings" });
  const root = h("section", { class: "live", "aria-labelledby": headingId, "data-live-state": "pending" },
    h("h3", { id: headingId }, "Findings so far"),
    h("p", { class: "group-help" }, "Updated as the profile changes. Not recorded: choose Assess to keep an "
      + "assessment."),
    status, body);
  let timer = null;
  let running = null;  // the AbortController of the requests under way
  let latest = null;

  function state(name) {
    root.dataset.liveState = name;
  }

  function byKind(obligations) {
    const known = KINDS.map((k) => k.kind);
    const kinds = [...known, ...new Set(obligations.map((o) => o.kind).filter((k) => !known.includes(k)))];
    return kinds.map((kind) => {
      const items = obligations.filter((o) => o.kind === kind);
      if (!items.length) return null;
      return h("div", { class: `live-group group-${kind}`, "data-kind": kind },
        h("h4", {}, kindLabel(kind, items.length), " ", h("span", { class: "count" }, `(${items.length})`)),
        h("ul", { class: "live-list" }, items.map((o) => h("li", { class: `live-finding kind-${o.kind}`,
          "data-rule-id": o.rule_id },
        h("details", {},
          h("summary", {}, h("span", { class: "live-title" }, o.title || o.rule_id), " ", findingTags(o)),
          findingCard(o, { level: 5 }))))));
    });
  }

  function showAnswer(a) {
    const obligations = Array.isArray(a.obligations) ? a.obligations : [];
    const upcoming = Array.isArray(a.upcoming) ? a.upcoming : [];
    const warnings = Array.isArray(a.warnings) ? a.warnings : [];
    status.textContent = obligations.length
      ? `${plural(obligations.length, "finding", "findings")}: ${countByKind(obligations)}.`
      : "Nothing in the rule base applies to this profile yet.";
    body.replaceChildren(
      ...byKind(obligations),
      upcoming.length ? h("p", { class: "note" },
        `Coming up within the horizon: ${plural(upcoming.length, "duty", "duties")} (choose Assess for the full report).`)
        : null,
      warnings.length ? h("ul", { class: "live-warnings note" }, warnings.map((w) => h("li", {},
        w.path ? [h("code", {}, w.path), ": "] : null, w.message ?? String(w)))) : null);
  }

  function showRefused(err) {
    const errors = err.errors;
    onErrors?.(errors);
    status.textContent = `The profile is not accepted: ${plural(errors.length, "problem", "problems")}, shown on the form.`;
    body.replaceChildren(h("div", { class: "problem", "data-problem-for": "live" },
      h("ul", { class: "problem-list" }, errors.map((e) => h("li", {},
        h("button", { type: "button", class: "link-button", onclick: () => onShowPath?.(e.path) },
          h("code", { class: "problem-path" }, e.path || "(the whole profile)")),
        " \u2014 ", h("span", { class: "problem-message" }, e.message ?? ""))))));
  }

  async function run(profile) {
    running?.abort();
    const controller = new AbortController();
    running = controller;
    const { signal } = controller;
    state("loading");
    const asked = call(`v1/assessments/questions?limit=${QUESTIONS_LIMIT}`, { method: "POST", body: profile, signal })
      .catch((err) => err);  // questions are a help: without them the findings still show
    try {
      const answer = await call("v1/assessments?record=false", { method: "POST", body: profile, signal });
      const next = await asked;
      if (signal.aborted) return;
      onErrors?.([]);
      showAnswer(answer);
      onAnswer?.(answer);
      if (next instanceof Error) questions.clear(isAbort(next) ? "" : `Questions could not be asked: ${next.message}`);
      else questions.show(next);
      state("ready");
    } catch (err) {
      if (isAbort(err) || signal.aborted) return;
      controller.abort();  // the questions for a profile that failed are not wanted
      if (err instanceof ApiError && err.status === 422 && err.errors.length) {
        showRefused(err);
        questions.clear("Questions are asked once the profile is accepted.");
        state("refused");
      } else {
        onErrors?.([]);
        status.textContent = `The findings could not be updated: ${err.message}`;
        body.replaceChildren();
        questions.clear("");
        state("failed");
      }
    } finally {
      if (running === controller) running = null;
    }
  }

  return {
    root,
    /** The profile changed: evaluate it a moment after the last change. */
    schedule(profile) {
      latest = profile;
      state("pending");
      running?.abort();
      clearTimeout(timer);
      timer = setTimeout(() => run(latest), DELAY_MS);
    },
    /** A change is on its way (the officer is typing): what is shown may be about to go. */
    hold() {
      clearTimeout(timer);
      state("pending");
    },
    /** The profile cannot be read: nothing is evaluated until it can. */
    pause() {
      clearTimeout(timer);
      running?.abort();
      state("paused");
      status.textContent = "The JSON does not read as a profile: the findings below are for the last one that did.";
    },
    /** Evaluate the last profile again now (the token changed). */
    refresh() {
      if (latest !== null) this.schedule(latest);
    },
  };
}
