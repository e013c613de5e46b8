// Routing on the History API: every view has its own URL (path and query), links are real
// links, the back button works. Views read the URL through useRoute() and change it with
// navigate() or setQuery(); filters and the time range live in the query.

import { useEffect, useState } from './html.js';

const listeners = new Set();

function notify() {
  for (const listener of listeners) listener(location.pathname + location.search);
}

/** Goes to `url` (same origin), adding a history entry unless `replace`. */
export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  notify();
}

/** The current query as an object. */
export function currentQuery() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/** `path` with `query` (keys with empty, null or undefined values left out). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, v);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Changes some query keys (null removes one); replaces the history entry unless `push`. */
export function setQuery(patch, { push = false } = {}) {
  navigate(withQuery(location.pathname, { ...currentQuery(), ...patch }), { replace: !push });
}

/** Matches `path` against `/a/:b/c` patterns; returns the params or null. */
export function match(pattern, path) {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i += 1) {
    if (p[i].startsWith(':')) {
      if (!s[i]) return null;
      params[p[i].slice(1)] = decodeURIComponent(s[i]);
    } else if (p[i] !== s[i]) {
      return null;
    }
  }
  return params;
}

/** The URL now, re-rendering the component when it changes. */
export function useRoute() {
  const [, setUrl] = useState(location.pathname + location.search);
  useEffect(() => {
    listeners.add(setUrl);
    return () => listeners.delete(setUrl);
  }, []);
  return { path: location.pathname, query: currentQuery() };
}

addEventListener('popstate', notify);

// Same-origin links navigate without reloading (modifier keys and downloads keep the
// browser's behaviour).
addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (a.pathname.startsWith('/api/') || a.pathname.startsWith('/assets/')) return;
  event.preventDefault();
  navigate(a.pathname + a.search);
});
