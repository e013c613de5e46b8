// node --test: a project's settings and keys in words (src/lib/settings.js).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as fmt from '../src/lib/format.js';
import { SCOPES, SETTING_KINDS, expiry, jsonError, kindInfo, parseDocument, pretty, settingState } from '../src/lib/settings.js';

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0);
const MS = 1e6;

test('each kind the API knows has a title, what it does and an example of its shape', () => {
  const openapi = JSON.parse(readFileSync(new URL('../../src/http/api/openapi.json', import.meta.url), 'utf8'));
  const known = SETTING_KINDS.map((k) => k.kind);
  for (const kind of openapi.components.schemas.SettingKind.enum) assert.ok(known.includes(kind), `src/lib/settings.js: no SETTING_KINDS entry for '${kind}'`);
  for (const k of SETTING_KINDS) {
    assert.ok(k.title && k.over, k.kind);
    assert.equal(typeof k.example, 'object');
    assert.deepEqual(parseDocument(pretty(k.example)), { document: k.example }, 'the example is a document the editor accepts');
  }
  assert.deepEqual(SETTING_KINDS.find((k) => k.kind === 'retention')?.example, { spans: { max_age: '7d' }, events: { max_size: '1GiB' } });
  assert.deepEqual(kindInfo('quotas'), { kind: 'quotas', title: 'quotas', over: '', example: {} }, 'a kind of a newer server');
});

test('a document is shown pretty-printed; none is an empty editor', () => {
  assert.equal(pretty({ spans: { max_age: '7d' } }), '{\n  "spans": {\n    "max_age": "7d"\n  }\n}');
  assert.equal(pretty(null), '');
});

test("a setting's state: the project's own (who, when), the server's, or a file's", () => {
  const revision = (NOW_MS - 3 * 60_000) * MS;
  const own = settingState({ document: { redact: true }, revision, updated_by: 'key 7', provided_by_file: null }, NOW_MS);
  assert.equal(own.source, 'own');
  assert.equal(own.label, 'Its own');
  assert.equal(own.line, `Its own, set by key 7 3m ago (${fmt.dateTime(revision)}).`);
  assert.equal(own.hidden, false);

  const server = settingState({ document: null, revision: null, updated_by: null, provided_by_file: null }, NOW_MS);
  assert.deepEqual(server, { source: 'server', label: "The server's", line: "None of its own: the server's configuration applies.", hidden: false });

  const file = settingState({ document: null, revision: null, updated_by: null, provided_by_file: '/etc/agentrace/alerts.toml' }, NOW_MS);
  assert.equal(file.source, 'file');
  assert.match(file.line, /^Given by the file \/etc\/agentrace\/alerts\.toml: read-only/);

  // The alerts document of a credential that is not admin: the project has one, unseen.
  const hidden = settingState({ document: null, revision, updated_by: 'organization token', provided_by_file: null }, NOW_MS);
  assert.equal(hidden.source, 'own');
  assert.equal(hidden.hidden, true);
  assert.match(hidden.line, /^Its own, set by organization token 3m ago .*shown to admin credentials only\.$/);
});

test("the editor's text: a JSON object, or what is wrong and where", () => {
  assert.deepEqual(parseDocument(' {"spans": {"max_age": "7d"}} '), { document: { spans: { max_age: '7d' } } });
  assert.match(parseDocument('  \n').error ?? '', /^Nothing to save/);
  assert.match(parseDocument('[1, 2]').error ?? '', /^Not a JSON object: .* not an array\.$/);
  assert.match(parseDocument('null').error ?? '', /not null\.$/);
  assert.match(parseDocument('"7d"').error ?? '', /not "7d"\.$/);
  const broken = parseDocument('{\n  "spans": {"max_age": "7d"}\n  "events": {}\n}');
  assert.match(broken.error ?? '', /^Not valid JSON: .*, at line 3, column 3\.$/, broken.error);
  assert.equal(broken.document, undefined);
  assert.match(parseDocument('{"spans": ').error ?? '', /ends too early/);
});

test("a parse error's position becomes a line and a column, whichever engine wrote it", () => {
  const text = '{\n  "a": 1,\n  b\n}';
  // V8 before and after it added the line itself; another engine's words stay as they are.
  assert.equal(jsonError("Expected double-quoted property name in JSON at position 14", text), 'Expected double-quoted property name, at line 3, column 3');
  assert.equal(jsonError("Expected double-quoted property name in JSON at position 14 (line 3 column 3)", text), 'Expected double-quoted property name, at line 3, column 3');
  assert.equal(jsonError('JSON.parse: expected property name at line 3 column 3 of the JSON data', text), 'JSON.parse: expected property name at line 3 column 3 of the JSON data');
  assert.equal(jsonError("Unexpected token 'b', \"{\"a\" is not valid JSON", text), "Unexpected token 'b', \"{\"a\" is not valid JSON");
  assert.equal(jsonError("Expected property name or '}' in JSON at position 1", '{bad'), "Expected property name or '}', at line 1, column 2");
});

test("a key's scopes and expiry in words", () => {
  assert.deepEqual(SCOPES.map(([s]) => s), ['ingest', 'read', 'write', 'admin']);
  assert.equal(expiry(null, NOW_MS), 'never');
  const later = (NOW_MS + 86_400_000) * MS;
  assert.equal(expiry(later, NOW_MS), fmt.dateTime(later));
  const earlier = (NOW_MS - 1000) * MS;
  assert.equal(expiry(earlier, NOW_MS), `expired ${fmt.dateTime(earlier)}`);
});
