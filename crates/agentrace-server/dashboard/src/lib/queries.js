// What the views ask the API, from their URL: the filters each list passes on, its order and
// page, the cost view's grouping. Pure functions (tested with node --test in ../../tests).

import { apiRange } from './range.js';

/**
 * @import { Query, QueryPatch } from './url.js'
 * @import { Range } from './range.js'
 */

/** The trace list's filters: query keys passed to `/traces` as they are. */
export const TRACE_FILTERS = ['q', 'service', 'kind', 'model', 'agent', 'session', 'user', 'status', 'min_duration', 'name', 'score', 'score_min', 'score_max'];

/** Traces per page. */
export const TRACE_PAGE = 50;

/**
 * The API query of the trace list: filters, order and range (bounds and the order by score
 * only with a score; with `q`, the filter syntax, no order: the traces come by their newest
 * matching span).
 * @param {Query} query the URL's
 * @param {Range} range
 * @returns {Record<string, string | number>}
 */
export function tracesQuery(query, range) {
  /** @type {Record<string, string | number>} */
  const q = { ...apiRange(range), limit: TRACE_PAGE };
  for (const f of TRACE_FILTERS) if (query[f]) q[f] = query[f];
  if (!query.score) {
    delete q.score_min;
    delete q.score_max;
  }
  if (query.q) return q;
  if (query.sort && (query.sort !== 'score' || query.score)) q.sort = query.sort;
  if (query.order) q.order = query.order;
  return q;
}

/**
 * How a list is sorted: the key, and whether ascending.
 * @typedef {{ key: string, ascending: boolean }} Sort
 */

/**
 * The trace list's order as its table shows it: by start (newest first) unless the URL says
 * otherwise.
 * @param {Query} query the URL's
 * @param {Record<string, string | number>} q the API query (`tracesQuery`)
 * @returns {Sort}
 */
export function tracesSort(query, q) {
  return { key: String(q.sort ?? 'start'), ascending: query.order === 'asc' };
}

/**
 * The URL keys that sort the trace list by `key`: descending first, ascending when it is
 * clicked again; by start, newest first, is the default (no keys).
 * @param {Sort} sort the order now
 * @param {string} key the header clicked
 * @returns {QueryPatch}
 */
export function tracesSortQuery(sort, key) {
  return { sort: key === 'start' ? null : key, order: sort.key === key && !sort.ascending ? 'asc' : null };
}

/** The event list's filters: query keys passed to `/events` as they are. */
export const EVENT_FILTERS = ['level', 'type', 'session', 'text', 'service', 'agent', 'trace'];

/**
 * The API query of the event list.
 * @param {Query} query the URL's
 * @param {Range} range
 * @returns {Record<string, string | number>}
 */
export function eventsQuery(query, range) {
  /** @type {Record<string, string | number>} */
  const q = { ...apiRange(range), limit: 100 };
  for (const f of EVENT_FILTERS) if (query[f]) q[f] = query[f];
  return q;
}

/**
 * What the search view asks `/search`: the URL's `q`, the range, a page of 50.
 * @param {Query} query
 * @param {Range} range
 */
export function searchQuery(query, range) {
  return { q: query.q ?? '', ...apiRange(range), limit: 50 };
}

/**
 * Where a search hit opens: its span in the trace view, the query along (the span's detail
 * marks its words).
 * @param {string} traceId
 * @param {string} spanId
 * @param {string} q
 */
export function spanHref(traceId, spanId, q) {
  const params = new URLSearchParams({ span: spanId });
  if (q) params.set('q', q);
  return `/traces/${traceId}?${params}`;
}

/**
 * What cost can be grouped by: `[key, label]`.
 * @type {[string, string][]}
 */
export const COST_DIMENSIONS = [
  ['model', 'Model'],
  ['provider', 'Provider'],
  ['agent', 'Agent'],
  ['framework', 'Framework'],
  ['service', 'Service'],
  ['session', 'Session'],
  ['user', 'User'],
  ['day', 'Day'],
  ['hour', 'Hour'],
];

/** The dimensions that are time buckets. */
export const COST_TIME = new Set(['day', 'hour']);

/** The cost view's filters: query keys passed to `/cost` as they are. */
export const COST_FILTERS = ['provider', 'model', 'agent', 'framework', 'service', 'session', 'user'];

/** The prefix of an attribute dimension: `attr:customer.id`. */
export const ATTRIBUTE_PREFIX = 'attr:';

/** An attribute key as the API takes it: OpenTelemetry's characters, 1 to 64. */
const ATTRIBUTE_KEY = /^[A-Za-z0-9_.:/-]{1,64}$/;

/**
 * The key of an attribute dimension (`attr:customer.id` → `customer.id`); `null` for anything
 * else, a key the API would refuse included.
 * @param {string | undefined} dim
 * @returns {string | null}
 */
export function attributeKey(dim) {
  const key = dim?.startsWith(ATTRIBUTE_PREFIX) ? dim.slice(ATTRIBUTE_PREFIX.length) : null;
  return key !== null && ATTRIBUTE_KEY.test(key) ? key : null;
}

/**
 * The dimensions the cost view groups by: the URL's `group_by` (known ones and attributes, at
 * most two), else the model.
 * @param {Query} query the URL's
 * @returns {string[]}
 */
export function costGroups(query) {
  const dims = (query.group_by ?? 'model')
    .split(',')
    .filter((d) => COST_DIMENSIONS.some(([k]) => k === d) || attributeKey(d) !== null)
    .slice(0, 2);
  if (!dims.length) dims.push('model');
  return dims;
}

/**
 * The API query of the cost view: its range, grouping and filters.
 * @param {Query} query the URL's
 * @param {Range} range
 * @param {string[]} dims `costGroups(query)`
 * @returns {Record<string, string>}
 */
export function costQuery(query, range, dims) {
  /** @type {Record<string, string>} */
  const q = { ...apiRange(range), group_by: dims.join(',') };
  for (const f of COST_FILTERS) if (query[f]) q[f] = query[f];
  return q;
}

/**
 * The API query of the tools view: its range, the trend's bucket, and the attribute the URL's
 * `group_by` splits each tool by (a valid `attr:<key>` only).
 * @param {Query} query the URL's
 * @param {Range} range
 * @param {string} bucket
 * @returns {Record<string, string | number>}
 */
export function toolsQuery(query, range, bucket) {
  const key = attributeKey(query.group_by);
  return { ...apiRange(range), top: 3, bucket, ...(key ? { group_by: ATTRIBUTE_PREFIX + key } : {}) };
}

/**
 * The groups compared side by side after one is ticked or unticked: at most two, the
 * earliest ticked dropped for a third.
 * @param {string[]} compared the groups ticked now
 * @param {string} key the group clicked
 * @returns {string[]}
 */
export function toggleCompared(compared, key) {
  return compared.includes(key) ? compared.filter((c) => c !== key) : [...compared, key].slice(-2);
}
