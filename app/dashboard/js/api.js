// The read API, as the dashboard calls it: same origin, the key in X-API-Key, errors as ApiError.

const KEY_STORAGE = "nexero.apiKey";
const API_ROOT = "/api/v1";

export class ApiError extends Error {
  constructor(status, message, retryAfterSeconds = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** True when a new key is the way out (unknown or revoked key, or one without `read`). */
  get needsKey() {
    return this.status === 401 || this.status === 403;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

/** `/api/v1` + path, with the query parameters that have a value. */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") {
      query.set(name, String(value));
    }
  }
  const text = query.toString();
  return `${API_ROOT}${path}${text ? `?${text}` : ""}`;
}

async function request(path, params, accept) {
  const key = storedKey();
  if (!key) {
    throw new ApiError(401, "Enter an API key with the read scope.");
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      headers: { "X-API-Key": key, Accept: accept },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, `The server could not be reached (${error.message}).`);
  }
  if (!response.ok) {
    throw await errorOf(response);
  }
  return response;
}

export async function getJson(path, params = {}) {
  const response = await request(path, params, "application/json");
  return response.json();
}

export async function getBlob(path, params = {}, accept = "image/png") {
  const response = await request(path, params, accept);
  return response.blob();
}

async function errorOf(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = null;
  }
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : null;
  return new ApiError(
    response.status,
    messageFor(response.status, detail, retryAfterSeconds),
    retryAfterSeconds,
  );
}

function describeDetail(detail) {
  if (typeof detail === "string") {
    return detail;
  }
  if (Array.isArray(detail)) {
    return detail
      .map((problem) => {
        const where = (problem.loc ?? []).filter((part) => part !== "query").join(".");
        return where ? `${where}: ${problem.msg}` : problem.msg;
      })
      .join("; ");
  }
  return "";
}

function messageFor(status, detail, retryAfterSeconds) {
  const said = describeDetail(detail);
  switch (status) {
    case 401:
      return `The API key was not accepted (401${said ? `: ${said}` : ""}). Enter a valid key.`;
    case 403:
      return (
        `This API key may not read analytics (403${said ? `: ${said}` : ""}). ` +
        "Enter a key with the read scope."
      );
    case 429:
      return (
        "Too many requests for this key (429): try again" +
        (retryAfterSeconds !== null ? ` in ${retryAfterSeconds} s.` : " shortly.")
      );
    case 404:
      return `Not found (404)${said ? `: ${said}` : ""}.`;
    case 422:
      return `The request was refused (422)${said ? `: ${said}` : ""}.`;
    case 503:
      return (
        "The database is unavailable (503): try again" +
        (retryAfterSeconds !== null ? ` in ${retryAfterSeconds} s.` : " shortly.")
      );
    default:
      return `The server answered ${status}${said ? `: ${said}` : ""}.`;
  }
}

/**
 * A stream that EventSource opens without the key: a short-lived token is asked for with the
 * key in a header (POST /live/token), then carried in the stream's URL. Reconnections after
 * the token expires ask for a new one and resume after the last event id.
 */
export async function openStream(path, { sessionId = null, onMessage, onTrouble }) {
  let source = null;
  let lastEventId = null;
  let closed = false;
  async function connect() {
    const key = storedKey();
    let response;
    try {
      response = await fetch(apiUrl("/live/token"), {
        method: "POST",
        headers: { "X-API-Key": key ?? "", "Content-Type": "application/json" },
        body: JSON.stringify(sessionId ? { session_id: sessionId } : {}),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      onTrouble(new ApiError(0, `The server could not be reached (${error.message}).`));
      return;
    }
    if (!response.ok) {
      onTrouble(await errorOf(response));
      return;
    }
    const { token } = await response.json();
    if (closed) {
      return;
    }
    source = new EventSource(apiUrl(path, { token, last_event_id: lastEventId }));
    for (const name of ["tours", "tour", "state", "tour_event"]) {
      source.addEventListener(name, (event) => {
        if (event.lastEventId) {
          lastEventId = event.lastEventId;
        }
        onMessage(name, JSON.parse(event.data));
      });
    }
    source.addEventListener("error", () => {
      // Closed for good (a refusal, or the token expired): start again with a new token.
      if (source.readyState === EventSource.CLOSED && !closed) {
        setTimeout(connect, 1000);
      }
    });
  }
  await connect();
  return {
    close() {
      closed = true;
      source?.close();
    },
  };
}
