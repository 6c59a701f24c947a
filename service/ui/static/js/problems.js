// What went wrong, shown next to the input it concerns: the service's problem documents (RFC 9457) with
// each path and message, and JSON the browser could not read before anything was sent.

import { fill, h } from "./dom.js";
import { findJsonError, locatePath } from "./jsontext.js";

/** The text of a profile field, read as JSON; throws a ProfileTextError saying where it is broken. */
export class ProfileTextError extends Error {
  constructor(message, position) {
    super(message);
    this.position = position;  // character offset in the text, when the browser says
  }
}

function lineAndColumn(text, position) {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n");
  return { line, column };
}

export function readProfile(text) {
  if (!text.trim()) throw new ProfileTextError("The profile is empty. Paste one, open a file or load an example.");
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const broken = findJsonError(text);
    if (!broken) throw new ProfileTextError(`The text is not valid JSON: ${err.message}`);
    const { line, column } = lineAndColumn(text, broken.position);
    throw new ProfileTextError(`The text is not valid JSON (line ${line}, column ${column}): ${broken.message}.`,
      broken.position);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProfileTextError("A profile is a JSON object, written { ... }, with fields such as as_of, business, "
      + "licences and services.");
  }
  return value;
}

/** The path of an error; when it can be found in the text, a button that selects it there. */
function pathShown(input, path) {
  const label = path || "(the whole profile)";
  const range = input && path ? locatePath(input.value, path) : null;
  if (!range) return h("code", { class: "problem-path" }, label);
  return h("button", { type: "button", class: "link-button", title: "Show it in the profile",
    onclick: () => {
      input.focus();
      input.setSelectionRange(range.start, range.end);
    } },
  h("span", { class: "visually-hidden" }, "Show in the profile: "),
  h("code", { class: "problem-path" }, label));
}

/** Clear an input's error box. */
export function clearProblem(box, input) {
  box.hidden = true;
  box.replaceChildren();
  if (input) input.removeAttribute("aria-invalid");
}

/**
 * Show `error` (an ApiError, a ProfileTextError or anything thrown) in `box`, beside `input`.
 * `errors` overrides the list of {path, message} shown (the compare view splits them between its inputs);
 * `select: false` leaves the cursor where it is (the text is checked while the officer types).
 */
export function showProblem(box, input, error, { errors, title, select = true } = {}) {
  const status = error?.status;
  const aboutProfile = error instanceof ProfileTextError || status === 422 || status === 413;
  const aboutToken = status === 401 || status === 403;
  const items = !aboutProfile ? [] : (errors ?? (Array.isArray(error?.errors) ? error.errors : []));
  const heading = title ?? (aboutProfile ? "The profile was not accepted"
    : status === 401 ? "An access token is needed"
      : status === 403 ? "The access token does not allow this" : "Something went wrong");
  fill(box,
    h("p", { class: "problem-title" }, h("strong", {}, heading)),
    error?.message ? h("p", {}, error.message) : null,
    items.length ? h("ul", { class: "problem-list" }, items.map((e) => h("li", {},
      pathShown(input, e.path), " \u2014 ",
      h("span", { class: "problem-message" }, e.message ?? "")))) : null,
    aboutToken ? h("p", {}, h("button", { type: "button", class: "secondary",
      onclick: () => document.dispatchEvent(new CustomEvent("token-wanted")) }, "Enter the access token")) : null);
  box.hidden = false;
  // only a fault in the profile marks the field: a missing token or a failing service is not the officer's text
  if (input && aboutProfile) input.setAttribute("aria-invalid", "true");
  if (select && input && error instanceof ProfileTextError && error.position !== undefined) {
    input.setSelectionRange(error.position, error.position + 1);
  }
}
