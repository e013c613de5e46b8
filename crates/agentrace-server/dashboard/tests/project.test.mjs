import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keepProject, onProjectsChanged, projectOf, projectsChanged, shownProject } from '../src/lib/project.js';

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

test('the project shown: the URL\'s, else default, else the only one a project\'s key sees', () => {
  assert.equal(shownProject('staging', [{ name: 'default' }]), 'staging');
  assert.equal(shownProject(null, [{ name: 'alpha' }, { name: 'default' }]), 'default');
  assert.equal(shownProject(null, [{ name: 'checkout' }]), 'checkout');
  assert.equal(shownProject(null, null), 'default');
  assert.equal(shownProject(null, []), 'default');
});

test('the switcher hears of projects created, renamed and deleted until it stops listening', () => {
  let heard = 0;
  const stop = onProjectsChanged(() => {
    heard += 1;
  });
  projectsChanged();
  projectsChanged();
  stop();
  projectsChanged();
  assert.equal(heard, 2);
});
