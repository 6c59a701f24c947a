// What to ask next (POST /v1/assessments/questions), offered as one-click answers: first the facts the current
// findings depend on (each answer the service offers, with what it would change), then the facts that would
// make further rules apply, the best ranked first. An answer is a JSON Patch the page applies to the profile;
// "no" to a new item or value sets nothing and is not asked again in this tab.

import { fill, h, uid } from "./dom.js";
import { countByKind, plural } from "./wording.js";

/** How many ranked questions are offered at first (more on request). */
const FIRST = 6;

function answerLabel(value) {
  if (value === true) return "Yes";
  if (value === false) return "No";
  return String(value);
}

function effect(a) {
  const parts = [];
  if (a.opens?.length) parts.push(`brings ${countByKind(a.opens)}`);
  if (a.closes?.length) parts.push(`removes ${countByKind(a.closes)}`);
  return parts.length ? parts.join("; ") : "changes no finding";
}

/** The rules an answer would bring, by title, folded. */
function opensList(opens, summary) {
  if (!opens?.length) return null;
  return h("details", { class: "opens" }, h("summary", {}, summary),
    h("ul", {}, opens.map((o) => h("li", { "data-rule-id": o.rule_id }, o.title))));
}

/**
 * questionsPanel({onAnswer(patch, path), onFill(path)}) -> {root, show(answer), clear(message)}.
 * The panel keeps its place while its list is replaced, so focus left on it stays.
 */
export function questionsPanel({ onAnswer, onFill }) {
  const dismissed = new Set();
  let shown = FIRST;
  let last = null;
  const headingId = uid("questions");
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const list = h("ol", { class: "question-list" });
  const tools = h("div", { class: "question-tools" });
  const root = h("section", { class: "questions", "aria-labelledby": headingId, tabindex: "-1",
    "data-panel": "questions" },
  h("h3", { id: headingId }, "Questions that matter"),
  h("p", { class: "group-help" }, "Answer with one click: the answer goes into the profile and the findings follow. "
    + "Only facts that change the findings are asked."),
  status, list, tools);

  function answerButton(text, statementId, attrs, onclick) {
    return h("button", { type: "button", class: "answer", "aria-describedby": statementId, ...attrs, onclick }, text);
  }

  function conditionalItem(c) {
    const id = uid("statement");
    const answers = Array.isArray(c.answers) ? c.answers : [];
    return h("li", { class: "question conditional", "data-question-path": c.path, "data-question-kind": "conditional" },
      h("p", { id, class: "statement" }, c.statement),
      h("p", { class: "note" }, `${plural(c.findings?.length ?? 0, "finding depends", "findings depend")} on it.`),
      h("div", { class: "answers" }, answers.length
        ? answers.map((a) => answerButton(answerLabel(a.value), id, { "data-answer": String(a.value) },
          () => onAnswer(a.patch, c.path)))
        : answerButton("State it in the form", id, { "data-answer": "fill", class: "secondary" },
          () => onFill(c.path))),
      answers.length ? h("ul", { class: "effects note" },
        answers.map((a) => h("li", {}, `${answerLabel(a.value)}: ${effect(a)}.`))) : null);
  }

  function rankedItem(q) {
    const id = uid("statement");
    const op = q.patch?.length === 1 ? q.patch[0] : null;
    // a yes/no fact: "no" states the opposite; a new item or value: "no" adds nothing
    const negatable = op && typeof op.value === "boolean" && !op.path.endsWith("/-");
    return h("li", { class: "question", "data-question-id": q.id, "data-question-path": q.path },
      q.group ? h("p", { class: "question-group note" }, q.group) : null,
      h("p", { id, class: "statement" }, q.statement),
      h("div", { class: "answers" },
        answerButton("Yes", id, { "data-answer": "yes" }, () => onAnswer(q.patch, q.path)),
        answerButton("No", id, { "data-answer": "no" }, () => {
          if (negatable) onAnswer([{ ...op, value: !op.value }], q.path);
          else {
            dismissed.add(q.id);
            render();
            root.focus();
          }
        })),
      opensList(q.opens, `If so: ${countByKind(q.opens ?? [])}`));
  }

  function render() {
    if (!last) return;
    const conditional = Array.isArray(last.conditional) ? last.conditional : [];
    const ranked = (last.groups ?? [])
      .flatMap((g) => (g.questions ?? []).map((q) => ({ ...q, group: g.title })))
      .filter((q) => !dismissed.has(q.id))
      .sort((a, b) => b.score - a.score);  // stable: the service's order among equals
    fill(list, ...conditional.map(conditionalItem), ...ranked.slice(0, shown).map(rankedItem));
    const total = conditional.length + ranked.length;
    status.textContent = total
      ? `${plural(total, "question", "questions")} would change the findings`
        + `${ranked.length > shown ? `; the ${conditional.length + shown} that matter most are shown` : ""}.`
      : "No question would change the findings: the profile says what the rules need.";
    fill(tools,
      ranked.length > shown ? h("button", { type: "button", class: "secondary small", "data-role": "more-questions",
        onclick: () => {
          shown += FIRST;
          render();
        } }, "More questions") : null,
      dismissed.size ? h("button", { type: "button", class: "secondary small", "data-role": "ask-again",
        onclick: () => {
          dismissed.clear();
          render();
        } }, `Ask again the ${plural(dismissed.size, "question", "questions")} answered \u201cno\u201d`) : null);
  }

  return {
    root,
    show(answer) {
      last = answer;
      render();
    },
    clear(message) {
      last = null;
      list.replaceChildren();
      tools.replaceChildren();
      status.textContent = message ?? "";
    },
  };
}
