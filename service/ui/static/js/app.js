// The page: the rule set in use (header), the access token, the navigation, and one view at a time chosen by
// the address (#/assess, #/compare, #/instruments[/ID], #/rules[/ID], #/assessments/ID, #/rulesets), so the
// browser's back button and bookmarks work.

import { call, token } from "./api.js";
import { assessView } from "./assess.js";
import { forgetRuleBase, instrumentView, instrumentsView, ruleView, rulesView } from "./browse.js";
import { compareView } from "./compare.js";
import { fill, h } from "./dom.js";
import { rulesetsView } from "./rulesets.js";
import { formatTimestamp, plural } from "./wording.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const rulesetBox = document.getElementById("ruleset");
let shownVersion = null;

// --- the rule set in use ----------------------------------------------------------------------------------
async function showRuleset() {
  try {
    const r = await call("v1/rulesets/active");
    if (shownVersion && shownVersion !== r.version) forgetRuleBase();
    shownVersion = r.version;
    fill(rulesetBox,
      h("span", { class: "label" }, "Rule set in use: "),
      h("strong", { "data-ruleset-version": r.version }, r.version),
      ` \u00b7 ${plural(r.rule_count ?? 0, "rule", "rules")}`,
      r.loaded_at ? ` \u00b7 loaded ${formatTimestamp(r.loaded_at)}` : "",
      r.load_error ? h("span", { class: "warning" }, ` \u00b7 a newer version could not be loaded: ${r.load_error}`) : null,
      r.database_version && r.database_version !== r.version
        ? h("span", { class: "warning" }, ` \u00b7 version ${r.database_version} is being activated`) : null);
  } catch (err) {
    fill(rulesetBox, h("span", { class: "warning" }, `Rule set in use: unknown (${err.message})`));
  }
}

/** An answer names the version it was made under: when that is not the one shown, refresh the header. */
function sawAnswer(answer) {
  const version = answer?.ruleset?.version;
  if (version && version !== shownVersion) showRuleset();
}

// --- the access token ---------------------------------------------------------------------------------------
const tokenPanel = document.getElementById("token-panel");
const tokenInput = document.getElementById("token-input");
const tokenStatus = document.getElementById("token-status");
const tokenState = document.getElementById("token-state");

function showTokenState(message) {
  const set = Boolean(token.get());
  tokenState.textContent = set ? "set" : "not set";
  tokenStatus.textContent = message ?? (set ? "A token is set for this browser tab." : "No token is set.");
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  token.set(value);
  tokenInput.value = "";
  showTokenState(value ? "Token saved for this browser tab. It is forgotten when the tab closes." : undefined);
  showRuleset();
  document.dispatchEvent(new CustomEvent("token-changed"));
});
document.getElementById("token-forget").addEventListener("click", () => {
  token.set("");
  tokenInput.value = "";
  showTokenState("Token forgotten.");
  document.dispatchEvent(new CustomEvent("token-changed"));
});
document.addEventListener("token-needed", () => {
  tokenPanel.open = true;
  showTokenState(token.get() ? "The service refused this token. Enter another one."
    : "The service needs an access token for this. Enter it here.");
});
document.addEventListener("token-wanted", () => {
  tokenPanel.open = true;
  tokenInput.focus();
});
showTokenState();

// --- views and the address ------------------------------------------------------------------------------------
let assess = null;
let compare = null;
let instruments = null;
let ruleList = null;
let rulesets = null;

const VIEWS = {
  assess: () => (assess ??= assessView({ onAssessment: sawAnswer })),
  compare: () => (compare ??= compareView({ onAssessment: sawAnswer, currentProfile: () => VIEWS.assess().field.get() })),
  instruments: () => (instruments ??= instrumentsView()),
  rules: () => (ruleList ??= rulesView()),
  rulesets: () => (rulesets ??= rulesetsView({ onActivated: showRuleset })).refresh(),
};

const TITLES = { assess: "Assess a business", compare: "Compare two profiles", instruments: "Instruments", rules: "Rules",
  rulesets: "Rule sets" };

function route() {
  const raw = window.location.hash;
  if (raw && !raw.startsWith("#/")) return;  // an in-page anchor (the skip link), not a view
  const [name = "assess", ...rest] = raw.slice(2).split("/").filter(Boolean).map(decodeURIComponent);
  const id = rest.join("/");
  let view;
  let section = name;
  if (name === "assessments" && id) {
    view = VIEWS.assess();
    view.openRecorded(id);
    section = "assess";
  } else if (name === "instruments" && id) {
    view = instrumentView(id);
  } else if (name === "rules" && id) {
    view = ruleView(id);
  } else if (VIEWS[name]) {
    view = VIEWS[name]();
  } else {
    view = VIEWS.assess();
    section = "assess";
  }
  main.replaceChildren(view.root);
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[section] ?? "Compliance rule engine"} \u2014 Compliance rule engine`;
  if (route.started) {
    window.scrollTo(0, 0);
    view.root.querySelector("h2")?.focus({ preventScroll: true });
  }
  route.started = true;
}

window.addEventListener("hashchange", route);
showRuleset();
route();

// A printed report shows everything: folded parts (unchanged findings, inferred categories) are opened for the
// print and folded again afterwards.
let openedForPrint = [];
window.addEventListener("beforeprint", () => {
  openedForPrint = [...main.querySelectorAll("details:not([open])")];
  for (const d of openedForPrint) d.open = true;
});
window.addEventListener("afterprint", () => {
  for (const d of openedForPrint) d.open = false;
  openedForPrint = [];
});
