// Where a JSON text is broken, said plainly, and where a field named by the service's error paths
// (services[0].type) stands in the text. The browser's own JSON.parse message names no line (and in
// Chromium often no position), which is little help in a 60-line profile; this walks the text the way the
// JSON grammar does, knowing the path of every value it passes.

class Broken {
  constructor(position, message) {
    this.position = position;
    this.message = message;
  }
}

const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

/**
 * Walk `text` as JSON, calling visit(path, start, end) for each value (start..end: the member's name for a
 * field of an object, the value itself for an item of a list). Paths are written as the service writes them:
 * business.name, services[0].type. Throws Broken at the first error.
 */
function walk(text, visit) {
  let i = 0;
  const fail = (message, at = i) => {
    throw new Broken(at, message);
  };
  const found = () => (i >= text.length ? "the end of the text" : `\u201c${text[i]}\u201d`);
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };

  function value(path) {
    space();
    const c = text[i];
    if (c === "{") return object(path);
    if (c === "[") return array(path);
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return undefined;
      }
    }
    if (c === "'") fail("texts and field names need double quotes (\"), not single quotes");
    return fail(`expected a value, found ${found()}`);
  }

  function object(path) {
    i += 1;
    space();
    if (text[i] === "}") {
      i += 1;
      return;
    }
    for (;;) {
      space();
      if (text[i] === "}") fail("a comma before \u201c}\u201d: remove it");
      if (text[i] === "'") fail("texts and field names need double quotes (\"), not single quotes");
      if (text[i] !== '"') fail(`expected a field name in double quotes, found ${found()}`);
      const keyStart = i;
      string();
      const keyEnd = i;
      const key = JSON.parse(text.slice(keyStart, keyEnd));
      const child = path ? `${path}.${key}` : key;
      visit?.(child, keyStart, keyEnd);
      space();
      if (text[i] !== ":") fail(`expected \u201c:\u201d after the field name, found ${found()}`);
      i += 1;
      value(child);
      space();
      if (text[i] === ",") {
        i += 1;
        continue;
      }
      if (text[i] === "}") {
        i += 1;
        return;
      }
      fail(`expected \u201c,\u201d or \u201c}\u201d, found ${found()}`);
    }
  }

  function array(path) {
    i += 1;
    space();
    if (text[i] === "]") {
      i += 1;
      return;
    }
    for (let n = 0; ; n += 1) {
      space();
      if (text[i] === "]") fail("a comma before \u201c]\u201d: remove it");
      const start = i;
      value(`${path}[${n}]`);
      visit?.(`${path}[${n}]`, start, i);
      space();
      if (text[i] === ",") {
        i += 1;
        continue;
      }
      if (text[i] === "]") {
        i += 1;
        return;
      }
      fail(`expected \u201c,\u201d or \u201c]\u201d, found ${found()}`);
    }
  }

  function string() {
    const start = i;
    i += 1;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i += 1;
        return;
      }
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (ESCAPES.has(next)) i += 2;
        else fail("an unknown escape (\\) inside a text in quotes");
        continue;
      }
      if (c < " ") fail("a line break inside a text in quotes (is a closing \" missing?)");
      i += 1;
    }
    fail("a text in quotes is never closed", start);
  }

  function number() {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`expected a number, found ${found()}`);
    i += m[0].length;
  }

  value("");
  space();
  if (i < text.length) fail(`more text after the end of the profile: ${found()}`);
}

/** null when `text` is valid JSON; otherwise {position, message} for the first error. */
export function findJsonError(text) {
  try {
    walk(text);
  } catch (err) {
    if (err instanceof Broken) return { position: err.position, message: err.message };
    throw err;
  }
  return null;
}

/** {start, end} of the field or item at `path` (as in a problem's errors[].path), or null. */
export function locatePath(text, path) {
  let range = null;
  try {
    walk(text, (p, start, end) => {
      if (range === null && p === path) range = { start, end };
    });
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
  }
  return range;
}
