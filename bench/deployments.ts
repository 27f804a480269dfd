/**
 * Benchmark 3 (issue 16): one to four deployments of one model, each an API
 * key of the rate-limited local LLM server (test/fakes/rate-limited-llm.ts)
 * allowed `RATE` requests in any one-second window (a sliding window: a burst
 * of `RATE`, then `RATE` per second), with OpenAI's real `x-ratelimit-*`
 * headers on every answer and a 429 with `retry-after-ms` beyond the limit.
 * `CALLS_PER` × N chat calls at concurrency `CONCURRENCY_PER` × N go through
 * one router group per strategy, the deployments configured with no limits:
 * what a quota knows, it reads from the headers.
 *
 * Throughput is what the server admitted in whole one-second windows after
 * the first (the bursts, before any header, are not pacing): from one
 * window after its first admission, over as many whole windows as the run
 * fills, so that a pacer keeping every window full scores N × RATE, and no
 * pacer can score more (the server admits at most RATE per key in any
 * window). Calls over the wall time are shown beside it: that figure also
 * pays for the run's last window, which a single place lost anywhere in the
 * run pushes a whole second later.
 *
 * Target: at least 0.95 × N × 20/s with the quota-aware strategy
 * (`most-quota`), and no deployment pushed into 429s.
 */
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type { StrategyName } from '../src/providers/index.js';
import type { KeyStats } from '../test/fakes/rate-limited-llm.js';
import { startChildServers } from './child.js';
import { table } from './harness.js';
import { bw } from './library.js';

const RATE = 20;
const WINDOW_MS = 1_000;
const CALLS_PER = 120;
const CONCURRENCY_PER = 10;
const STRATEGIES: readonly StrategyName[] = [
  'ordered',
  'weighted',
  'least-in-flight',
  'lowest-latency',
  'most-quota',
];

export interface DeploymentsRow {
  readonly strategy: StrategyName;
  readonly deployments: number;
  readonly wallS: number;
  /** Admitted per second over whole windows after the first (see the header). */
  readonly throughput: number;
  /** (Successes − N × RATE) / wall time. */
  readonly overWall: number;
  readonly limited: number;
  readonly worst429: number;
  readonly giveUps: number;
}

const messages = [{ role: 'user' as const, content: 'Say ok.' }];

async function scenario(strategy: StrategyName, n: number): Promise<DeploymentsRow> {
  // In a process of its own: the server's work would stretch every burst the client sends.
  const server = await startChildServers('rate-limited', {
    dialect: 'openai',
    requests: RATE,
    requestsWindowMs: WINDOW_MS,
  });
  const baseURL = server.urls[0]!;
  try {
    const fetch = bw.createClassifyingFetch({ connectTimeoutMs: 10_000 });
    const keys = Array.from({ length: n }, (_, i) => `sk-bench-${i + 1}`);
    const router = bw.createRouter({
      groups: {
        bench: {
          strategy,
          deployments: keys.map((apiKey, i) => ({
            id: `d${i + 1}`,
            provider: bw.createOpenAIProvider(new OpenAI({ apiKey, baseURL, maxRetries: 0, fetch }), {
              model: 'gpt-bench',
            }),
          })),
        },
      },
      profile: 'llm',
    });
    const calls = CALLS_PER * n;
    let next = 0;
    let giveUps = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < calls) {
        next++;
        try {
          await router.chat({ messages, maxTokens: 16 });
        } catch {
          giveUps++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY_PER * n }, worker));
    const wallS = (performance.now() - t0) / 1000;
    const stats = await Promise.all(keys.map((k) => server.stats<KeyStats>(k)));
    const limited = stats.map((s) => s.limited);
    return {
      strategy,
      deployments: n,
      wallS,
      throughput: wholeWindows(stats.flatMap((s) => s.admittedAt).sort((a, b) => a - b)),
      overWall: (calls - giveUps - n * RATE) / wallS,
      limited: limited.reduce((a, b) => a + b, 0),
      worst429: Math.max(...limited),
      giveUps,
    };
  } finally {
    await server.close();
  }
}

/** Admissions per second over whole windows, from one window after the first admission. */
function wholeWindows(admitted: readonly number[]): number {
  if (admitted.length === 0) return 0;
  const from = admitted[0]! + WINDOW_MS;
  const windows = Math.floor((admitted[admitted.length - 1]! - from) / WINDOW_MS);
  if (windows < 1) return 0;
  const to = from + windows * WINDOW_MS;
  const inside = admitted.filter((t) => t >= from && t < to).length;
  return inside / ((windows * WINDOW_MS) / 1_000);
}

/** Throughput by strategy and number of deployments, as a printable markdown table. */
export async function deploymentsBench(
  only: { readonly strategies?: readonly StrategyName[]; readonly counts?: readonly number[] } = {},
): Promise<{ rows: DeploymentsRow[]; text: string }> {
  const rows: DeploymentsRow[] = [];
  for (const n of only.counts ?? [1, 2, 3, 4])
    for (const s of only.strategies ?? STRATEGIES) rows.push(await scenario(s, n));
  const text = table(
    [
      'deployments',
      'strategy',
      'wall s',
      'throughput /s (whole windows)',
      'of N × 20/s',
      'calls /s over wall',
      '429s (all)',
      '429s (worst deployment)',
      'give-ups',
    ],
    rows.map((r) => [
      r.deployments,
      r.strategy,
      r.wallS,
      r.throughput,
      `${((r.throughput / (r.deployments * RATE)) * 100).toFixed(0)} %`,
      r.overWall,
      r.limited,
      r.worst429,
      r.giveUps,
    ]),
  );
  return {
    rows,
    text: `${CALLS_PER} × N chat calls at concurrency ${CONCURRENCY_PER} × N; each deployment (an API key) allowed ${RATE} requests in any one-second window; throughput is what the server admitted over whole windows after the first.\n\n${text}\n\n${verdict(rows)}`,
  };
}

/** The target: most-quota at ≥ 0.95 × N × 20/s for every N, with no 429 and no give-up. */
function verdict(rows: readonly DeploymentsRow[]): string {
  const ours = rows.filter((r) => r.strategy === 'most-quota');
  const met = ours.every(
    (r) => r.throughput >= 0.95 * r.deployments * RATE && r.limited === 0 && r.giveUps === 0,
  );
  return `most-quota at ≥ 0.95 × N × ${RATE}/s for N = 1..4, no 429s, no give-ups: ${met ? 'yes' : 'NO'}`;
}

// `npm run build && npx tsx bench/deployments.ts [strategy…] [N…]` prints this table alone (or some rows of it).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const strategies = args.filter((a): a is StrategyName => (STRATEGIES as readonly string[]).includes(a));
  const counts = args.map(Number).filter((n) => Number.isInteger(n) && n >= 1);
  console.log(
    (
      await deploymentsBench({
        ...(strategies.length > 0 ? { strategies } : {}),
        ...(counts.length > 0 ? { counts } : {}),
      })
    ).text,
  );
}
