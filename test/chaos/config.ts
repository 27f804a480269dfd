/**
 * How long the chaos suite runs and how a failure is reproduced.
 *
 * - `CHAOS_RUNS=n` (or `npm run chaos -- --runs n`): schedules per property,
 *   for the long before-release run. The default keeps `npm test` fast.
 * - `CHAOS_SEED=s` and `CHAOS_PATH=p`: replay the schedule fast-check printed
 *   when a property failed (it prints `seed` and `path` with the counterexample).
 */
import type { Parameters } from 'fast-check';

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${name}: expected a positive integer, got "${raw}"`);
  return n;
}

const RUNS = positiveInt('CHAOS_RUNS', process.env.CHAOS_RUNS);
const SEED = process.env.CHAOS_SEED === undefined ? undefined : Number(process.env.CHAOS_SEED);
const PATH = process.env.CHAOS_PATH;

/** True in the long run: properties then take every schedule they are given. */
export const LONG_RUN = RUNS !== undefined;

/**
 * Schedules for one property. `share` scales the long run for properties
 * that cost more per schedule (real sockets), so that `--runs 10000` means
 * 10 000 schedules of the cheap, in-process stack and a stated fraction of
 * the socket-bound one.
 */
export function runsFor(defaultRuns: number, share = 1): number {
  return RUNS === undefined ? defaultRuns : Math.max(1, Math.round(RUNS * share));
}

/** fast-check parameters: the run count, and the seed and path to replay when given. */
export function params<T>(numRuns: number): Parameters<T> {
  return {
    numRuns,
    ...(SEED !== undefined && Number.isFinite(SEED) ? { seed: SEED } : {}),
    ...(PATH ? { path: PATH } : {}),
  };
}

/** A vitest timeout that grows with the run count: `perRunMs` per schedule, never under `minMs`. */
export function timeoutFor(numRuns: number, perRunMs: number, minMs = 20_000): number {
  return Math.max(minMs, numRuns * perRunMs);
}

/**
 * How late an operation may end after its deadline, in milliseconds of the
 * clock it was given. The in-process stack and the socket-bound stack both
 * run on clocks that only the test moves (a virtual clock; a step clock that
 * moves only while no request is in flight), so the deadline is exact: a
 * late end is a policy bug, never scheduling noise.
 */
export const DEADLINE_TOLERANCE_MS = 0;

/** Unhandled rejections seen while a schedule ran: every one is a violation. */
export function watchUnhandledRejections(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  return {
    seen,
    stop: () => {
      process.off('unhandledRejection', onRejection);
    },
  };
}

/** A small seeded generator (mulberry32) for the policies' jitter, so that a schedule replays exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
