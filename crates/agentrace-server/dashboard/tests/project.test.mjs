import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keepProject, projectOf } from '../src/lib/project.js';

test('the URL names the project', () => {
  assert.equal(projectOf('?project=staging&from=1'), 'staging');
  assert.equal(projectOf('?from=1'), null);
  assert.equal(projectOf('?project='), null);
});

test('navigating keeps the project unless the link names one', () => {
  assert.equal(keepProject('/traces', 'staging'), '/traces?project=staging');
  assert.equal(keepProject('/traces?kind=llm', 'staging'), '/traces?kind=llm&project=staging');
  assert.equal(keepProject('/traces?project=default', 'staging'), '/traces?project=default');
  assert.equal(keepProject('/traces?kind=llm', null), '/traces?kind=llm');
});
