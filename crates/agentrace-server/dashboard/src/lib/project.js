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

/**
 * The project a page acts on, by name: the one the URL names; else, as the server chooses
 * for a request that names none, `default` when the login may see it, else the first it may
 * see (a project's key sees its own only); `default` while the list is not known.
 * @param {string | null} named the URL's project (`currentProject()`)
 * @param {readonly { name: string }[] | null | undefined} projects what `GET /projects` answered
 * @returns {string}
 */
export function shownProject(named, projects) {
  if (named) return named;
  if (!projects?.length || projects.some((p) => p.name === 'default')) return 'default';
  return projects[0].name;
}

/** @type {Set<() => void>} */
const projectsListeners = new Set();

/**
 * Calls `listener` whenever the page created, renamed or deleted a project (the project
 * switcher reloads its list).
 * @param {() => void} listener
 * @returns {() => void} what stops it
 */
export function onProjectsChanged(listener) {
  projectsListeners.add(listener);
  return () => {
    projectsListeners.delete(listener);
  };
}

/** Tells the listeners of `onProjectsChanged` that the projects changed. */
export function projectsChanged() {
  for (const listener of projectsListeners) listener();
}
