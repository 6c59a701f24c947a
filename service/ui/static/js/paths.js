// Places in a profile: paths as the service writes them in errors (services[0].attributes.users), JSON
// Pointers as its questions' patches use them (/services/0/attributes/users), reading and writing a value at
// one, and applying a question's JSON Patch (RFC 6902) to the officer's profile.

/** "services[0].attributes.users" -> ["services", 0, "attributes", "users"]. */
export function parsePath(path) {
  const keys = [];
  const text = String(path ?? "");
  let i = 0;
  while (i < text.length) {
    if (text[i] === "[") {
      const end = text.indexOf("]", i);
      const inside = text.slice(i + 1, end < 0 ? text.length : end);
      keys.push(/^\d+$/.test(inside) ? Number(inside) : inside);
      i = end < 0 ? text.length : end + 1;
    } else {
      if (text[i] === ".") i += 1;
      let end = i;
      while (end < text.length && text[end] !== "." && text[end] !== "[") end += 1;
      if (end > i) keys.push(text.slice(i, end));
      i = end;
    }
  }
  return keys;
}

/** ["services", 0, "type"] -> "services[0].type" (the inverse of parsePath). */
export function formatPath(keys) {
  return keys.reduce((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${key}` : key), "");
}

/** "/services/0/type" -> ["services", 0, "type"]; "-" (the end of a list) stays "-". */
export function pointerKeys(pointer) {
  if (!pointer) return [];
  return pointer.split("/").slice(1).map((part) => {
    const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
    return /^(0|[1-9]\d*)$/.test(key) ? Number(key) : key;
  });
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function getAt(doc, keys) {
  let node = doc;
  for (const key of keys) {
    if (node === null || typeof node !== "object") return undefined;
    node = node[key];
  }
  return node;
}

/**
 * Set the value at `keys`, creating the objects and lists on the way. `order` (the names of the parent's
 * properties, as its schema lists them) places a new key where the form shows it, so the JSON reads in the
 * same order as the form.
 */
export function setAt(doc, keys, value, order = null) {
  let node = doc;
  keys.slice(0, -1).forEach((key, i) => {
    const next = keys[i + 1];
    if (node[key] === null || typeof node[key] !== "object") node[key] = typeof next === "number" || next === "-" ? [] : {};
    node = node[key];
  });
  const last = keys[keys.length - 1];
  if (Array.isArray(node) && last === "-") {
    node.push(value);
  } else if (isObject(node) && !(last in node) && order) {
    const entries = Object.entries(node);
    const rank = (name) => {
      const at = order.indexOf(name);
      return at < 0 ? order.length : at;
    };
    entries.push([last, value]);
    entries.sort((a, b) => rank(a[0]) - rank(b[0]));  // stable: keys the schema does not name keep their order
    for (const [name] of entries) delete node[name];
    for (const [name, v] of entries) node[name] = v;
  } else {
    node[last] = value;
  }
  return doc;
}

/**
 * Remove the value at `keys`. An object left empty by it goes too (an empty `attributes` or `business` says
 * nothing), up to the first item of a list: an unset fact stays absent, never written as null or {}.
 */
export function deleteAt(doc, keys) {
  for (let depth = keys.length; depth > 0; depth -= 1) {
    const parent = getAt(doc, keys.slice(0, depth - 1));
    const key = keys[depth - 1];
    if (parent === null || typeof parent !== "object") return doc;
    if (Array.isArray(parent)) {
      if (depth === keys.length) parent.splice(key, 1);
      return doc;
    }
    delete parent[key];
    if (depth === 1 || Object.keys(parent).length || typeof keys[depth - 2] === "number") return doc;
  }
  return doc;
}

/** A copy of `doc` with the JSON Patch applied (add, replace, remove: what the service's questions send). */
export function applyPatch(doc, operations) {
  const out = structuredClone(doc ?? {});
  for (const op of operations ?? []) {
    const keys = pointerKeys(op.path);
    if (op.op === "remove") deleteAt(out, keys);
    else if (op.op === "add" || op.op === "replace") {
      const parent = getAt(out, keys.slice(0, -1));
      const last = keys[keys.length - 1];
      if (op.op === "add" && Array.isArray(parent) && typeof last === "number") parent.splice(last, 0, op.value);
      else setAt(out, keys, structuredClone(op.value));
    } else {
      throw new Error(`JSON Patch operation ${op.op} is not supported here`);
    }
  }
  return out;
}

/** The path (as errors write it) of the item or field a patch operation lands on: /services/- -> services[n]. */
export function landing(doc, op) {
  const keys = pointerKeys(op.path);
  if (keys[keys.length - 1] === "-") {
    const list = getAt(doc, keys.slice(0, -1));
    keys[keys.length - 1] = Array.isArray(list) ? list.length - 1 : 0;
  }
  return formatPath(keys);
}
