// Building the page from data without ever parsing data as markup.
//
// Every piece of text from the service (titles, quotes, reasons, error messages, even a profile's own field
// names echoed back in an error) goes into the page through text nodes, never parsed as HTML: a quote that
// contains "<script>" shows as those characters.

/**
 * h("p", {class: "note", onclick: fn}, "text", child, [more, children]) -> a new element.
 * Attributes are set with setAttribute, except `on*` (event listeners) and the properties listed in PROPS.
 * Children may be strings, numbers, nodes, arrays of them, or null/undefined/false (skipped).
 */
const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "open"]);

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (PROPS.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's content with the given children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An in-page link to a route of this page (#/rules/ID); ids are URI-encoded, never taken as markup. */
export function routeLink(parts, ...children) {
  return h("a", { href: "#/" + parts.map(encodeURIComponent).join("/") }, ...children);
}

/** A link to the API (relative to the page, so it works behind a path prefix). */
export function apiHref(path) {
  return new URL(path.replace(/^\//, ""), new URL("../", document.baseURI)).href;
}

let ids = 0;
/** A fresh id for aria-labelledby / aria-describedby pairs. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
