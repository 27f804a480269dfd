/**
 * `require('breakwater')` from a CommonJS file: Node >= 20.19 loads an ES
 * module through require() when the exports map offers a `default` condition.
 * The package is built into a scratch folder that holds its package.json, so
 * the .cjs file reaches it by name through the package's own exports map.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let scratch = '';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'breakwater-require-'));
  cpSync(join(ROOT, 'package.json'), join(scratch, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  await run(process.execPath, [
    tsc,
    '-p',
    join(ROOT, 'tsconfig.build.json'),
    '--outDir',
    join(scratch, 'dist'),
  ]);
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('require() from CommonJS', () => {
  it('loads the root entry and the Redis entry, and a policy runs', async () => {
    const file = join(scratch, 'consumer.cjs');
    writeFileSync(
      file,
      [
        "const breakwater = require('breakwater');",
        "const { createRedisStore } = require('breakwater/redis');",
        "const policy = breakwater.createPolicy('idempotent', { dependency: 'cjs' });",
        'policy.run(async () => 42).then((value) => {',
        '  console.log(JSON.stringify({ value, createRedisStore: typeof createRedisStore, isError: typeof breakwater.isBreakwaterError }));',
        '});',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [file], { cwd: scratch });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({
      value: 42,
      createRedisStore: 'function',
      isError: 'function',
    });
  }, 60_000);

  it('is offered a `default` condition by every entry of the exports map', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(target.default, `exports["${entry}"].default`).toBe(target.import);
    }
  });
});
