// The live feed (WebSocket /api/v1/live). Views subscribe with a filter; subscribers with the
// same filter share one connection, which reconnects with exponential backoff and jitter. A
// tab in the background holds no connection and no timer: every connection closes while the
// page is hidden or the user paused live updates, and reopens (views refreshing once) after.

import { useEffect, useRef, useState } from './html.js';
import { PROJECT_PARAM, currentProject } from './project.js';
import { withQuery } from './url.js';
import { API } from './api.js';

/** @import { QueryPatch } from './url.js' */

/**
 * A message of the live feed (docs/api.md); the dashboard reads its type, and a summary's
 * rate.
 * @typedef {{ type: 'spans', spans: unknown[] }
 *   | { type: 'events', events: unknown[] }
 *   | { type: 'attributed', spans: unknown[] }
 *   | { type: 'summary', time_unix_nano: number, interval_ms: number, spans_per_second: number }
 *   | { type: 'lagged', missed: number }
 *   | { type: 'alerts', alerts: unknown[] }} LiveMessage
 */

/**
 * One shared connection: the URL, who listens, the socket (or the timer of the next attempt).
 * @typedef {{
 *   url: string,
 *   handlers: Set<(message: LiveMessage) => void>,
 *   socket: WebSocket | null,
 *   timer: ReturnType<typeof setTimeout> | null,
 *   backoff: number,
 * }} Connection
 */

const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30000;

// ---- small observable values ----

/**
 * A value components can watch.
 * @template T
 * @param {T} initial
 */
function observable(initial) {
  let value = initial;
  /** @type {Set<(value: T) => void>} */
  const listeners = new Set();
  return {
    get: () => value,
    /** @param {T} next */
    set(next) {
      if (next === value) return;
      value = next;
      for (const l of listeners) l(next);
    },
    use() {
      const [v, set] = useState(value);
      useEffect(() => {
        listeners.add(set);
        set(value);
        return () => listeners.delete(set);
      }, []);
      return v;
    },
  };
}

const paused = observable(sessionStorage.getItem('agentrace.paused') === '1');
const visible = observable(!document.hidden);
/** `live`, `connecting`, `paused`, `hidden` or `idle` (nobody subscribed). */
const state = observable(/** @type {'live' | 'connecting' | 'paused' | 'hidden' | 'idle'} */ ('idle'));

document.addEventListener('visibilitychange', () => {
  visible.set(!document.hidden);
  sync();
});

/** Whether live updates are paused by the user (re-renders on change). */
export const usePaused = () => paused.use();
/** The feed's state, for the top bar (re-renders on change). */
export const useConnectionState = () => state.use();
/** Whether live updates flow now: visible and not paused (re-renders on change). */
export function useActive() {
  return !usePaused() && visible.use();
}

/**
 * Pauses or resumes live updates everywhere.
 * @param {boolean} value
 */
export function setPaused(value) {
  paused.set(value);
  sessionStorage.setItem('agentrace.paused', value ? '1' : '0');
  sync();
}

// ---- the shared connections ----

/** @type {Map<string, Connection>} filter key → connection */
const connections = new Map();

/** @param {Connection} c */
function open(c) {
  state.set('connecting');
  const socket = new WebSocket(c.url);
  c.socket = socket;
  socket.onopen = () => {
    c.backoff = INITIAL_BACKOFF_MS;
    state.set('live');
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const handler of c.handlers) handler(message);
  };
  socket.onclose = () => {
    if (c.socket !== socket) return;
    c.socket = null;
    if (!c.handlers.size || paused.get() || !visible.get()) return;
    state.set('connecting');
    const wait = c.backoff * (0.5 + Math.random() / 2);
    c.backoff = Math.min(c.backoff * 2, MAX_BACKOFF_MS);
    c.timer = setTimeout(() => {
      c.timer = null;
      if (c.handlers.size && !paused.get() && visible.get()) open(c);
    }, wait);
  };
}

/** @param {Connection} c */
function close(c) {
  clearTimeout(c.timer ?? undefined);
  c.timer = null;
  const socket = c.socket;
  c.socket = null;
  if (!socket) return;
  // Closing a socket that is still connecting makes the browser log an error: let it open.
  if (socket.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close();
  else socket.close();
}

/** Opens or closes every connection to match subscribers, pause and visibility. */
function sync() {
  const active = !paused.get() && visible.get();
  for (const [key, c] of connections) {
    if (!c.handlers.size) {
      close(c);
      connections.delete(key);
    } else if (!active) {
      close(c);
    } else if (!c.socket && !c.timer) {
      open(c);
    }
  }
  if (!connections.size) state.set('idle');
  else if (paused.get()) state.set('paused');
  else if (!visible.get()) state.set('hidden');
}

/**
 * @param {QueryPatch} filter
 * @param {(message: LiveMessage) => void} handler
 * @returns {() => void} the unsubscription
 */
function subscribe(filter, handler) {
  const path = withQuery(`${API}/live`, { ...filter, [PROJECT_PARAM]: currentProject() });
  let c = connections.get(path);
  if (!c) {
    c = {
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`,
      handlers: new Set(),
      socket: null,
      timer: null,
      backoff: INITIAL_BACKOFF_MS,
    };
    connections.set(path, c);
  }
  c.handlers.add(handler);
  sync();
  const connection = c;
  return () => {
    connection.handlers.delete(handler);
    sync();
  };
}

/**
 * Receives the live feed's messages (`spans`, `events`, `summary`, `lagged`) matching
 * `filter` (`session`, `service`, `kind`) while `enabled`.
 * @param {QueryPatch} filter
 * @param {(message: LiveMessage) => void} onMessage
 * @param {boolean} [enabled]
 */
export function useLive(filter, onMessage, enabled = true) {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = JSON.stringify(filter);
  useEffect(() => {
    if (!enabled) return undefined;
    return subscribe(filter, (m) => handler.current(m));
  }, [key, enabled]);
}

/**
 * Whether a live message changes stored spans: new spans, or spans stored before whose agent,
 * session, user or framework an ancestor arriving later filled in (`attributed`).
 * @param {LiveMessage} m
 */
export const changesSpans = (m) => m.type === 'spans' || m.type === 'attributed';

/**
 * Calls `refresh` when a live message satisfies `when` (at most once per `everyMs`), and once
 * whenever updates resume (the page shown again, or un-paused): for views that re-query.
 * @param {QueryPatch} filter
 * @param {() => void} refresh
 * @param {{ enabled?: boolean, everyMs?: number, when?: (message: LiveMessage) => boolean }} [options]
 */
export function useLiveRefresh(filter, refresh, { enabled = true, everyMs = 2000, when = () => true } = {}) {
  const last = useRef(0);
  const pending = useRef(/** @type {ReturnType<typeof setTimeout> | null} */ (null));
  const run = useRef(refresh);
  run.current = refresh;
  const active = useActive();
  const wasActive = useRef(active);
  useEffect(() => {
    if (enabled && active && !wasActive.current) run.current();
    wasActive.current = active;
  }, [active, enabled]);
  useEffect(() => () => clearTimeout(pending.current ?? undefined), []);
  useLive(
    filter,
    (message) => {
      if (!when(message) || pending.current) return;
      const wait = Math.max(0, everyMs - (Date.now() - last.current));
      pending.current = setTimeout(() => {
        pending.current = null;
        last.current = Date.now();
        run.current();
      }, wait);
    },
    enabled,
  );
}
