// A profile input: a labelled JSON text area, a file picker, and the box that shows what is wrong with it.

import { h, uid } from "./dom.js";
import { clearProblem } from "./problems.js";

const MAX_FILE_BYTES = 1024 * 1024;  // the service's default body limit: larger files would be refused anyway

/**
 * profileField({label, help, onText}) -> {root, textarea, problem, set(text), show(text), get(), clear()}.
 * The problem box sits right under the text area and is named by its aria-describedby, so a screen reader
 * reads the error when the officer returns to the field. `onText(text, {typed})` hears of every new text:
 * typed (typed: true), opened from a file or set by the page.
 */
export function profileField({ label, help, name, rows = 18, onText }) {
  const id = uid(`${name}-text`);
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const fileId = `${id}-file`;
  const status = h("p", { class: "file-status note", "aria-live": "polite" });
  const textarea = h("textarea", { id, name, rows, spellcheck: "false", autocapitalize: "off", autocomplete: "off",
    class: "profile-text", "aria-describedby": `${helpId} ${problemId}`, "data-field": name,
    oninput: () => onText?.(textarea.value, { typed: true }) });
  const problem = h("div", { id: problemId, class: "problem", role: "alert", tabindex: "-1", hidden: true,
    "data-problem-for": name });
  const file = h("input", { id: fileId, type: "file", accept: ".json,application/json", "data-file-for": name,
    onchange: async () => {
      const chosen = file.files?.[0];
      if (!chosen) return;
      if (chosen.size > MAX_FILE_BYTES) {
        status.textContent = `${chosen.name} is larger than 1 MiB, more than the service accepts.`;
        return;
      }
      textarea.value = await chosen.text();
      clearProblem(problem, textarea);
      status.textContent = `Loaded ${chosen.name}.`;
      file.value = "";  // choosing the same file again reloads it
      onText?.(textarea.value, { typed: false });
    } });

  const root = h("div", { class: "profile-field" },
    h("label", { for: id, class: "field-label" }, label),
    help ? h("p", { id: helpId, class: "hint" }, help) : null,
    textarea,
    problem,
    h("div", { class: "file-choice" },
      h("label", { for: fileId }, "Or open a profile file (.json): "), file, status));

  return {
    root, textarea, problem,
    get: () => textarea.value,
    set(text) {
      textarea.value = text;
      textarea.setSelectionRange(0, 0);  // read from the top, not from where the caret last was
      textarea.scrollTop = 0;
      clearProblem(problem, textarea);
      status.textContent = "";
      onText?.(text, { typed: false });
    },
    /** The page's own rewrite of the text (the form changed it): the officer's place in it is not news. */
    show(text) {
      if (textarea.value !== text) textarea.value = text;
    },
    clear: () => clearProblem(problem, textarea),
  };
}
