// The project the dashboard acts on: the URL's `project` query parameter (none: the one the
// login's key belongs to, else `default`). Every API call and the live feed name it, and
// navigation keeps it, so a link or a reload shows the same project.

/** The query parameter naming the project (the API takes it as the header's stand-in). */
export const PROJECT_PARAM = 'project';

/**
 * The project a URL's query names, or null.
 * @param {string} search `location.search`, or any query string
 * @returns {string | null}
 */
export function projectOf(search) {
  return new URLSearchParams(search).get(PROJECT_PARAM) || null;
}

/** The project the page's URL names, or null. */
export function currentProject() {
  return typeof location === 'undefined' ? null : projectOf(location.search);
}

/**
 * `url` (a path and its query), naming `project` when it names none: navigating keeps the
 * project.
 * @param {string} url
 * @param {string | null} project
 * @returns {string}
 */
export function keepProject(url, project) {
  if (!project) return url;
  const [path, query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  if (params.has(PROJECT_PARAM)) return url;
  params.set(PROJECT_PARAM, project);
  return `${path}?${params.toString()}`;
}
