import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, onTestFinished } from 'vitest';

const script = `
import { createPolicy } from ${JSON.stringify(fileURLToPath(new URL('../../src/index.ts', import.meta.url)))};
// Timers that would each hold the process for a minute if any outlived its operation:
// attempt timeouts, the deadline, a backoff cut short, a gate queue wait, a 429 cooldown.
const policy = createPolicy({ timeout: { attemptMs: 60_000, totalMs: 120_000 }, breaker: { windowMs: 120_000 }, gate: { concurrency: 1 } });
await policy.run(async () => 'ok');
let n = 0;
await policy.run(async () => { if (n++ === 0) throw Object.assign(new Error('x'), { status: 503, headers: { 'retry-after': '0' } }); return 1; });
await Promise.all([policy.run(async () => 1), policy.run(async () => 2)]);
await policy.run(async () => { throw Object.assign(new Error('x'), { status: 429, headers: { 'retry-after': '50' } }); }).catch(() => {});
const ctrl = new AbortController();
const p = policy.run(async () => { throw Object.assign(new Error('x'), { status: 500, headers: {} }); }, { signal: ctrl.signal }).catch(() => {});
setTimeout(() => ctrl.abort(), 5);
await p;
console.log('done');
`;

it('a process that ran policies exits by itself right after its last call', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bw-exit-')), 'run.mjs');
  writeFileSync(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    child.kill();
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // A leaked timer would hold the child for a minute; the test's own timeout is the only clock here.
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(err).toBe('');
  expect(out.trim()).toBe('done');
  expect(code).toBe(0);
}, 8_000);
