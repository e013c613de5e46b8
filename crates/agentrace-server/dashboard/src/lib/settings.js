// A project's settings and keys in words, for the settings and organization views: each kind
// of setting (what it does over the server's configuration, a short example of its shape, from
// docs/projects.md and scores.md), the line saying where a project's setting comes from, the
// editor's JSON read with an error a person can act on, and the keys' scopes and expiry. Pure
// (tested with node --test in ../../tests).

import * as fmt from './format.js';

/**
 * A kind of setting: its title, what a project's document does over the server's
 * configuration, and an example of its shape (docs/projects.md).
 * @typedef {{ kind: string, title: string, over: string, example: Record<string, unknown> }} KindInfo
 */

/** @type {KindInfo[]} */
export const SETTING_KINDS = [
  {
    kind: 'budgets',
    title: 'Budgets',
    over: "The budgets file's shape. A project's budgets are its own: without this setting it has none.",
    example: { budget: [{ name: 'daily', scope: 'global', period: 'day', limit_usd: 20 }] },
  },
  {
    kind: 'prices',
    title: 'Prices',
    over: "A price file (agentrace.prices/1), layered over the server's price files and the built-in table.",
    example: {
      format: 'agentrace.prices/1',
      models: [{ provider: 'openai', model: 'gpt-4.1', prices: [{ since: '2025-01-01', input: 1.5, output: 6.0 }] }],
    },
  },
  {
    kind: 'retention',
    title: 'Retention',
    over: "How long spans, events, metrics and scores are kept: each value set replaces the server's, the others stay.",
    example: { spans: { max_age: '7d' }, events: { max_size: '1GiB' } },
  },
  {
    kind: 'capture',
    title: 'Capture',
    over: "Masking secrets, redaction and capturing content: each switch set replaces the server's.",
    example: { mask_secrets: true, redact: true, capture_content: false },
  },
  {
    kind: 'alerts',
    title: 'Alerts',
    over: "The alerts file's shape (interval, channels, rules, slos, report). A project's alerts are its own.",
    example: { interval: '30s', rules: [{ name: 'llm errors', measure: 'error_rate', window: '5m', warning: 0.05, critical: 0.2 }] },
  },
  {
    kind: 'evaluators',
    title: 'Evaluators',
    over: "The evaluators file's shape (judge, evaluator). A project's evaluations are its own: it runs none without this. A judge's api_key_env may name an AGENTRACE_JUDGE_* variable only.",
    example: { evaluator: [{ name: 'answer_is_json', target: 'span', filter: { kind: 'llm' }, check: { type: 'json_valid' } }] },
  },
  {
    kind: 'scores',
    title: 'Score configurations',
    over: "The score configurations file's shape: each score name's type and its range or categories, which the project's scores must fit.",
    example: { score: [{ name: 'helpfulness', kind: 'numeric', min: 0, max: 1 }] },
  },
  {
    kind: 'forwarding',
    title: 'Forwarding',
    over: "Where the project's records go besides its store: an http:// OTLP endpoint and its protocol (grpc, http/protobuf, http/json). Its counters are on the status page.",
    example: { endpoint: 'http://collector:4317', protocol: 'grpc' },
  },
];

/**
 * What is known of a kind (one the dashboard does not know yet: its name, no example).
 * @param {string} kind
 * @returns {KindInfo}
 */
export function kindInfo(kind) {
  return SETTING_KINDS.find((k) => k.kind === kind) ?? { kind, title: kind, over: '', example: {} };
}

/**
 * A document as the editor shows it: JSON, two spaces of indentation; nothing for none.
 * @param {unknown} document
 */
export function pretty(document) {
  return document === null || document === undefined ? '' : JSON.stringify(document, null, 2);
}

/**
 * Where a project's setting comes from, in words: `file` (a configuration file or the
 * provisioning folder gives it: read-only), `own` (the project's, stored: who wrote it, when),
 * `server` (none: the server's configuration applies). `hidden`: the project has one but this
 * credential may not read it (the alerts document needs `admin`).
 * @param {Pick<Api.Setting, 'document' | 'revision' | 'updated_by' | 'provided_by_file'>} setting
 * @param {number} [nowMs]
 * @returns {{ source: 'file' | 'own' | 'server', label: string, line: string, hidden: boolean }}
 */
export function settingState(setting, nowMs = Date.now()) {
  if (setting.provided_by_file) {
    return {
      source: 'file',
      label: 'From a file',
      line: `Given by the file ${setting.provided_by_file}: read-only here; change the file to change it.`,
      hidden: false,
    };
  }
  if (setting.revision !== null || setting.document !== null) {
    const hidden = setting.document === null;
    const who = setting.updated_by ? `set by ${setting.updated_by}` : 'set';
    const when = setting.revision ? ` ${fmt.ago(setting.revision, nowMs)} (${fmt.dateTime(setting.revision)})` : '';
    return {
      source: 'own',
      label: 'Its own',
      line: `Its own, ${who}${when}.${hidden ? ' The document is shown to admin credentials only.' : ''}`,
      hidden,
    };
  }
  return { source: 'server', label: "The server's", line: "None of its own: the server's configuration applies.", hidden: false };
}

/**
 * A JSON.parse error's message with the line and column of its position (counted from 1),
 * where the engine gives a position; its own words otherwise.
 * @param {string} message
 * @param {string} text what was parsed
 */
export function jsonError(message, text) {
  if (/^Unexpected end of JSON input/.test(message)) return 'it ends too early: a closing }, ] or " is missing';
  const at = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(message);
  if (!at) return message;
  const position = Number(at[2]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${at[1]}, at line ${line}, column ${column}`;
}

/**
 * The editor's text read as a setting's document: a JSON object, or what is wrong with it
 * (the server is not asked about a text that is not one).
 * @param {string} text
 * @returns {{ document: Record<string, unknown>, error?: undefined } | { document?: undefined, error: string }}
 */
export function parseDocument(text) {
  if (!text.trim()) return { error: "Nothing to save: write a JSON document (the example shows the shape), or use the server's." };
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `Not valid JSON: ${jsonError(e instanceof Error ? e.message : String(e), text)}.` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: `Not a JSON object: a setting is a document in braces, {…}, not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.` };
  }
  return { document: /** @type {Record<string, unknown>} */ (value) };
}

/**
 * The scopes a key may have, with what each may do (docs/projects.md).
 * @type {[Api.Key['scope'], string][]}
 */
export const SCOPES = [
  ['ingest', 'sends telemetry, reads nothing'],
  ['read', 'reads everything: the API, the live feed, /metrics'],
  ['write', 'reads, and writes scores, annotations, budget checks'],
  ['admin', 'everything: configuration and keys'],
];

/**
 * When a key stops working: `never`, its date, or `expired <date>`.
 * @param {number | null} expiresUnixNano
 * @param {number} [nowMs]
 */
export function expiry(expiresUnixNano, nowMs = Date.now()) {
  if (expiresUnixNano === null) return 'never';
  const when = fmt.dateTime(expiresUnixNano);
  return expiresUnixNano / 1e6 <= nowMs ? `expired ${when}` : when;
}
