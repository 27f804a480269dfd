/**
 * Hedging: a provider whose answers take 50 ms, except 5 % that take 2 s.
 * p50, p99 and the extra requests sent, without hedging and with it. Real
 * local HTTP and the official `openai` client, through breakwater's OpenAI
 * provider and its hedger (`createHedger`); two deployments of the same
 * model, each slow at random for 5 % of its requests, the hedge going to the
 * other one. Compiled `dist/`, like the other benchmarks.
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type * as BuildingBlocks from '../src/building-blocks.js';
import type { HedgeOptions, Provider } from '../src/index.js';
import { openaiReplies, startFakeOpenAI } from '../test/fakes/openai-server.js';
import { table } from './harness.js';
import { bw } from './library.js';

const blocks: typeof BuildingBlocks = await import(
  new URL('../dist/building-blocks.js', import.meta.url).href
);

const FAST_MS = 50;
const SLOW_MS = 2_000;
const SLOW_SHARE = 0.05;
const CALLS = 1_000;
const CONCURRENCY = 5;
const RESULTS = new URL('./results/', import.meta.url);

/** A seeded generator (mulberry32), so both runs meet the same kind of luck. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  /** Of those, the hedges that answered first. */
  readonly won: number;
  /** Loser requests the servers saw closed by the client. */
  readonly aborted: number;
  /** Hedges the budget refused. */
  readonly denied: number;
}

async function deployments(seed: number) {
  const servers = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  for (const [i, s] of servers.entries()) {
    const random = seeded(seed + i);
    s.respond(() => openaiReplies.text('ok', random() < SLOW_SHARE ? SLOW_MS : FAST_MS));
  }
  const fetch = bw.createClassifyingFetch({ connectTimeoutMs: 2_000 });
  const providers = servers.map((s, i) =>
    bw.createOpenAIProvider(new OpenAI({ apiKey: 'sk-bench', baseURL: s.baseURL, fetch }), {
      model: `gpt-bench-${i}`,
    }),
  ) as [Provider, Provider];
  return { servers, providers };
}

async function runOne(config: string, hedge: HedgeOptions | undefined, seed: number): Promise<HedgingRow> {
  const { servers, providers } = await deployments(seed);
  const hedger = hedge ? blocks.createHedger(hedge, { clock: blocks.systemClock }) : undefined;
  const request = { messages: [{ role: 'user' as const, content: 'Say ok.' }] };
  const latencies: number[] = [];
  try {
    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        const i = next++;
        // The group's strategy, here round robin: the primary alternates, the hedge goes to the other.
        const primary = providers[i % 2]!;
        const other = providers[(i + 1) % 2]!;
        const t = performance.now();
        if (hedger)
          await hedger.run((signal) => primary.chat(request, { signal }), {
            alternative: () => (signal) => other.chat(request, { signal }),
          });
        else await primary.chat(request);
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Let the servers see the last aborts.
    await new Promise((r) => setTimeout(r, 50));
    latencies.sort((a, b) => a - b);
    const sent = servers[0]!.count + servers[1]!.count;
    return {
      config,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1)!,
      extra: (sent - CALLS) / CALLS,
      won: hedger?.stats().won ?? 0,
      denied: hedger?.stats().denied ?? 0,
      aborted: servers[0]!.clientCloses + servers[1]!.clientCloses,
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

export async function hedgingBench(): Promise<{ rows: HedgingRow[]; text: string }> {
  const seed = 20_260_101;
  const rows = [
    await runOne('not hedged', undefined, seed),
    await runOne('hedged after 100 ms (fixed)', { afterMs: 100 }, seed),
    await runOne('hedged after p95 of recent latency', { percentile: 0.95, afterMs: 100 }, seed),
    await runOne('hedged after p90 of recent latency', { percentile: 0.9, afterMs: 100 }, seed),
  ];
  const text = [
    `Two deployments of one model, each answering in ${FAST_MS} ms except ${SLOW_SHARE * 100} % of requests in ${(SLOW_MS / 1000).toFixed(0)} s (seeded), ${CALLS} calls at concurrency ${CONCURRENCY}, the primary alternating between them and the hedge going to the other. Real local HTTP and the \`openai\` client through breakwater's OpenAI provider and \`createHedger\` (budget 10 % + 1/s, the defaults).`,
    '',
    table(
      [
        'config',
        'p50 ms',
        'p99 ms',
        'max ms',
        'p99 ÷ p50',
        'extra requests',
        'hedges won',
        'losers aborted',
        'over budget',
      ],
      rows.map((r) => [
        r.config,
        r.p50,
        r.p99,
        r.max,
        (r.p99 / r.p50).toFixed(2),
        `${(r.extra * 100).toFixed(1)} %`,
        r.won,
        r.aborted,
        r.denied,
      ]),
    ),
    '',
    'Target: p99 ≤ 2.5 × p50 with ≤ 10 % extra requests.',
  ].join('\n');
  await writeFile(new URL('hedging.md', RESULTS), `${text}\n`);
  return { rows, text };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log((await hedgingBench()).text);
