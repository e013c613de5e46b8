// `agentrace serve` as a child process: the binary the suite was built with (AGENTRACE_BIN,
// else target/debug/agentrace), a fresh data directory, every port chosen by the system and
// read back from the startup banner. With AGENTRACE_TEST_CLICKHOUSE (the URL of a ClickHouse
// HTTP interface), each server stores in a fresh database there instead of SQLite.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function binary() {
  return process.env.AGENTRACE_BIN ?? join(ROOT, 'target', 'debug', 'agentrace');
}

/**
 * Starts a server with extra `args` (e.g. `['--demo']`) and environment, its app on `appPort`
 * (default: one the system chooses); resolves with `{ app, otlpHttp, dataDir, stop() }` once
 * its banner is printed and it answers /readyz.
 */
export async function startServer({ args = [], env = {}, appPort = 0 } = {}) {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`no agentrace binary at ${bin}: cargo build -p agentrace-cli (or set AGENTRACE_BIN)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'agentrace-browser-'));
  const clickhouse = process.env.AGENTRACE_TEST_CLICKHOUSE;
  const store = clickhouse
    ? ['--store', `clickhouse://${clickhouse.replace(/^http:\/\//, '')}/browser_${randomBytes(6).toString('hex')}`]
    : [];
  const child = spawn(
    bin,
    ['serve', '--data-dir', dataDir, ...store, '--app-port', String(appPort), '--otlp-http-port', '0', '--otlp-grpc-port', '0', ...args],
    { env: { ...process.env, AGENTRACE_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no banner in 60 s:\n${out}\n${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const app = /dashboard\s+(http:\/\/\S+?)\/?\s/.exec(out);
      const otlp = /OTLP\/HTTP\s+(http:\/\/\S+)/.exec(out);
      if (app && otlp) {
        clearTimeout(timer);
        resolve({ app: app[1].replace(/\/$/, ''), otlpHttp: otlp[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${out}\n${err}`));
    });
  });
  for (let i = 0; i < 200; i += 1) {
    const ready = await fetch(`${banner.app}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...banner,
    dataDir,
    log: () => err,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** GET a JSON path of the API (with `headers`, e.g. a token). */
export async function api(server, path, headers = {}) {
  const response = await fetch(`${server.app}/api/v1${path}`, { headers });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}
