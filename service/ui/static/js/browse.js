// Browse the rule base: the instruments the sources name (and why some carry no business duty), their
// rules, and the passages each rule quotes.

import { call } from "./api.js";
import { fill, h, routeLink, uid } from "./dom.js";
import { citationBlock, findingTags } from "./findings.js";
import {
  KINDS, formatDate, kindLabel, legalForceLabel, legalStatusLabel, plural, regionLabel, severityLabel,
} from "./wording.js";

const INSTRUMENT_STATUS = {
  final: "Final text", draft: "Draft", campaign: "Campaign", referenced: "Named by another instrument",
  plan: "Plan", report: "Report", standard: "Standard",
};

let instrumentsLoad = null;
let rulesLoad = null;

function instruments() {
  instrumentsLoad ??= call("v1/instruments").catch((err) => {
    instrumentsLoad = null;  // try again next time
    throw err;
  });
  return instrumentsLoad;
}

function rules() {
  rulesLoad ??= call("v1/rules").catch((err) => {
    rulesLoad = null;
    throw err;
  });
  return rulesLoad;
}

/** Forget what was loaded (the active rule set changed). */
export function forgetRuleBase() {
  instrumentsLoad = null;
  rulesLoad = null;
}

function failure(err, what) {
  return h("div", { class: "problem", role: "alert" },
    h("p", {}, h("strong", {}, `The ${what} could not be loaded`)), h("p", {}, err.message));
}

function loadingNote(what) {
  return h("p", { class: "note", role: "status" }, `Loading ${what}\u2026`);
}

function dutyText(inst) {
  if (inst.business_duty) return inst.binds ? `Yes: ${inst.binds}` : "Yes";
  return `None. ${inst.no_duty_reason ?? ""}`.trim();
}

function matches(query, ...texts) {
  if (!query) return true;
  const q = query.toLowerCase();
  return texts.some((t) => String(t ?? "").toLowerCase().includes(q));
}

/** #/instruments: every instrument, searchable, filtered by whether it carries a business duty. */
export function instrumentsView() {
  const search = h("input", { id: "instrument-search", type: "search", autocomplete: "off",
    "aria-describedby": "instrument-search-help" });
  const count = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const body = h("div", {}, loadingNote("the instruments"));
  const filterName = uid("duty");
  let shown = "all";
  let data = null;

  const radio = (value, label) => h("label", { class: "choice" },
    h("input", { type: "radio", name: filterName, value, checked: value === "all",
      onchange: () => { shown = value; render(); } }), " ", label);
  const filters = h("form", { class: "filters no-print", role: "search", onsubmit: (e) => e.preventDefault() },
    h("div", {}, h("label", { for: "instrument-search" }, "Find an instrument"), " ", search,
      h("p", { id: "instrument-search-help", class: "hint" }, "By title, issuer, document number or id.")),
    h("fieldset", { class: "inline" }, h("legend", {}, "Show"),
      radio("all", "all"), " ", radio("duty", "with business duties"), " ",
      radio("no-duty", "no business duty")));
  search.addEventListener("input", () => render());

  function render() {
    if (!data) return;
    const q = search.value.trim();
    const rows = data.instruments.filter((i) => (shown === "all" || (shown === "duty") === Boolean(i.business_duty))
      && matches(q, i.title, i.issuer, i.document_number, i.id));
    count.textContent = `Showing ${plural(rows.length, "instrument", "instruments")} of ${data.instruments.length}.`;
    fill(body, rows.length ? h("table", { class: "listing instruments" },
      h("caption", { class: "visually-hidden" }, "Instruments"),
      h("thead", {}, h("tr", {},
        ["Instrument", "Issuer and date", "Legal force and status", "Rules", "Business duty"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((i) => h("tr", { "data-instrument-id": i.id, class: i.business_duty ? "" : "no-duty" },
        h("th", { scope: "row" }, routeLink(["instruments", i.id], i.title), h("br"), h("code", { class: "id" }, i.id)),
        h("td", {}, i.issuer ?? "", i.issued ? [h("br"), formatDate(i.issued)] : null),
        h("td", {}, legalForceLabel(i.legal_force), h("br"),
          h("span", { class: `badge status status-${i.legal_status}` }, legalStatusLabel(i.legal_status))),
        h("td", { class: "number" }, String(i.rules?.length ?? 0)),
        h("td", { class: "duty" }, i.business_duty ? dutyText(i)
          : [h("strong", {}, "None."), " ", i.no_duty_reason ?? ""])))))
      : h("p", { class: "note" }, "No instrument matches."));
  }

  const noDutyNote = h("p", { class: "lead" });
  const root = h("section", { class: "view", "aria-labelledby": "instruments-heading", "data-view": "instruments" },
    h("h2", { id: "instruments-heading", tabindex: "-1" }, "Instruments"),
    h("p", { class: "lead" }, "Every law, regulation, notice, standard, draft and report that the sources name, "
      + "with its legal status and the rules drawn from it."),
    noDutyNote, filters, count, body);

  instruments().then((d) => {
    data = d;
    const none = d.instruments.filter((i) => !i.business_duty).length;
    fill(noDutyNote, `${none} of ${d.instruments.length} carry no business duty: reports, plans, guides and drafts `
      + "that inform but require nothing of a business. The reason is given for each.");
    render();
  }, (err) => fill(body, failure(err, "instruments")));

  return { root };
}

function backLink(parts, label) {
  return h("p", { class: "back no-print" }, routeLink(parts, `\u2190 ${label}`));
}

function factList(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && !v.length)).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** Passages in the order of the instrument's provisions (II(I)1 before II(I)2 before II(II)1). */
function byProvision(a, b) {
  const pa = a.c.provision ?? "\uffff";
  const pb = b.c.provision ?? "\uffff";
  return pa.localeCompare(pb, "en", { numeric: true });
}

/** #/instruments/ID: one instrument, its rules, and every passage its rules quote from it. */
export function instrumentView(id) {
  const root = h("section", { class: "view", "aria-labelledby": "instrument-heading", "data-view": "instrument" },
    backLink(["instruments"], "All instruments"),
    h("h2", { id: "instrument-heading", tabindex: "-1" }, id),
    loadingNote("the instrument"));

  (async () => {
    let inst;
    try {
      const all = await instruments();
      inst = all.instruments.find((i) => i.id === id);
    } catch (err) {
      root.lastChild.replaceWith(failure(err, "instrument"));
      return;
    }
    if (!inst) {
      root.lastChild.replaceWith(h("div", { class: "problem", role: "alert" }, `No instrument ${id} in the rule set in use.`));
      return;
    }
    const heading = root.querySelector("h2");
    heading.textContent = inst.title;
    document.title = `${inst.title} \u2014 Compliance rule engine`;
    const rulesBox = h("div", {}, loadingNote("its rules"));
    const passagesBox = h("div", {});
    root.lastChild.replaceWith(h("div", { class: "instrument", "data-instrument-id": inst.id },
      h("p", { class: "tags" }, h("span", { class: `badge status status-${inst.legal_status}` },
        legalStatusLabel(inst.legal_status)), " ",
      inst.business_duty ? h("span", { class: "badge duty" }, "Carries business duties")
        : h("span", { class: "badge no-duty" }, "No business duty")),
      inst.business_duty ? null : h("div", { class: "callout no-duty-reason" },
        h("h3", {}, "Why it carries no business duty"), h("p", {}, inst.no_duty_reason ?? "The sources state none.")),
      factList([
        ["Issuer", inst.issuer], ["Legal force", legalForceLabel(inst.legal_force)], ["Issued", formatDate(inst.issued)],
        ["In force from", formatDate(inst.in_force_from)], ["In force until", formatDate(inst.in_force_until)],
        ["Where the dates come from", inst.in_force_source],
        ["Document number", inst.document_number], ["Kind of text", INSTRUMENT_STATUS[inst.status] ?? inst.status],
        ["Applies in", regionLabel(inst.jurisdiction)], ["Whom it binds", inst.binds],
        ["Superseded by", inst.superseded_by ? routeLink(["instruments", inst.superseded_by], inst.superseded_by) : null],
        ["Final version", inst.final_version ? routeLink(["instruments", inst.final_version], inst.final_version) : null],
        ["Source documents", (inst.seeds ?? []).join(", ")], ["Id", h("code", {}, inst.id)],
      ]),
      h("h3", {}, `Rules drawn from it (${inst.rules?.length ?? 0})`), rulesBox,
      passagesBox));

    if (!inst.rules?.length) {
      fill(rulesBox, h("p", { class: "note" }, "No rule cites it."));
      return;
    }
    try {
      const details = await Promise.all(inst.rules.map((r) => call(`v1/rules/${encodeURIComponent(r)}`)));
      fill(rulesBox, h("ul", { class: "rule-list" }, details.map((r) => h("li", { "data-rule-id": r.rule_id },
        h("span", { class: `badge kind kind-${r.kind ?? "category"}` }, kindLabel(r.kind)), " ",
        routeLink(["rules", r.rule_id], r.title), " ", h("code", { class: "id" }, r.rule_id)))));
      // the passages quoted from this instrument, each once, with the rules that rely on it
      const passages = new Map();
      for (const r of details) {
        for (const c of r.citations ?? []) {
          if (c.instrument_id !== inst.id) continue;
          const key = `${c.provision ?? ""}\u0000${c.quote}`;
          if (!passages.has(key)) passages.set(key, { c, rules: [] });
          passages.get(key).rules.push(r.rule_id);
        }
      }
      fill(passagesBox, h("h3", {}, `Passages quoted (${passages.size})`),
        [...passages.values()].sort(byProvision).map(({ c, rules: ids }) => h("div", { class: "passage" },
          citationBlock({ ...c, provision: c.provision ?? "not stated" }, { instrument: false }),
          h("p", { class: "meta" }, ids.length === 1 ? "Used by rule " : "Used by rules ",
            ids.flatMap((r, i) => (i ? [", ", routeLink(["rules", r], h("code", {}, r))] : [routeLink(["rules", r], h("code", {}, r))]))))));
    } catch (err) {
      fill(rulesBox, failure(err, "rules"));
    }
  })();
  return { root };
}

/** #/rules: every rule of the rule set in use, searchable and filtered by kind. */
export function rulesView() {
  const search = h("input", { id: "rule-search", type: "search", autocomplete: "off", "aria-describedby": "rule-search-help" });
  const kind = h("select", { id: "rule-kind" },
    h("option", { value: "" }, "All kinds"),
    KINDS.map((k) => h("option", { value: k.kind }, k.many)),
    h("option", { value: "category" }, "Categories (define terms other rules use)"));
  const count = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const body = h("div", {}, loadingNote("the rules"));
  let data = null;
  let titles = new Map();

  function render() {
    if (!data) return;
    const q = search.value.trim();
    const k = kind.value;
    const rows = data.rules.filter((r) => (!k || (k === "category" ? !r.kind : r.kind === k))
      && matches(q, r.title, r.rule_id, ...(r.instruments ?? []), ...(r.instruments ?? []).map((i) => titles.get(i))));
    count.textContent = `Showing ${plural(rows.length, "rule", "rules")} of ${data.rules.length}.`;
    fill(body, rows.length ? h("table", { class: "listing rules" },
      h("caption", { class: "visually-hidden" }, "Rules"),
      h("thead", {}, h("tr", {}, ["Rule", "Kind", "Severity", "Applies", "Instruments"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((r) => h("tr", { "data-rule-id": r.rule_id },
        h("th", { scope: "row" }, routeLink(["rules", r.rule_id], r.title), h("br"), h("code", { class: "id" }, r.rule_id)),
        h("td", {}, h("span", { class: `badge kind kind-${r.kind ?? "category"}` }, kindLabel(r.kind))),
        h("td", {}, severityLabel(r.severity)),
        h("td", {}, [r.applies_from ? `from ${formatDate(r.applies_from)}` : "",
          r.applies_until ? ` until ${formatDate(r.applies_until)}` : ""].join("").trim() || "always",
        r.deadline ? [h("br"), `deadline ${formatDate(r.deadline)}`] : null),
        h("td", {}, (r.instruments ?? []).flatMap((i, n) => [n ? h("br") : null,
          routeLink(["instruments", i], titles.get(i) ?? i)]))))))
      : h("p", { class: "note" }, "No rule matches."));
  }
  search.addEventListener("input", render);
  kind.addEventListener("change", render);

  const root = h("section", { class: "view", "aria-labelledby": "rules-heading", "data-view": "rules" },
    h("h2", { id: "rules-heading", tabindex: "-1" }, "Rules"),
    h("p", { class: "lead" }, "Each rule turns a passage of an instrument into a finding: what must or must not be "
      + "done, by whom, from when. Category rules define terms (such as \u201cinternet access service\u201d) that "
      + "other rules use."),
    h("form", { class: "filters no-print", role: "search", onsubmit: (e) => e.preventDefault() },
      h("div", {}, h("label", { for: "rule-search" }, "Find a rule"), " ", search,
        h("p", { id: "rule-search-help", class: "hint" }, "By title, rule id or instrument.")),
      h("div", {}, h("label", { for: "rule-kind" }, "Kind"), " ", kind)),
    count, body);

  Promise.all([rules(), instruments().catch(() => ({ instruments: [] }))]).then(([r, i]) => {
    data = r;
    titles = new Map(i.instruments.map((x) => [x.id, x.title]));
    render();
  }, (err) => fill(body, failure(err, "rules")));
  return { root };
}

/** #/rules/ID: one rule, its dates, its sources quoted, its worked examples and its conditions. */
export function ruleView(id) {
  const root = h("section", { class: "view", "aria-labelledby": "rule-heading", "data-view": "rule" },
    backLink(["rules"], "All rules"),
    h("h2", { id: "rule-heading", tabindex: "-1" }, id),
    loadingNote("the rule"));
  call(`v1/rules/${encodeURIComponent(id)}`).then((r) => {
    root.querySelector("h2").textContent = r.title;
    document.title = `${r.title} \u2014 Compliance rule engine`;
    const examples = r.examples ?? {};
    const derives = r.derive && Object.keys(r.derive).length ? Object.keys(r.derive) : (r.derives ?? []);
    root.lastChild.replaceWith(h("div", { class: "rule", "data-rule-id": r.rule_id },
      findingTags(r),
      r.summary ? h("p", { class: "summary" }, r.summary) : null,
      factList([
        ["Rule id", h("code", {}, r.rule_id)],
        ["Legal force", r.legal_force ? legalForceLabel(r.legal_force) : null],
        ["Applies from", formatDate(r.applies_from) || "as long as its sources are in force"],
        ["Applies until", formatDate(r.applies_until)],
        ["Deadline", formatDate(r.deadline)],
        ["After the deadline", r.overdue === "violation" ? "a business still showing it is reported in violation" : r.overdue],
        ["Applies in", regionLabel(r.jurisdiction)],
        ["Defines", derives.length ? derives.join(", ") : null],
        ["Rule file", r.file ? h("code", {}, r.file) : null],
      ]),
      typeof r.explanation === "string" && r.explanation ? [h("h3", {}, "The reason as it is worded for a business"),
        h("p", { class: "explanation" }, r.explanation)] : null,
      h("h3", {}, (r.citations?.length ?? 0) === 1 ? "Source" : `Sources (${r.citations?.length ?? 0})`),
      (r.citations ?? []).map(citationBlock),
      r.interpretation ? h("div", { class: "interpretation" }, h("h3", {}, "How the source is read"),
        h("p", {}, h("strong", {}, "Reading taken: "), r.interpretation.reading),
        h("p", {}, h("strong", {}, "Alternative: "), r.interpretation.alternative),
        h("p", {}, h("strong", {}, "Why: "), r.interpretation.why)) : null,
      (examples.fires?.length || examples.quiet?.length) ? [h("h3", {}, "Worked examples"),
        factList([["Applies to", (examples.fires ?? []).join(", ")], ["Does not apply to", (examples.quiet ?? []).join(", ")]])]
        : null,
      h("details", { class: "conditions" }, h("summary", {}, "Conditions, as written in the rule file"),
        h("pre", {}, JSON.stringify(r.when ?? [], null, 2)))));
  }, (err) => root.lastChild.replaceWith(failure(err, "rule")));
  return { root };
}
