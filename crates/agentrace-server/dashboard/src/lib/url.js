// URLs as the dashboard writes and reads them: a path with its query, route patterns, where to
// go after the login. Pure functions (tested with node --test in ../../tests); router.js puts
// them to work on the History API.

/**
 * A URL's query as an object: each key's value.
 * @typedef {Record<string, string>} Query
 */

/**
 * Query keys to write: a value left out when null, undefined or empty.
 * @typedef {Record<string, string | number | boolean | null | undefined>} QueryPatch
 */

/**
 * `path` with `query` (keys with empty, null or undefined values left out).
 * @param {string} path
 * @param {QueryPatch} query
 * @returns {string}
 */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Matches `path` against `/a/:b/c` patterns; returns the params (decoded) or null. A param
 * that is not valid percent-encoding (`/sessions/100%`) matches nothing, so the page says
 * there is no such view instead of failing.
 * @param {string} pattern
 * @param {string} path
 * @returns {Record<string, string> | null}
 */
export function match(pattern, path) {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  /** @type {Record<string, string>} */
  const params = {};
  for (let i = 0; i < p.length; i += 1) {
    if (p[i].startsWith(':')) {
      if (!s[i]) return null;
      try {
        params[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) {
      return null;
    }
  }
  return params;
}

/**
 * Where to go after the login: `next` when it is a path of this origin, else the overview. A
 * path the URL parser reads as another host (`//host`, `/\host`) is refused: the History API
 * throws on a URL of another origin.
 * @param {string | undefined} next
 * @param {string} origin the page's (`location.origin`)
 * @returns {string}
 */
export function nextPath(next, origin) {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  try {
    return new URL(next, origin).origin === origin ? next : '/';
  } catch {
    return '/';
  }
}
