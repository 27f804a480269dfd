/**
 * An outage and its recovery, side by side with the peers in one run.
 *
 * The dependency is in process: a function that takes 5 ms (a timer) and
 * fails every call that arrives in the first 3 s (HTTP 500), then recovers.
 * In process rather than over local HTTP so that what is measured is the
 * resilience library, not the loopback socket (local HTTP on this machine
 * tops out near 1 000 requests/s, below this load). 50 callers call it back
 * to back for 6 s, each call with a 2 s deadline; a caller yields one event
 * loop turn between calls, as real callers do, so that a contender that
 * fails at once cannot starve the others' timers.
 *
 * Every contender gets the same knobs where the libraries share a concept:
 * up to 5 attempts, exponential backoff from 100 ms capped at 1 s (each
 * library's own jitter), a breaker that opens after 5 consecutive failures
 * and admits a probe after `BREAK_MS`, and the 2 s deadline.
 */
import { writeFile } from 'node:fs/promises';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  noJitterGenerator,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import CircuitBreakerOpossum from 'opossum';
import pRetry from 'p-retry';
import { table } from './harness.js';
import { bw } from './library.js';

const LATENCY_MS = 5;
const OUTAGE_MS = 3_000;
const RUN_MS = 6_000;
const CALLERS = 50;
const DEADLINE_MS = 2_000;
const ATTEMPTS = 5;
const BACKOFF_MS = 100;
const BACKOFF_MAX_MS = 1_000;
const TRIP_AFTER = 5;
/**
 * How long an open breaker waits before it admits a probe: 100 ms, doubling
 * while the dependency stays down, to at most 180 ms, for the libraries that
 * can grow it (breakwater's `openMultiplier`, cockatiel's `halfOpenAfter`
 * backoff); opossum's `resetTimeout` is fixed at 100 ms. The cap is what
 * bounds the time from a recovery to the probe that sees it.
 */
const BREAK_MS = 100;
const BREAK_MAX_MS = 180;
/** Buckets of call endings in which "95 % success" is judged, and of attempts in the chart. */
const WINDOW_MS = 25;
const CHART_BIN_MS = 100;

const RESULTS = new URL('./results/', import.meta.url);

interface Call {
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
}

interface Run {
  readonly name: string;
  readonly attempts: number[];
  readonly calls: Call[];
}

type Dependency = () => Promise<string>;

interface Contender {
  readonly name: string;
  /** A caller's call through the contender, and what to release afterwards. */
  make(dep: Dependency): { call: () => Promise<unknown>; dispose?: () => void };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export const contenders: readonly Contender[] = [
  {
    name: 'breakwater (createPolicy)',
    make(dep) {
      const policy = bw.createPolicy(
        {
          extends: 'idempotent',
          name: 'outage',
          timeout: { attemptMs: 1_000, totalMs: DEADLINE_MS },
          retry: {
            maxAttempts: ATTEMPTS,
            backoff: {
              kind: 'exponential',
              initialMs: BACKOFF_MS,
              maxMs: BACKOFF_MAX_MS,
              multiplier: 2,
              jitter: 'full',
            },
          },
          breaker: {
            mode: 'consecutive',
            consecutiveFailures: TRIP_AFTER,
            openMs: BREAK_MS,
            openMultiplier: 2,
            maxOpenMs: BREAK_MAX_MS,
            // No fallback here: a call waits for the breaker within its deadline rather than fail at once.
            waitWhenOpen: true,
          },
        },
        { dependency: 'outage' },
      );
      return { call: () => policy.run(() => dep(), { deadlineMs: DEADLINE_MS }) };
    },
  },
  {
    name: 'cockatiel 3 (timeout, retry, breaker)',
    make(dep) {
      const policy = wrap(
        timeout(DEADLINE_MS, TimeoutStrategy.Aggressive),
        retry(handleAll, {
          maxAttempts: ATTEMPTS - 1,
          backoff: new ExponentialBackoff({ initialDelay: BACKOFF_MS, maxDelay: BACKOFF_MAX_MS }),
        }),
        circuitBreaker(handleAll, {
          halfOpenAfter: new ExponentialBackoff({
            initialDelay: BREAK_MS,
            maxDelay: BREAK_MAX_MS,
            generator: noJitterGenerator,
          }),
          breaker: new ConsecutiveBreaker(TRIP_AFTER),
        }),
      );
      return { call: () => policy.execute(() => dep()) };
    },
  },
  {
    name: 'opossum 9 under p-retry 7',
    make(dep) {
      const breaker = new CircuitBreakerOpossum(dep, {
        timeout: 1_000,
        resetTimeout: BREAK_MS,
        errorThresholdPercentage: 50,
        volumeThreshold: TRIP_AFTER,
        rollingCountTimeout: 1_000,
      });
      return {
        call: () =>
          pRetry(() => breaker.fire(), {
            retries: ATTEMPTS - 1,
            minTimeout: BACKOFF_MS,
            maxTimeout: BACKOFF_MAX_MS,
            randomize: true,
            maxRetryTime: DEADLINE_MS,
          }),
        dispose: () => breaker.shutdown(),
      };
    },
  },
  {
    name: 'p-retry 7 alone',
    make(dep) {
      return {
        call: () =>
          pRetry(dep, {
            retries: ATTEMPTS - 1,
            minTimeout: BACKOFF_MS,
            maxTimeout: BACKOFF_MAX_MS,
            randomize: true,
            maxRetryTime: DEADLINE_MS,
          }),
      };
    },
  },
];

async function runOne(c: Contender): Promise<Run> {
  const attempts: number[] = [];
  const calls: Call[] = [];
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const dep: Dependency = async () => {
    const at = now();
    attempts.push(at);
    await sleep(LATENCY_MS);
    if (at < OUTAGE_MS) throw Object.assign(new Error('HTTP 500'), { status: 500, headers: {} });
    return 'ok';
  };
  const { call, dispose } = c.make(dep);
  const caller = async () => {
    while (now() < RUN_MS) {
      const start = now();
      let ok = false;
      try {
        await call();
        ok = true;
      } catch {
        // A failed call: recorded below.
      }
      calls.push({ start, end: now(), ok });
      await turn();
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  dispose?.();
  return { name: c.name, attempts, calls };
}

export interface OutageRow {
  readonly contender: string;
  readonly amplification: number;
  readonly attemptsPerSecond: number;
  readonly firstSuccessMs: number | undefined;
  readonly successful95Ms: number | undefined;
  readonly successRate: number;
  readonly outageCallsSaved: number;
  readonly outageCalls: number;
  readonly calls: number;
}

function analyze(run: Run): OutageRow {
  const inOutage = run.attempts.filter((a) => a < OUTAGE_MS).length;
  const startedInOutage = run.calls.filter((c) => c.start < OUTAGE_MS);
  const firstOk = Math.min(...run.calls.filter((c) => c.ok && c.end >= OUTAGE_MS).map((c) => c.end));
  // 95 %: the first window after recovery from which every window's endings are at least 95 % successes.
  const windows = new Map<number, { ok: number; all: number }>();
  for (const c of run.calls) {
    if (c.end < OUTAGE_MS) continue;
    const w = Math.floor((c.end - OUTAGE_MS) / WINDOW_MS);
    const s = windows.get(w) ?? { ok: 0, all: 0 };
    s.all++;
    if (c.ok) s.ok++;
    windows.set(w, s);
  }
  const sorted = [...windows.entries()].sort((a, b) => a[0] - b[0]);
  let from: number | undefined;
  for (const [w, s] of sorted) {
    if (s.ok / s.all >= 0.95) from ??= w;
    else from = undefined;
  }
  // Calls started during the outage whose deadline reached past the recovery (plus one call's latency).
  const couldSucceed = startedInOutage.filter((c) => c.start + DEADLINE_MS > OUTAGE_MS + LATENCY_MS);
  return {
    contender: run.name,
    amplification: inOutage / Math.max(1, startedInOutage.length),
    attemptsPerSecond: inOutage / (OUTAGE_MS / 1_000),
    firstSuccessMs: Number.isFinite(firstOk) ? firstOk - OUTAGE_MS : undefined,
    // The end of the first good window: by then, at the latest, calls succeed at 95 %.
    successful95Ms: from === undefined ? undefined : (from + 1) * WINDOW_MS,
    successRate: run.calls.filter((c) => c.ok).length / Math.max(1, run.calls.length),
    outageCallsSaved: couldSucceed.filter((c) => c.ok).length / Math.max(1, couldSucceed.length),
    outageCalls: couldSucceed.length,
    calls: run.calls.length,
  };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** Attempts per second over time, one line per contender, on a log scale (the healthy load dwarfs the outage's). */
export function chart(runs: readonly Run[]): string {
  const W = 760;
  const H = 360;
  const left = 60;
  const right = 20;
  const top = 20;
  const bottom = 90;
  const bins = Math.ceil(RUN_MS / CHART_BIN_MS);
  const perSecond = (run: Run) => {
    const counts = new Array<number>(bins).fill(0);
    for (const a of run.attempts) {
      const b = Math.floor(a / CHART_BIN_MS);
      if (b >= 0 && b < bins) counts[b] = (counts[b] ?? 0) + 1;
    }
    return counts.map((n) => (n * 1_000) / CHART_BIN_MS);
  };
  const series = runs.map(perSecond);
  const max = Math.max(10, ...series.flat());
  const decades = Math.ceil(Math.log10(max));
  const x = (ms: number) => left + ((W - left - right) * ms) / RUN_MS;
  // Zero has no logarithm: a bin with no attempt sits on the axis, with the bins of 1/s or less.
  const y = (v: number) => top + (H - top - bottom) * (1 - Math.log10(Math.max(1, v)) / decades);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<rect x="${x(0)}" y="${top}" width="${x(OUTAGE_MS) - x(0)}" height="${H - top - bottom}" fill="#f3e5e5"/>`,
    `<text x="${x(OUTAGE_MS / 2)}" y="${top + 14}" text-anchor="middle" fill="#a33">dependency down</text>`,
    `<text x="${x(OUTAGE_MS) + 4}" y="${top + 14}" fill="#3a3">recovered</text>`,
  ];
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  for (let s = 0; s <= RUN_MS / 1_000; s++) {
    out.push(
      `<text x="${x(s * 1_000).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${s} s</text>`,
    );
  }
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="#333"/>`,
    `<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="#333"/>`,
    `<text x="14" y="${(top + H - bottom) / 2}" transform="rotate(-90 14 ${(top + H - bottom) / 2})" text-anchor="middle">attempts reaching the dependency per second (log)</text>`,
  );
  series.forEach((values, i) => {
    const points = values
      .map((v, b) => `${x(b * CHART_BIN_MS + CHART_BIN_MS / 2).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ');
    const color = COLORS[i % COLORS.length];
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${points}"/>`);
    const ly = H - bottom + 34 + 14 * i;
    out.push(
      `<line x1="${left}" x2="${left + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${left + 30}" y="${ly}">${runs[i]?.name ?? ''}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const ms = (v: number | undefined) => (v === undefined ? 'never' : `${Math.round(v)} ms`);
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** The outage scenario for every contender, as markdown; writes `results/outage.md` and `results/outage.svg`. */
export async function outageBench(): Promise<{ rows: OutageRow[]; text: string }> {
  const runs: Run[] = [];
  for (const c of contenders) {
    runs.push(await runOne(c));
    // Let the previous contender's stray timers (backoffs past the run) drain before the next one starts.
    await sleep(DEADLINE_MS + 100);
  }
  const rows = runs.map(analyze);
  const text = [
    `A dependency with ${LATENCY_MS} ms latency fails every call for ${OUTAGE_MS / 1_000} s, then recovers; ${CALLERS} callers call it back to back for ${RUN_MS / 1_000} s, each call with a ${DEADLINE_MS / 1_000} s deadline. Same knobs for all: ${ATTEMPTS} attempts, backoff ${BACKOFF_MS} ms → ${BACKOFF_MAX_MS} ms, breaker open after ${TRIP_AFTER} consecutive failures, first probe after ${BREAK_MS} ms, then every ${BREAK_MAX_MS} ms at most (opossum: every ${BREAK_MS} ms). breakwater waits for its breaker within the deadline (\`breaker.waitWhenOpen\`).`,
    '',
    table(
      [
        'contender',
        'attempts per call in outage',
        'attempts/s in outage',
        'recovery → 1st success',
        'recovery → 95 % success',
        'success, all calls',
        'success, outage calls whose deadline allows',
        'calls',
      ],
      rows.map((r) => [
        r.contender,
        r.amplification,
        r.attemptsPerSecond,
        ms(r.firstSuccessMs),
        ms(r.successful95Ms),
        pct(r.successRate),
        `${pct(r.outageCallsSaved)} of ${r.outageCalls}`,
        r.calls,
      ]),
    ),
    '',
    `"Recovery → 95 % success": the end of the first ${WINDOW_MS} ms window after the recovery from which, in every window to the end of the run, at least 95 % of the calls ending there succeed. "Outage calls whose deadline allows": calls started during the outage whose deadline falls after the recovery. Chart: outage.svg (attempts per second in ${CHART_BIN_MS} ms bins, log scale).`,
  ].join('\n');
  await writeFile(new URL('outage.md', RESULTS), `${text}\n`);
  await writeFile(new URL('outage.svg', RESULTS), chart(runs));
  return { rows, text };
}
