/**
 * The long chaos run, before a release: `npm run chaos -- --runs 10000`.
 * Runs the chaos suite (`test/chaos`) with every property taking `--runs`
 * schedules. `--seed` and `--path` replay a failure fast-check printed.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    path: { type: 'string' },
  },
});

const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs: expected a positive integer, got "${values.runs}"`);
  process.exit(2);
}

const env: NodeJS.ProcessEnv = { ...process.env, CHAOS_RUNS: String(runs) };
if (values.seed !== undefined) env.CHAOS_SEED = values.seed;
if (values.path !== undefined) env.CHAOS_PATH = values.path;

console.log(`chaos: ${runs} schedules per property${values.seed ? `, seed ${values.seed}` : ''}`);
const started = performance.now();
const child = spawn('npx', ['vitest', 'run', 'test/chaos'], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  console.log(`chaos: finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = code ?? (signal ? 1 : 0);
});
