// Calls to the service's API, with the officer's bearer token when one is set.
//
// The token lives in sessionStorage only: it is gone when the tab closes, is never written to
// localStorage or a cookie, and is sent only to this service (relative URLs, same origin).

import { apiHref } from "./dom.js";

const TOKEN_KEY = "compliance-engine.token";

export const token = {
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch {
      return "";  // storage disabled: the page still works where no token is needed
    }
  },
  set(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage disabled: nothing to keep */
    }
  },
};

/** A refused or failed call: `status` (0 when the service could not be reached) and the problem document. */
export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.status = status;
    this.problem = problem;  // RFC 9457: {type, title, status, detail, errors: [{path, message}]}, or null
  }

  get errors() {
    return Array.isArray(this.problem?.errors) ? this.problem.errors : [];
  }
}

function explain(status, problem) {
  const detail = typeof problem?.detail === "string" && problem.detail ? problem.detail : "";
  switch (status) {
    case 401:
      return "This service needs an access token. Enter it under \u201cAccess token\u201d at the top of the page.";
    case 403:
      return `Your access token does not allow this${detail ? ` (${detail})` : ""}.`;
    case 404:
      return detail || "Not found.";
    case 413:
      return `The profile is larger than the service accepts${detail ? ` (${detail})` : ""}.`;
    case 422:
      return "Each problem below names the place in the profile and what is allowed there.";
    case 503:
      return `The service cannot take this right now${detail ? ` (${detail})` : ""}. Try again in a moment.`;
    default:
      return `The service answered with an error (${status}${detail ? `: ${detail}` : ""}).`;
  }
}

/** Send a request with the token; the response when it is a success, else throws ApiError. */
async function send(path, { method = "GET", body, accept, signal }) {
  const headers = { Accept: accept };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiHref(path), { method, headers, body: payload, cache: "no-store",
      credentials: "same-origin", redirect: "error", signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, null, "Could not reach the service. Check that it is running and try again.");
  }
  if (response.ok) return response;
  const problem = readJson(await response.text());
  if (response.status === 401 || response.status === 403) {
    document.dispatchEvent(new CustomEvent("token-needed", { detail: { status: response.status } }));
  }
  const shown = problem && typeof problem === "object" ? problem : null;
  throw new ApiError(response.status, shown, explain(response.status, shown));
}

function readJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/**
 * call("v1/rules") -> the parsed JSON answer; throws ApiError.
 * `body` may be a string (sent exactly as the officer wrote it) or a value (sent as JSON). A call cancelled
 * through `signal` (an AbortController's) throws the browser's AbortError, not an ApiError.
 */
export async function call(path, { method = "GET", body, signal } = {}) {
  const response = await send(path, { method, body, signal, accept: "application/json, application/problem+json" });
  const data = readJson(await response.text());
  if (data === null) throw new ApiError(response.status, null, "The service's answer could not be read.");
  return data;
}

/** fetchFile("v1/impact/ID.csv", "text/csv") -> the answer as a Blob, fetched with the token; throws ApiError. */
export async function fetchFile(path, type) {
  const response = await send(path, { accept: `${type}, application/problem+json` });
  return response.blob();
}
