// The REST API, as the dashboard calls it: same origin, the session cookie sent by the
// browser (never a token in script). A 401 tells the app to show the login.

import { useEffect, useRef, useState } from './html.js';
import { withQuery } from './router.js';

export const API = '/api/v1';

/** An answer that was not 2xx: `status`, the API's `code` and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const unauthorizedListeners = new Set();

/** Calls `listener` whenever the API answers 401 (the session ended or never began). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** The URL of an API path with query parameters. */
export function apiUrl(path, query = {}) {
  return withQuery(`${API}${path}`, query);
}

async function failure(response) {
  let code = 'http_error';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    code = body.error?.code ?? code;
    message = body.error?.message ?? body.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) for (const l of unauthorizedListeners) l();
  return new ApiError(response.status, code, message);
}

/** GET an API path; resolves with the JSON answer, rejects with an ApiError. */
export async function get(path, query = {}, { signal } = {}) {
  const response = await fetch(apiUrl(path, query), {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** POST JSON to an API path; resolves with the JSON answer (or null for 204). */
export async function post(path, body) {
  const response = await fetch(apiUrl(path), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/**
 * Loads `path` with `query` whenever they change (and when `refresh` changes): `{ data,
 * error, loading }`. The previous data stays while a new answer loads, so views do not
 * flicker; an answer that arrives after a newer request was made is ignored.
 */
export function useApi(path, query = {}, refresh = 0) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const key = path === null ? null : apiUrl(path, query);
  const latest = useRef(null);
  useEffect(() => {
    if (key === null) return undefined;
    const controller = new AbortController();
    latest.current = key;
    setState((s) => ({ ...s, loading: true }));
    get(path, query, { signal: controller.signal }).then(
      (data) => latest.current === key && setState({ data, error: null, loading: false }),
      (error) => {
        if (error.name === 'AbortError') return;
        if (latest.current === key) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, refresh]);
  return state;
}
