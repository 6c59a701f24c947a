// The profile as a form, generated from the profile's JSON Schema (GET /v1/schemas/profile): no field is
// written by hand, so a field added to the model appears here by itself, in the schema's order, with the
// schema's title and description, and the schema's words for codes (`x-labels`).
//
// The kinds the schema uses: objects (fieldsets), lists of objects (items added and removed), enumerations
// (a select; checkboxes for a list of them), open codes with values to offer (regions, countries, data
// subjects: checkboxes or suggestions, and any other value), yes/no facts (yes / no / not stated: "not
// stated" leaves the fact absent, which the rules read differently from "no"), whole numbers, dates, free
// text, and open objects (`attributes`: the named facts, and facts of the officer's own naming).
//
// The form edits one value, the profile; every change is reported through onChange. The onboarding view
// starts with the essentials (as_of, business, services); the other parts and the yes/no facts not yet
// stated are folded away until they hold something, the officer opens them, or a question fills them in.

import { fill, h, uid } from "./dom.js";
import { deleteAt, formatPath, getAt, parsePath, setAt } from "./paths.js";

/** The parts shown open from the start: who the business is and what it offers. */
const ESSENTIAL = new Set(["as_of", "business", "services"]);
/** More options than this are shown in a scrolling grid. */
const MANY = 12;
const NOT_STATED = "Not stated";

function sentence(name) {
  const words = String(name).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What pydantic writes as a title when none is given ("Registered Region" for registered_region). */
function automaticTitle(name) {
  return String(name).split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
}

function lowerFirst(text) {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

function withArticle(text) {
  return `${/^[aeiou]/i.test(text) ? "an" : "a"} ${text}`;
}

export function profileForm({ schema, onChange }) {
  const defs = schema.$defs ?? {};
  let draft = {};
  const opened = new Set();  // folded parts the officer (or a question) opened: kept across re-renders
  const root = h("div", { class: "profile-form", "data-form": "profile" });
  // Enter in a field of the form does not send the page's form (Assess records an assessment): that takes
  // the Assess button itself
  root.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.matches("input:not([type=checkbox], [type=radio])")) e.preventDefault();
  });

  // --- reading the schema ---------------------------------------------------------------------------------
  /** A property's schema with $ref followed and "or null" unwrapped; its own title and description kept. */
  function resolve(node = {}) {
    let s = node;
    let nullable = false;
    if (Array.isArray(s.anyOf)) {
      const options = s.anyOf.filter((o) => o.type !== "null");
      nullable = options.length < s.anyOf.length;
      if (options.length === 1) s = options[0];
    }
    if (s.$ref) s = defs[s.$ref.split("/").pop()] ?? {};
    return { ...s, nullable, ownTitle: node.title, description: node.description ?? s.description };
  }

  function kindOf(s) {
    if (Array.isArray(s.enum)) return "select";
    if (s.type === "boolean") return "flag";
    if (s.type === "integer" || s.type === "number") return "number";
    if (s.type === "string") return s.format === "date" ? "date" : "text";
    if (s.type === "array") {
      const item = resolve(s.items);
      return item.type === "object" || item.properties ? "items" : "choices";
    }
    if (s.type === "object" || s.properties) return "object";
    return "other";
  }

  function titleOf(name, s) {
    const t = s.ownTitle;
    return !t || t === automaticTitle(name) ? sentence(name) : t;
  }

  /** The values a control offers, in the schema's words: an enumeration, or the codes it labels or suggests. */
  function offered(s) {
    const labels = s["x-labels"] ?? {};
    const values = Array.isArray(s.enum) ? s.enum
      : [...new Set([...Object.keys(labels), ...(s.examples ?? [])])];
    return values.map((value) => ({ value, label: labels[value] ?? sentence(value) }));
  }

  function labelFor(s, value) {
    return (s["x-labels"] ?? {})[value] ?? sentence(value);
  }

  // --- writing the profile --------------------------------------------------------------------------------
  function write(keys, value, order, { rerender = false } = {}) {
    if (value === undefined) deleteAt(draft, keys);
    else setAt(draft, keys, value, order);
    if (rerender) render(draft);
    onChange?.(draft);
  }

  // --- one field ------------------------------------------------------------------------------------------
  /** The parts every field has: a wrapper named by its path, the hint, and the place for its errors. */
  function frame(kind, path, id) {
    const hintId = `${id}-hint`;
    const errorsId = `${id}-errors`;
    return {
      hintId, errorsId,
      describedBy: (s) => (s.description ? `${hintId} ${errorsId}` : errorsId),
      hint: (s) => (s.description ? h("p", { id: hintId, class: "hint" }, s.description) : null),
      errors: h("div", { id: errorsId, class: "field-errors", hidden: true }),
      wrap: (tag, ...children) => h(tag, { class: `form-field kind-${kind}`, "data-path": path }, ...children),
    };
  }

  function field(name, node, keys, order, required) {
    const s = resolve(node);
    const kind = kindOf(s);
    const label = titleOf(name, s);
    const put = (value, options) => write(keys, value, order, options);
    switch (kind) {
      case "select": return selectField(s, keys, label, put, required);
      case "flag": return flagField(s, keys, label, put);
      case "number": case "date": case "text": return inputField(kind, s, keys, label, put);
      case "choices": return choicesField(s, keys, label, put);
      case "items": return itemsField(s, keys, label, put);
      case "object": return objectField(s, keys, label);
      default: return otherField(s, keys, label);
    }
  }

  function selectField(s, keys, label, put, required) {
    const path = formatPath(keys);
    const id = uid("field");
    const f = frame("select", path, id);
    const value = getAt(draft, keys);
    const options = offered(s);
    const known = options.some((o) => o.value === value);
    const select = h("select", { id, "data-path": path, "aria-describedby": f.describedBy(s),
      onchange: () => put(select.value === "" ? undefined : select.value, { rerender: required }) },
    required ? null : h("option", { value: "" }, NOT_STATED),
    options.map((o) => h("option", { value: o.value, selected: o.value === value }, o.label)),
    value !== undefined && value !== null && !known
      ? h("option", { value: String(value), selected: true }, `${value} (not a known value)`) : null);
    return f.wrap("div", h("label", { for: id }, label), f.hint(s), select, f.errors);
  }

  function flagField(s, keys, label, put) {
    const path = formatPath(keys);
    const id = uid("field");
    const f = frame("flag", path, id);
    const value = getAt(draft, keys);
    const name = `${id}-answer`;
    const choice = (answer, text) => h("label", { class: "choice" },
      h("input", { type: "radio", name, value: answer === undefined ? "" : String(answer), "data-path": path,
        checked: value === answer || (answer === undefined && typeof value !== "boolean"),
        onchange: (e) => put(e.target.value === "" ? undefined : e.target.value === "true") }),
      " ", text);
    return f.wrap("fieldset", h("legend", {}, label), f.hint(s),
      h("div", { class: "answers", role: "radiogroup", "aria-describedby": f.describedBy(s) },
        choice(true, "Yes"), " ", choice(false, "No"), " ", choice(undefined, NOT_STATED)),
      f.errors);
  }

  function inputField(kind, s, keys, label, put) {
    const path = formatPath(keys);
    const id = uid("field");
    const f = frame(kind, path, id);
    const value = getAt(draft, keys);
    const options = kind === "text" ? offered(s) : [];
    const listId = options.length ? `${id}-options` : null;
    const attrs = { id, "data-path": path, "aria-describedby": f.describedBy(s), autocomplete: "off",
      value: value === undefined || value === null ? "" : String(value), list: listId };
    if (kind === "number") {
      Object.assign(attrs, { type: "number", inputmode: s.type === "integer" ? "numeric" : "decimal",
        step: s.type === "integer" ? "1" : "any", min: s.minimum, max: s.maximum });
    } else if (kind === "date") {
      attrs.type = "date";
    } else {
      Object.assign(attrs, { type: "text", maxlength: s.maxLength, spellcheck: "false" });
    }
    const input = h("input", { ...attrs, oninput: () => {
      if (kind === "number") {
        if (input.value === "") {
          if (!input.validity.badInput) put(undefined);  // half-typed ("1e"): wait for the rest
        } else put(Number(input.value));
      } else put(input.value === "" ? undefined : input.value);
    } });
    return f.wrap("div", h("label", { for: id }, label), f.hint(s), input,
      listId ? h("datalist", { id: listId }, options.map((o) => h("option", { value: o.value }, o.label))) : null,
      f.errors);
  }

  /** A list of codes: a checkbox for each offered value (and for any other value the profile holds). */
  function choicesField(s, keys, label, put) {
    const path = formatPath(keys);
    const id = uid("field");
    const f = frame("choices", path, id);
    const item = resolve(s.items);
    const current = () => {
      const v = getAt(draft, keys);
      return Array.isArray(v) ? v : [];
    };
    const options = offered(item);
    for (const v of current()) {
      if (!options.some((o) => o.value === v)) options.push({ value: v, label: labelFor(item, v) });
    }
    const toggle = (value, on) => {
      const now = current().filter((v) => v !== value);
      if (on) now.push(value);
      put(now.length ? now : undefined);
    };
    const boxes = options.map((o) => h("label", { class: "choice" },
      h("input", { type: "checkbox", value: o.value, "data-path": path, checked: current().includes(o.value),
        onchange: (e) => toggle(o.value, e.target.checked) }), " ", o.label));
    let other = null;
    if (!Array.isArray(item.enum)) {  // an open vocabulary: any other value may be added
      const otherId = `${id}-other`;
      const input = h("input", { id: otherId, type: "text", autocomplete: "off", spellcheck: "false",
        "data-path": path, "data-role": "other", maxlength: item.maxLength });
      const add = () => {
        const value = input.value.trim();
        if (!value) return;
        if (!current().includes(value)) put([...current(), value], { rerender: true });
        root.querySelector(`input[type=checkbox][data-path="${CSS.escape(path)}"][value="${CSS.escape(value)}"]`)
          ?.focus();
      };
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();  // adds the value; it does not send the form
          add();
        }
      });
      other = h("div", { class: "other-value" },
        h("label", { for: otherId }, `Another ${lowerFirst(label).replace(/s$/, "")}`), " ", input, " ",
        h("button", { type: "button", class: "secondary small", "data-path": path, "data-role": "add-other",
          onclick: add }, "Add"));
    }
    return f.wrap("fieldset", h("legend", {}, label), f.hint(s),
      h("div", { class: `options${options.length > MANY ? " many" : ""}`, "aria-describedby": f.describedBy(s) },
        boxes),
      other, f.errors);
  }

  /** A list of objects: each item in its own fieldset with a button to remove it, and a row to add one. */
  function itemsField(s, keys, label, put) {
    const path = formatPath(keys);
    const item = resolve(s.items);
    const itemTitle = item.title ?? "Item";
    const noun = lowerFirst(itemTitle);
    const list = () => {
      const v = getAt(draft, keys);
      return Array.isArray(v) ? v : [];
    };
    const required = (item.required ?? []).filter((n) => kindOf(resolve(item.properties?.[n])) === "select");
    const identity = required[0];
    const items = list().map((value, i) => {
      const itemKeys = [...keys, i];
      const itemPath = formatPath(itemKeys);
      const named = identity && value?.[identity] !== undefined
        ? `: ${labelFor(resolve(item.properties[identity]), value[identity])}` : "";
      return h("fieldset", { class: "item", "data-path": itemPath },
        h("legend", {}, `${itemTitle} ${i + 1}${named}`),
        objectFields(item, itemKeys),
        h("div", { class: "field-errors", hidden: true }),
        h("div", { class: "item-actions" },
          h("button", { type: "button", class: "secondary small", "data-path": itemPath, "data-role": "remove",
            onclick: () => {
              const rest = list().filter((_, j) => j !== i);
              opened.add(path);  // a part emptied by the officer stays open for the next item
              put(rest.length ? rest : undefined, { rerender: true });
              root.querySelector(`[data-path="${CSS.escape(path)}"][data-role=add]`)?.focus();
            } }, `Remove ${noun} ${i + 1}`)));
    });
    // adding: the facts that say what the new item is (its type, kind or category) are chosen first
    const chosen = required.map((name) => {
      const ps = resolve(item.properties[name]);
      const id = uid("new");
      const select = h("select", { id, "data-path": path, "data-role": `new-${name}` },
        offered(ps).map((o) => h("option", { value: o.value }, o.label)));
      return { name, select, label: h("label", { for: id }, `${titleOf(name, ps)} of the new ${noun}`) };
    });
    const adder = h("div", { class: "add-item" },
      chosen.map((c) => [c.label, " ", c.select, " "]),
      h("button", { type: "button", class: "secondary", "data-path": path, "data-role": "add", onclick: () => {
        const fresh = {};
        for (const c of chosen) fresh[c.name] = c.select.value;
        put([...list(), fresh], { rerender: true });
        root.querySelector(`[data-path="${CSS.escape(`${path}[${list().length - 1}]`)}"] :is(input, select)`)?.focus();
      } }, `Add ${withArticle(noun)}`));
    const id = uid("field");
    const f = frame("items", path, id);
    return f.wrap("fieldset", h("legend", {}, label), f.hint(s), items, adder, f.errors);
  }

  function objectField(s, keys, label) {
    const path = formatPath(keys);
    const f = frame("object", path, uid("field"));
    return f.wrap("fieldset", h("legend", {}, label), f.hint(s), objectFields(s, keys), f.errors);
  }

  /** A value of a kind this form does not edit: shown, and edited in the JSON. */
  function otherField(s, keys, label) {
    const path = formatPath(keys);
    const f = frame("other", path, uid("field"));
    const value = getAt(draft, keys);
    return f.wrap("div", h("p", { class: "field-label" }, label), f.hint(s),
      h("p", { class: "note" }, value === undefined ? "Not stated. " : h("code", {}, JSON.stringify(value)),
        " Edit it in the JSON below."), f.errors);
  }

  /** A folded part of the form: open when the officer opened it (remembered by `key`) or `force`. */
  function fold(key, summary, children, { force = false, attrs = {} } = {}) {
    const details = h("details", { ...attrs, "data-fold": key, open: force || opened.has(key) },
      h("summary", {}, summary), children);
    details.addEventListener("toggle", () => {
      if (details.open) opened.add(key);
      else opened.delete(key);
    });
    return details;
  }

  /** The fields of an object: those stated or not yes/no first; yes/no facts not yet stated folded. */
  function objectFields(s, keys) {
    const value = getAt(draft, keys) ?? {};
    const props = Object.entries(s.properties ?? {});
    const order = props.map(([name]) => name);
    const shown = [];
    const folded = [];
    for (const [name, node] of props) {
      const el = field(name, node, [...keys, name], order, (s.required ?? []).includes(name));
      if (kindOf(resolve(node)) === "flag" && typeof value[name] !== "boolean") folded.push(el);
      else shown.push(el);
    }
    const path = formatPath(keys);
    return [
      shown,
      folded.length ? fold(`${path}#flags`, `Yes/no facts not stated yet (${folded.length})`, folded,
        { attrs: { class: "more-facts" } }) : null,
      s.additionalProperties ? extraFields(s, keys, order) : null,
    ];
  }

  /** An open object's facts of the officer's own naming (kept by the service, reported as not read by rules). */
  function extraFields(s, keys, order) {
    const value = getAt(draft, keys) ?? {};
    const known = new Set(order);
    const path = formatPath(keys);
    const extras = Object.keys(value).filter((name) => !known.has(name)).map((name) => {
      const itemKeys = [...keys, name];
      const v = value[name];
      const node = typeof v === "boolean" ? { type: "boolean" } : typeof v === "number" ? { type: "number" }
        : typeof v === "string" || v === null ? { type: "string" } : {};
      const el = field(name, { ...node, title: name }, itemKeys, order, true);
      el.append(h("button", { type: "button", class: "secondary small", "data-path": formatPath(itemKeys),
        "data-role": "remove", onclick: () => write(itemKeys, undefined, order, { rerender: true }) },
      `Remove ${name}`));
      return el;
    });
    const nameId = uid("extra");
    const valueId = uid("extra");
    const nameInput = h("input", { id: nameId, type: "text", autocomplete: "off", spellcheck: "false",
      "data-path": path, "data-role": "extra-name", maxlength: s.propertyNames?.maxLength });
    const valueInput = h("input", { id: valueId, type: "text", autocomplete: "off", spellcheck: "false",
      "data-path": path, "data-role": "extra-value" });
    const add = () => {
      const name = nameInput.value.trim();
      if (!name || known.has(name)) return;
      const text = valueInput.value.trim();
      const typed = text === "true" ? true : text === "false" ? false
        : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      write([...keys, name], typed, order, { rerender: true });
    };
    return fold(`${path}#extra`, `Other facts (${extras.length})`, [
      h("p", { class: "hint" }, "Facts the list above does not name. The service keeps them and says that no rule "
        + "reads them. Write true or false for yes/no, digits for numbers."),
      extras,
      h("div", { class: "add-extra" },
        h("label", { for: nameId }, "Name of the fact"), " ", nameInput, " ",
        h("label", { for: valueId }, "Value"), " ", valueInput, " ",
        h("button", { type: "button", class: "secondary small", "data-path": path, "data-role": "add-extra",
          onclick: add }, "Add the fact")),
    ], { force: extras.length > 0, attrs: { class: "extra-facts" } });
  }

  // --- the whole form -------------------------------------------------------------------------------------
  function focused() {
    const el = document.activeElement;
    if (!el || !root.contains(el) || el.dataset.path === undefined) return null;
    return { path: el.dataset.path, role: el.dataset.role ?? "", value: el.type === "radio" || el.type === "checkbox"
      ? el.value : null };
  }

  function refocus(was) {
    if (!was) return;
    const match = [...root.querySelectorAll("[data-path]")].find((el) => el.dataset.path === was.path
      && (el.dataset.role ?? "") === was.role && (was.value === null || el.value === was.value)
      && el.matches("input, select, button, textarea"));
    match?.focus({ preventScroll: true });
  }

  function render(value) {
    draft = value && typeof value === "object" && !Array.isArray(value) ? value : {};
    const was = focused();
    const props = Object.entries(schema.properties ?? {});
    const order = props.map(([name]) => name);
    const parts = props.map(([name, node]) => {
      const s = resolve(node);
      const el = field(name, node, [name], order, false);
      if (ESSENTIAL.has(name) || kindOf(s) !== "items") return el;
      const count = (getAt(draft, [name]) ?? []).length ?? 0;
      el.querySelector("legend")?.classList.add("visually-hidden");  // the summary names it
      return fold(name, [titleOf(name, s), " ", h("span", { class: "count" }, count ? `(${count})` : "(none yet)")],
        el, { force: count > 0, attrs: { class: "form-section", "data-section": name } });
    });
    fill(root,
      h("div", { class: "form-tools" },
        h("button", { type: "button", class: "secondary small", "data-role": "open-all", onclick: openAll },
          "Show every part of the form")),
      ...parts);
    refocus(was);
  }

  function openAll() {
    for (const d of root.querySelectorAll("details[data-fold]")) {
      d.open = true;
      opened.add(d.dataset.fold);
    }
  }

  /** The field (or the nearest enclosing part) at `path`, as the service's errors name it. */
  function fieldAt(path) {
    const wrappers = new Map([...root.querySelectorAll(".form-field[data-path], fieldset.item[data-path]")]
      .map((el) => [el.dataset.path, el]));
    const keys = parsePath(path);
    while (keys.length) {
      const found = wrappers.get(formatPath(keys));
      if (found) return found;
      keys.pop();
    }
    return null;
  }

  /** Open every folded part around `el`, so that it can be seen. */
  function unfold(el) {
    for (let d = el?.closest("details"); d; d = d.parentElement?.closest("details")) {
      d.open = true;
      if (d.dataset.fold) opened.add(d.dataset.fold);
    }
  }

  function clearErrors() {
    for (const box of root.querySelectorAll(".field-errors")) {
      box.hidden = true;
      box.replaceChildren();
    }
    for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  /** Show each {path, message} on its field; returns the errors no field of the form could take. */
  function showErrors(errors) {
    clearErrors();
    const unplaced = [];
    for (const e of errors ?? []) {
      const wrapper = fieldAt(e.path);
      const box = wrapper && [...wrapper.children].find((c) => c.classList.contains("field-errors"));
      if (!box) {
        unplaced.push(e);
        continue;
      }
      box.append(h("p", { class: "field-error", "data-error-path": e.path },
        e.path !== wrapper.dataset.path ? [h("code", {}, e.path), ": "] : null, e.message ?? ""));
      box.hidden = false;
      for (const control of wrapper.querySelectorAll(`:is(input, select)[data-path="${CSS.escape(wrapper.dataset.path)}"]`)) {
        control.setAttribute("aria-invalid", "true");
      }
      unfold(wrapper);
    }
    return unplaced;
  }

  /** Show the field at `path` (opening what folds it) and put the cursor in it. */
  function focusPath(path) {
    const wrapper = fieldAt(path);
    if (!wrapper) return false;
    unfold(wrapper);
    wrapper.scrollIntoView({ block: "center" });
    wrapper.querySelector("input, select, button")?.focus({ preventScroll: true });
    return true;
  }

  /** Open the parts that hold `path` and mark the field a moment, after a question filled it in. */
  function reveal(path) {
    const wrapper = fieldAt(path);
    if (!wrapper) return;
    unfold(wrapper);
    wrapper.classList.add("just-set");
  }

  return { root, render, value: () => draft, showErrors, clearErrors, focusPath, reveal, openAll };
}
