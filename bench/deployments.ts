/**
 * Benchmark 3 (issue 16): one to four deployments of one model, each behind a
 * local OpenAI-compatible server that allows `RATE` requests per second (a
 * token bucket with a burst of `BURST`, as in the rate-limit benchmark) and
 * says so in OpenAI's `x-ratelimit-*` headers, answering 429 with
 * `retry-after-ms` beyond it. `CALLS_PER` × N chat calls at concurrency
 * `CONCURRENCY_PER` × N go through one router group per strategy.
 *
 * Throughput is counted after the bursts: (successes − N × BURST) / wall
 * time, so that a perfect pacer scores exactly N × RATE.
 *
 * Target: at least 0.95 × N × 20/s with the quota-aware strategy
 * (`most-quota`), and no deployment pushed into 429s.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type { StrategyName } from '../src/providers/index.js';
import { table } from './harness.js';
import { bw } from './library.js';

const RATE = 20;
const BURST = 20;
const CALLS_PER = 80;
const CONCURRENCY_PER = 10;
const STRATEGIES: readonly StrategyName[] = [
  'ordered',
  'weighted',
  'least-in-flight',
  'lowest-latency',
  'most-quota',
];

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-bench',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});

const RATE_LIMITED = JSON.stringify({
  error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' },
});

interface LimitedServer {
  readonly baseURL: string;
  readonly served: () => number;
  readonly limited: () => number;
  close(): Promise<void>;
}

/** `RATE` requests per second with a burst of `BURST`; every answer carries the bucket's headers. */
async function startLimitedServer(): Promise<LimitedServer> {
  let tokens = BURST;
  let last = performance.now();
  let served = 0;
  let limited = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      tokens = Math.min(BURST, tokens + ((now - last) * RATE) / 1000);
      last = now;
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      // OpenAI's reset: until the limit is back to its initial state (the bucket full).
      const resetMs = Math.max(1, Math.ceil(((BURST - tokens) * 1000) / RATE));
      const headers = {
        'content-type': 'application/json',
        'x-ratelimit-limit-requests': String(BURST),
        'x-ratelimit-remaining-requests': String(Math.floor(tokens)),
        'x-ratelimit-reset-requests': `${resetMs}ms`,
      };
      if (ok) {
        served++;
        res.writeHead(200, headers);
        res.end(COMPLETION);
        return;
      }
      limited++;
      const waitMs = Math.ceil(((1 - tokens) * 1000) / RATE);
      res.writeHead(429, { ...headers, 'retry-after-ms': String(waitMs) });
      res.end(RATE_LIMITED);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    served: () => served,
    limited: () => limited,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface DeploymentsRow {
  readonly strategy: StrategyName;
  readonly deployments: number;
  readonly wallS: number;
  readonly throughput: number;
  readonly limited: number;
  readonly worst429: number;
  readonly giveUps: number;
}

const messages = [{ role: 'user' as const, content: 'Say ok.' }];

async function scenario(strategy: StrategyName, n: number): Promise<DeploymentsRow> {
  const servers = await Promise.all(Array.from({ length: n }, startLimitedServer));
  try {
    const fetch = bw.createClassifyingFetch({ connectTimeoutMs: 10_000 });
    const router = bw.createRouter({
      groups: {
        bench: {
          strategy,
          deployments: servers.map((s, i) => ({
            id: `d${i + 1}`,
            provider: bw.createOpenAIProvider(
              new OpenAI({ apiKey: 'sk-bench', baseURL: s.baseURL, maxRetries: 0, fetch }),
              {
                model: 'gpt-bench',
              },
            ),
            limits: { rpm: RATE * 60 },
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
          await router.chat({ messages });
        } catch {
          giveUps++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY_PER * n }, worker));
    const wallS = (performance.now() - t0) / 1000;
    const limited = servers.map((s) => s.limited());
    return {
      strategy,
      deployments: n,
      wallS,
      throughput: (calls - giveUps - n * BURST) / wallS,
      limited: limited.reduce((a, b) => a + b, 0),
      worst429: Math.max(...limited),
      giveUps,
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** Throughput by strategy and number of deployments, as a printable markdown table. */
export async function deploymentsBench(): Promise<{ rows: DeploymentsRow[]; text: string }> {
  const rows: DeploymentsRow[] = [];
  for (let n = 1; n <= 4; n++) for (const s of STRATEGIES) rows.push(await scenario(s, n));
  const text = table(
    [
      'deployments',
      'strategy',
      'wall s',
      'throughput /s',
      'of N × 20/s',
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
      r.limited,
      r.worst429,
      r.giveUps,
    ]),
  );
  return {
    rows,
    text: `${CALLS_PER} × N chat calls at concurrency ${CONCURRENCY_PER} × N; each deployment's server allows ${RATE} requests/s with a burst of ${BURST}; throughput counted after the bursts.\n\n${text}\n\n${verdict(rows)}`,
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

// `npm run build && npx tsx bench/deployments.ts` prints this table alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  console.log((await deploymentsBench()).text);
