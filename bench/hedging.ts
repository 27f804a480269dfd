/**
 * Hedging: a provider whose answers take 50 ms, except 5 % that take 2 s.
 * p50, p99 and the extra requests sent, without hedging and with it. Real
 * local HTTP and the official `openai` client, through a router group of two
 * deployments of the same model (`ModelGroup.hedge`), each slow at random for
 * 5 % of its requests, the hedge going to the other one. The servers run in
 * a process of their own (bench/child-servers.ts), so that the latencies
 * measured are the client's and the network's, not the servers' work on
 * the same event loop. Compiled `dist/`, like the other benchmarks.
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type { HedgeOptions } from '../src/index.js';
import { createSeededRandom } from '../src/testing/prng.js';
import { startChildServers } from './child.js';
import { table } from './harness.js';
import { bw } from './library.js';

const FAST_MS = 50;
const SLOW_MS = 2_000;
const SLOW_SHARE = 0.05;
const CALLS = 1_000;
const CONCURRENCY = 5;
const RESULTS = new URL('./results/', import.meta.url);

/** mulberry32 from the testing kit, so that a count or a run is a fact about its seed. */
const seeded = createSeededRandom;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface HedgingRow {
  readonly config: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Requests sent beyond one per call, as a share of calls. */
  readonly extra: number;
  /** Loser requests the servers saw closed by the client. */
  readonly aborted: number;
}

interface ServerStats {
  readonly count: number;
  readonly clientCloses: number;
}

async function runOne(config: string, hedge: HedgeOptions | undefined, seed: number): Promise<HedgingRow> {
  const fakes = await startChildServers('slow-tailed', {
    seed,
    fastMs: FAST_MS,
    slowMs: SLOW_MS,
    slowShare: SLOW_SHARE,
  });
  const fetch = bw.createClassifyingFetch({ connectTimeoutMs: 2_000 });
  const pick = seeded(seed + 7);
  const router = bw.createRouter({
    groups: {
      chat: {
        // Picks a deployment at random for each call; a hedge goes to the other one.
        strategy: 'weighted',
        deployments: fakes.urls.map((baseURL, i) => ({
          id: `deployment-${i}`,
          provider: bw.createOpenAIProvider(new OpenAI({ apiKey: 'sk-bench', baseURL, fetch }), {
            model: 'gpt-bench',
          }),
        })),
        ...(hedge ? { hedge } : {}),
      },
    },
    random: pick,
    profile: 'llm',
  });
  const request = { messages: [{ role: 'user' as const, content: 'Say ok.' }] };
  const latencies: number[] = [];
  let won = 0;
  try {
    let next = 0;
    const worker = async () => {
      while (next++ < CALLS) {
        const t = performance.now();
        await router.chat(request);
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Let the servers see the last aborts.
    await new Promise((r) => setTimeout(r, 50));
    latencies.sort((x, y) => x - y);
    const stats = await fakes.stats<ServerStats[]>();
    const sent = stats[0]!.count + stats[1]!.count;
    won = stats[0]!.clientCloses + stats[1]!.clientCloses;
    return {
      config,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1)!,
      extra: (sent - CALLS) / CALLS,
      aborted: won,
    };
  } finally {
    await fakes.close();
  }
}

export async function hedgingBench(): Promise<{ rows: HedgingRow[]; text: string }> {
  const seed = 20_260_101;
  const rows = [
    await runOne('not hedged', undefined, seed),
    await runOne('hedged after 100 ms (fixed)', { afterMs: 100 }, seed),
    await runOne('hedged after p95 of recent latency', { percentile: 0.95, afterMs: 100 }, seed),
    await runOne('hedged after p90 of recent latency', { percentile: 0.9, afterMs: 100 }, seed),
    await runOne(
      'hedged after p90, budget 10 % and no minimum',
      { percentile: 0.9, afterMs: 100, minPerSecond: 0 },
      seed,
    ),
  ];
  const text = [
    `A router group of two deployments of one model, each answering in ${FAST_MS} ms except ${SLOW_SHARE * 100} % of requests in ${(SLOW_MS / 1000).toFixed(0)} s (seeded), ${CALLS} calls at concurrency ${CONCURRENCY}; the \`weighted\` strategy picks the deployment, a hedge goes to the other. Real local HTTP, the \`openai\` client, \`createRouter\` with the \`llm\` profile and the group's \`hedge\` (budget 10 % + 1/s, the defaults).`,
    '',
    table(
      ['config', 'p50 ms', 'p99 ms', 'max ms', 'p99 ÷ p50', 'extra requests', 'losers aborted'],
      rows.map((r) => [
        r.config,
        r.p50,
        r.p99,
        r.max,
        (r.p99 / r.p50).toFixed(2),
        `${(r.extra * 100).toFixed(1)} %`,
        r.aborted,
      ]),
    ),
    '',
    'Target: p99 ≤ 2.5 × p50 with ≤ 10 % extra requests.',
  ].join('\n');
  await writeFile(new URL('hedging.md', RESULTS), `${text}\n`);
  return { rows, text };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log((await hedgingBench()).text);
