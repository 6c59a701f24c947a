// The findings beside the form, as the profile changes: a moment after the last change (DELAY_MS) the draft is
// evaluated without being recorded (POST /v1/assessments?record=false) and the questions asked again
// (POST /v1/assessments/questions). A change while those are under way cancels them: only the answer for the
// profile on screen is shown. A refused profile (422) is shown on the form's fields, and listed here.

import { ApiError, call } from "./api.js";
import { fill, h, uid } from "./dom.js";
import { findingCard, findingTags } from "./findings.js";
import { KINDS, countByKind, kindLabel, plural } from "./wording.js";

const DELAY_MS = 400;
/** Findings a change brought or took away, listed by title (beyond that, counted). */
const CHANGES_LISTED = 4;
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
  const changes = h("div", { class: "live-changes" });
  const body = h("div", { class: "live-findings" });
  const root = h("section", { class: "live", "aria-labelledby": headingId, "data-live-state": "pending" },
    h("h3", { id: headingId }, "Findings so far"),
    h("p", { class: "group-help" }, "Updated as the profile changes. Not recorded: choose Assess to keep an "
      + "assessment."),
    status, changes, body);
  let timer = null;
  let running = null;  // the AbortController of the requests under way
  let latest = null;
  let shown = null;  // rule id -> finding, as last shown: what the next change adds and removes
  let fresh = true;  // the next answer is for a profile loaded whole (nothing to compare it with)
  let listOpen = false;  // the officer opened the full list: it stays open as it updates

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

  /** What the last change did to the findings: those it brought and those it took away, by title. */
  function showChanges(obligations) {
    const now = new Map(obligations.map((o) => [o.rule_id, o]));
    const before = fresh ? null : shown;
    shown = now;
    fresh = false;
    const added = before ? obligations.filter((o) => !before.has(o.rule_id)) : [];
    const gone = before ? [...before.values()].filter((o) => !now.has(o.rule_id)) : [];
    if (!added.length && !gone.length) {
      changes.replaceChildren();
      return;
    }
    const item = (o, change, badge) => h("li", { class: `live-change ${change}`, "data-change": change,
      "data-rule-id": o.rule_id }, h("span", { class: `badge ${change}` }, badge), " ", o.title || o.rule_id,
    " ", h("span", { class: "note" }, `(${kindLabel(o.kind).toLowerCase()})`));
    const listed = [...added.map((o) => item(o, "added", "New")), ...gone.map((o) => item(o, "removed", "No longer"))];
    fill(changes,
      h("p", { class: "note" }, "With the last change: ",
        [added.length ? `${plural(added.length, "new finding", "new findings")}` : "",
          gone.length ? `${gone.length} no longer ${gone.length === 1 ? "applies" : "apply"}` : ""]
          .filter(Boolean).join(", "), "."),
      h("ul", {}, listed.slice(0, CHANGES_LISTED),
        listed.length > CHANGES_LISTED ? h("li", { class: "note" }, `and ${listed.length - CHANGES_LISTED} more`) : null));
  }

  function showAnswer(a) {
    const obligations = Array.isArray(a.obligations) ? a.obligations : [];
    const upcoming = Array.isArray(a.upcoming) ? a.upcoming : [];
    const warnings = Array.isArray(a.warnings) ? a.warnings : [];
    status.textContent = obligations.length
      ? `${plural(obligations.length, "finding", "findings")}: ${countByKind(obligations)}.`
      : "Nothing in the rule base applies to this profile yet.";
    showChanges(obligations);
    const all = obligations.length ? h("details", { class: "live-all", open: listOpen,
      ontoggle: (e) => { listOpen = e.target.open; } },
    h("summary", {}, `Every finding, by kind (${obligations.length})`), byKind(obligations)) : null;
    fill(body,
      all,
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
    changes.replaceChildren();
    fill(body, h("div", { class: "problem", "data-problem-for": "live" },
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
    /** The profile changed (`whole`: it was loaded whole): evaluate it a moment after the last change. */
    schedule(profile, { whole = false } = {}) {
      if (whole) fresh = true;
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
