// The REST API's data shapes as TypeScript declarations, for the type check (tsc) of the
// dashboard's JSDoc: generated from the OpenAPI document the server serves
// (crates/agentrace-server/src/http/api/openapi.json), so the views are checked against what
// the API says it answers, and a change to the API shows in the views that read it.
//
//   node tools/api-types.mjs          write types/api.d.ts
//   node tools/api-types.mjs --check  fail if types/api.d.ts differs (tests/api-types.test.mjs)
//
// Every schema of `components.schemas` becomes a type of the global namespace `Api`
// (`Api.TraceTree`), and `Api.Responses` maps each GET path (without `/api/v1`) to its JSON
// answer (`Api.Responses['/slos']`), for the answers the document writes inline. Only what
// types express is kept: the JSON Schema's validation keywords (patterns, bounds, `not`, the
// `allOf` rules of an input) are left out.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE = join(root, '..', 'src', 'http', 'api', 'openapi.json');
export const TARGET = join(root, 'types', 'api.d.ts');
const PREFIX = '/api/v1';

/** @typedef {{ [key: string]: any }} Schema */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript writes it. */
const key = (name) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

/** A doc comment of `text` at `indent` ('' for none). */
function doc(text, indent) {
  if (!text) return '';
  const lines = String(text).replaceAll('*/', '*\\/').split('\n');
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`;
}

/** Whether a schema says what a value is (not only how it is validated). */
function shaped(schema) {
  if (typeof schema !== 'object' || schema === null) return false;
  return (
    'type' in schema ||
    '$ref' in schema ||
    'enum' in schema ||
    'const' in schema ||
    'properties' in schema ||
    ['oneOf', 'anyOf'].some((k) => Array.isArray(schema[k]) && schema[k].some(shaped))
  );
}

/** `a | b` with duplicates dropped; `never` for nothing. */
function union(types) {
  const unique = [...new Set(types)];
  return unique.length ? unique.join(' | ') : 'never';
}

/** Parenthesized when it is a union or intersection (for `T[]`). */
const atom = (type) => (/[|&]/.test(type) && !/^\{[\s\S]*\}$/.test(type) ? `(${type})` : type);

/** The TypeScript type of `schema`, its nested lines indented by `indent`. */
export function typeOf(schema, indent = '') {
  if (schema === true || schema === undefined) return 'unknown';
  if (schema === false) return 'never';
  if (schema.$ref) return schema.$ref.replace('#/components/schemas/', '');
  if ('const' in schema) return JSON.stringify(schema.const);
  if (schema.enum) return union(schema.enum.map((v) => JSON.stringify(v)));
  const alternatives = schema.oneOf ?? schema.anyOf;
  const own = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (alternatives?.some(shaped)) {
    const members = union(alternatives.filter(shaped).map((s) => typeOf(s, indent)));
    if (!own.length && !schema.properties) return members;
    return `${typeOf({ ...schema, oneOf: undefined, anyOf: undefined }, indent)} & (${members})`;
  }
  if (!own.length) return schema.properties ? objectOf(schema, indent) : 'unknown';
  return union(
    own.map((t) => {
      switch (t) {
        case 'null':
          return 'null';
        case 'string':
          return 'string';
        case 'integer':
        case 'number':
          return 'number';
        case 'boolean':
          return 'boolean';
        case 'array':
          return `${atom(typeOf(schema.items, indent))}[]`;
        case 'object':
          return objectOf(schema, indent);
        default:
          throw new Error(`api-types: unknown type ${t}`);
      }
    }),
  );
}

/** An object type: its properties (optional unless required), or a map. */
function objectOf(schema, indent) {
  const properties = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (!properties.length) {
    return extra === false ? '{}' : `{ [key: string]: ${typeOf(extra === undefined ? true : extra, indent)} }`;
  }
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  const lines = properties.map(
    ([name, s]) => `${doc(s.description, inner)}${inner}${key(name)}${required.has(name) ? '' : '?'}: ${typeOf(s, inner)};\n`,
  );
  // Without `additionalProperties: false` the object may hold more than it lists.
  if (extra !== false) lines.push(`${inner}[key: string]: ${typeOf(extra === undefined ? true : extra, inner)};\n`);
  return `{\n${lines.join('')}${indent}}`;
}

/** The declarations of the OpenAPI document `api`. */
export function declarations(api) {
  const out = [
    '// Generated by tools/api-types.mjs from crates/agentrace-server/src/http/api/openapi.json: do not',
    '// edit (`node tools/api-types.mjs` writes it again; tests/api-types.test.mjs fails when stale).',
    '// The API\'s data shapes, for the JSDoc of the dashboard: `Api.TraceTree`, `Api.Responses[\'/slos\']`.',
    '',
    'declare namespace Api {',
  ];
  for (const [name, schema] of Object.entries(api.components.schemas)) {
    const type = typeOf(schema, '  ');
    // An object with properties is an interface (named in tsc's messages), the rest aliases.
    const object = schema.type === 'object' && schema.properties && !schema.oneOf && !schema.anyOf;
    out.push(`${doc(schema.description, '  ')}  ${object ? `interface ${name} ${type}` : `type ${name} = ${type};`}`);
  }
  out.push('', '  /** The JSON answer of each GET path (without `/api/v1`). */', '  interface Responses {');
  for (const [path, operations] of Object.entries(api.paths)) {
    const schema = operations.get?.responses?.['200']?.content?.['application/json']?.schema;
    if (!schema) continue;
    out.push(`    ${JSON.stringify(path.slice(PREFIX.length))}: ${typeOf(schema, '    ')};`);
  }
  out.push('  }', '}', '');
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = declarations(JSON.parse(readFileSync(SOURCE, 'utf8')));
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(TARGET, 'utf8');
    } catch {
      // Missing: stale.
    }
    if (current !== text) {
      console.error('api-types: types/api.d.ts is stale: run node tools/api-types.mjs');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(TARGET, text);
    console.log(`api-types: wrote ${TARGET}`);
  }
}
