// Vendors the front-end libraries listed in vendor.json from the npm registry.
//
//   node tools/vendor.mjs          fetch, verify, write vendor/
//   node tools/vendor.mjs --check  fetch, verify, and fail if vendor/ differs
//
// Each package is fetched with `npm pack <name>@<version>` (the registry's tarball), its
// integrity compared with the pinned value, the listed files copied (source-map comments
// dropped, bare import specifiers rewritten as listed), and each module's one-line type
// declaration written beside it (`declarations`: the types of the same npm package, which
// package.json installs for tsc; rust-embed leaves them out). `cargo xtask dashboard` runs this.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'vendor.json'), 'utf8'));
const check = process.argv.includes('--check');
const work = mkdtempSync(join(tmpdir(), 'agentrace-vendor-'));
const out = check ? join(work, 'vendor') : join(root, 'vendor');

function fail(message) {
  console.error(`vendor: ${message}`);
  process.exitCode = 1;
}

/** Every file under `dir`, as paths relative to it. */
function walk(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

try {
  if (!check) rmSync(out, { recursive: true, force: true });
  for (const pkg of manifest.packages) {
    const spec = `${pkg.name}@${pkg.version}`;
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    )[0];
    const tarball = join(work, packed.filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pkg.integrity) {
      fail(`${spec}: integrity ${integrity} differs from the pinned ${pkg.integrity}`);
      continue;
    }
    const unpacked = join(work, `${packed.name.replace('/', '+')}`);
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    for (const [from, to] of Object.entries(pkg.files)) {
      let text = readFileSync(join(unpacked, 'package', from), 'utf8');
      text = text.replace(/^\/\/# sourceMappingURL=.*$/gm, '');
      for (const [search, replace] of pkg.rewrite?.[to] ?? []) {
        if (!text.includes(search)) fail(`${to}: nothing to rewrite: ${search}`);
        text = text.split(search).join(replace);
      }
      const target = join(out, to);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
    const declarations = Object.entries(pkg.declarations ?? {});
    for (const [to, text] of declarations) {
      const target = join(out, to);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, `// For the type check only (never served): the types of ${spec}, from package.json's devDependencies.\n${text}\n`);
    }
    console.log(`vendor: ${spec} (${Object.keys(pkg.files).length} files, ${declarations.length} type declarations)`);
  }
  if (check) {
    const committed = join(root, 'vendor');
    const names = new Set([...walk(out), ...walk(committed)]);
    for (const name of [...names].sort()) {
      const a = existsSync(join(out, name)) ? readFileSync(join(out, name)) : null;
      const b = existsSync(join(committed, name)) ? readFileSync(join(committed, name)) : null;
      if (a === null) fail(`vendor/${name} is not from vendor.json`);
      else if (b === null) fail(`vendor/${name} is missing: run cargo xtask dashboard vendor`);
      else if (!a.equals(b)) fail(`vendor/${name} differs from ${name} in its npm package`);
    }
    if (!process.exitCode) console.log(`vendor: ${names.size} files match their npm packages`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
