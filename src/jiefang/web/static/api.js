// Client of the jiefang JSON API: bearer token kept in sessionStorage, errors as ApiError.

const TOKEN_KEY = "jiefang.token";

/** An API failure; `message` is the server's JSON message when it sent one, else null. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message ?? `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
  }
}

let unauthorizedHandler = () => {};

/** Call `handler` whenever a request made with a token is answered 401 (token is then dropped). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Send a request and return the decoded JSON body (null when empty).
 * `headers` adds request headers (e.g. Idempotency-Key).
 * Throws ApiError for HTTP errors and network failures (status 0); AbortError passes through.
 */
export async function request(path, { method = "GET", body, signal, headers: extra } = {}) {
  const headers = { Accept: "application/json", ...extra };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", null);
  }

  const payload = await readJson(response);
  if (response.ok) return payload;
  if (response.status === 401 && token) {
    clearToken();
    unauthorizedHandler();
  }
  throw new ApiError(response.status, payload?.error ?? "http_error", messageOf(payload));
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null; // a proxy's HTML error page: the status code still tells the story
  }
}

function messageOf(payload) {
  if (!payload) return null;
  if (typeof payload.message === "string" && payload.message) return payload.message;
  // FastAPI's own validation errors, in case one slips past the JSON error handler.
  if (typeof payload.detail === "string") return payload.detail;
  if (Array.isArray(payload.detail)) {
    return payload.detail.map((item) => item.msg).filter(Boolean).join("; ") || null;
  }
  return null;
}

/** Seconds since the epoch of a server time; a time without its zone (SQLite) is UTC. */
export function epochSeconds(isoTime) {
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/.test(isoTime) ? isoTime : `${isoTime}Z`;
  return Date.parse(zoned) / 1000;
}
