// node --test: the API's writing calls (src/lib/api.js) against a stand-in fetch: one shared
// function for POST, PUT, PATCH and DELETE, JSON in and out, 204 as null, the server's message
// on a refusal.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { ApiError, patch, post, put, remove, send } from '../src/lib/api.js';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Replaces fetch with one answering `status` and `body`, and records the requests. */
function answer(status, body) {
  const calls = [];
  globalThis.fetch = async (url, init) => {
    calls.push({ url, ...init });
    return new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      statusText: status === 400 ? 'Bad Request' : '',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
  };
  return calls;
}

test('each writing method sends its JSON to the API and resolves with the answer', async () => {
  const setting = { kind: 'retention', document: { spans: { max_age: '7d' } } };
  for (const [call, method, body] of [
    [() => put('/settings/retention', { spans: { max_age: '7d' } }), 'PUT', '{"spans":{"max_age":"7d"}}'],
    [() => patch('/projects/alpha', { name: 'beta' }), 'PATCH', '{"name":"beta"}'],
    [() => post('/keys', { scope: 'read' }), 'POST', '{"scope":"read"}'],
    [() => send('POST', '/auth/logout', {}), 'POST', '{}'],
  ]) {
    const calls = answer(200, setting);
    assert.deepEqual(await call(), setting, method);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].method, method);
    assert.equal(calls[0].body, body);
    assert.equal(calls[0].headers['content-type'], 'application/json');
    assert.equal(calls[0].credentials, 'same-origin');
    assert.match(calls[0].url, /^\/api\/v1\//);
  }
});

test('POST without a body sends {}; DELETE sends none', async () => {
  let calls = answer(204);
  assert.equal(await post('/auth/logout'), null);
  assert.equal(calls[0].body, '{}');
  calls = answer(204);
  assert.equal(await remove('/projects/alpha/keys/7'), null, '204: null');
  assert.equal(calls[0].method, 'DELETE');
  assert.equal(calls[0].url, '/api/v1/projects/alpha/keys/7');
  assert.equal(calls[0].body, undefined);
  assert.equal(calls[0].headers['content-type'], undefined);
  answer(201);
  assert.equal(await post('/auth/invitation', { token: 't', name: 'Dan', password: 'p' }), null, '201 without a body: null');
});

test("a refusal rejects with the server's status, code and message", async () => {
  const message = 'the retention document is invalid: spans.max_age "soon": "soon" is not a duration';
  answer(400, { error: { code: 'bad_request', message } });
  await assert.rejects(put('/settings/retention', { spans: { max_age: 'soon' } }), (e) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'bad_request');
    assert.equal(e.message, message);
    return true;
  });
  answer(403, { error: { code: 'forbidden', message: "this credential's scope is `read`: this request needs scope `admin`" } });
  await assert.rejects(remove('/keys/3'), { status: 403, message: "this credential's scope is `read`: this request needs scope `admin`" });
  answer(400, 'not json');
  await assert.rejects(patch('/projects/a', { name: 'B' }), { status: 400, code: 'http_error', message: '400 Bad Request' });
});
