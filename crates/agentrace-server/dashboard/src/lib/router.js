// Routing on the History API: every view has its own URL (path and query), links are real
// links, the back button works. Views read the URL through useRoute() and change it with
// navigate() or setQuery(); filters and the time range live in the query.

import { useEffect, useState } from './html.js';
import { currentProject, keepProject } from './project.js';
import { withQuery } from './url.js';

/** @import { Query, QueryPatch } from './url.js' */

export { match, withQuery } from './url.js';

/** @type {Set<(url: string) => void>} */
const listeners = new Set();

function notify() {
  for (const listener of listeners) listener(location.pathname + location.search);
}

/**
 * Goes to `url` (same origin), adding a history entry unless `replace`.
 * @param {string} url
 * @param {{ replace?: boolean }} [options]
 */
export function navigate(url, { replace = false } = {}) {
  url = keepProject(url, currentProject());
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  notify();
}

/**
 * The current query as an object.
 * @returns {Query}
 */
export function currentQuery() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/**
 * Changes some query keys (null removes one); replaces the history entry unless `push`.
 * @param {QueryPatch} patch
 * @param {{ push?: boolean }} [options]
 */
export function setQuery(patch, { push = false } = {}) {
  navigate(withQuery(location.pathname, { ...currentQuery(), ...patch }), { replace: !push });
}

/**
 * The URL now, re-rendering the component when it changes.
 * @returns {{ path: string, query: Query }}
 */
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
  const a = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!(a instanceof HTMLAnchorElement) || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (a.pathname.startsWith('/api/') || a.pathname.startsWith('/assets/')) return;
  event.preventDefault();
  navigate(a.pathname + a.search);
});
