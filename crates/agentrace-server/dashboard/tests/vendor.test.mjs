// node --test: the type check reads the vendored libraries' types from their npm packages at
// the versions vendor.json pins (package.json's devDependencies), so the page's modules and the
// types tsc checks them against are the same release.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (name) => JSON.parse(readFileSync(join(root, name), 'utf8'));

test('package.json installs each vendored library at its vendored version, the same tarball', () => {
  const { devDependencies } = read('package.json');
  const lock = read('package-lock.json');
  for (const pkg of read('vendor.json').packages) {
    assert.equal(devDependencies[pkg.name], pkg.version, `${pkg.name} in package.json`);
    const locked = lock.packages[`node_modules/${pkg.name}`];
    assert.equal(locked?.version, pkg.version, `${pkg.name} in package-lock.json`);
    assert.equal(locked?.integrity, pkg.integrity, `${pkg.name}: the lock's tarball is vendor.json's`);
  }
});

test('every development tool is pinned to one version', () => {
  for (const [name, version] of Object.entries(read('package.json').devDependencies)) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name}: ${version}`);
  }
});

test('each vendored module has its type declaration beside it', () => {
  for (const pkg of read('vendor.json').packages) {
    assert.ok(pkg.declarations && Object.keys(pkg.declarations).length, `${pkg.name}: declarations`);
    for (const file of Object.keys(pkg.declarations)) {
      assert.ok(existsSync(join(root, 'vendor', file)), `vendor/${file}: run cargo xtask dashboard vendor`);
      const module = file.replace(/\.d\.(m?)ts$/, (_, m) => (m ? '.mjs' : '.js'));
      assert.ok(Object.values(pkg.files).includes(module), `vendor/${file} declares vendor/${module}`);
    }
  }
});
