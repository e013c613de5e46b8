// The REST API, as the dashboard calls it: same origin, the session cookie sent by the
// browser (never a token in script). A 401 tells the app to show the login.

import { useEffect, useRef, useState } from './html.js';
import { PROJECT_PARAM, currentProject } from './project.js';
import { withQuery } from './url.js';

/** @import { QueryPatch } from './url.js' */

export const API = '/api/v1';

/** An answer that was not 2xx: `status`, the API's `code` and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * What `useApi` holds: the latest answer (kept while the next one loads), the error of the
 * latest request, and whether one is on its way. `error` is an `ApiError`, or what `fetch`
 * threw (the network failed).
 * @template T
 * @typedef {{ data: T | null, error: ApiError | Error | null, loading: boolean }} ApiState
 */

/** @type {Set<() => void>} */
const unauthorizedListeners = new Set();

/**
 * Calls `listener` whenever the API answers 401 (the session ended or never began).
 * @param {() => void} listener
 * @returns {() => void} what stops it
 */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * The URL of an API path with query parameters, naming the page's project.
 * @param {string} path
 * @param {QueryPatch} [query]
 */
export function apiUrl(path, query = {}) {
  return withQuery(`${API}${path}`, { ...query, [PROJECT_PARAM]: currentProject() });
}

/**
 * The error of an answer that was not 2xx (the API's `{ error: { code, message } }`, if it
 * sent one).
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
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

/**
 * GET an API path; resolves with the JSON answer, rejects with an ApiError. The caller says
 * what the answer is (`Api.Responses[path]`): the type is not checked at run time.
 * @template [T=unknown]
 * @param {string} path
 * @param {QueryPatch} [query]
 * @param {{ signal?: AbortSignal }} [options]
 * @returns {Promise<T>}
 */
export async function get(path, query = {}, { signal } = {}) {
  const response = await fetch(apiUrl(path, query), {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Sends a writing request to an API path: `body` as JSON (undefined: no body). Resolves with
 * the JSON answer, or null for an answer without a body (204; the 201 of joining by an
 * invitation, which says all in its status and cookie); rejects with an ApiError carrying the server's message. The
 * caller says what the answer is: the type is not checked at run time.
 * @param {'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
export async function send(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(apiUrl(path), {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * POST JSON to an API path (no body: `{}`); resolves with the JSON answer (or null for 204).
 * @param {string} path
 * @param {unknown} [body]
 */
export const post = (path, body) => send('POST', path, body ?? {});

/**
 * PUT JSON to an API path (a whole document, e.g. a setting).
 * @param {string} path
 * @param {unknown} body
 */
export const put = (path, body) => send('PUT', path, body);

/**
 * PATCH an API path with JSON (e.g. a project's new name).
 * @param {string} path
 * @param {unknown} body
 */
export const patch = (path, body) => send('PATCH', path, body);

/**
 * DELETE an API path; resolves with its JSON answer, or null for 204.
 * @param {string} path
 */
export const remove = (path) => send('DELETE', path);

/**
 * An action of a form or a button that calls the API: whether one is in flight, and the
 * error the last one ended with (cleared when the next starts). `run(call, then)` hands
 * `call`'s answer to `then`; `setError` shows an error found before any call (a form's own
 * check).
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {{ message: string, status?: number, code?: string } | null} */ (null));
  /**
   * @template T
   * @param {Promise<T>} call
   * @param {(answer: T) => void} [then]
   */
  const run = (call, then) => {
    setBusy(true);
    setError(null);
    call.then((answer) => then?.(answer), setError).finally(() => setBusy(false));
  };
  return { busy, error, setError, run };
}

/**
 * Loads `path` with `query` whenever they change (and when `refresh` changes): `{ data,
 * error, loading }`. The previous data stays while a new answer loads, so views do not
 * flicker; an answer that arrives after a newer request was made is ignored. `T` is the
 * answer's type, which the caller names (`Api.Responses[path]`).
 * @template [T=unknown]
 * @param {string | null} path null: nothing to load
 * @param {QueryPatch} [query]
 * @param {number} [refresh] a counter: each change loads again
 * @returns {ApiState<T>}
 */
export function useApi(path, query = {}, refresh = 0) {
  const [state, setState] = useState(/** @type {ApiState<T>} */ ({ data: null, error: null, loading: true }));
  const key = path === null ? null : apiUrl(path, query);
  const latest = useRef(/** @type {string | null} */ (null));
  useEffect(() => {
    if (key === null) return undefined;
    const controller = new AbortController();
    latest.current = key;
    setState((s) => ({ ...s, loading: true }));
    get(/** @type {string} */ (path), query, { signal: controller.signal }).then(
      (data) => latest.current === key && setState({ data: /** @type {T} */ (data), error: null, loading: false }),
      (error) => {
        if (error.name === 'AbortError') return;
        if (latest.current === key) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, refresh]);
  return state;
}
