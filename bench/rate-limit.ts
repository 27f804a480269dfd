/**
 * A rate-limited provider under load: a local OpenAI-compatible server that
 * allows `RATE` requests per second (a token bucket with a burst of `BURST`)
 * and answers 429 beyond it; 200 chat calls at concurrency 20, made through
 * (a) the `openai` client with its own retries and (b) breakwater's router
 * over the same client, once with the server sending `retry-after-ms` and
 * once with only `retry-after: 1`.
 *
 * The best possible finish is (calls − burst) / rate = 9.0 s: the burst is
 * served at once, then one call per 1/rate.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type * as Providers from '../src/providers/index.js';
import { table } from './harness.js';
import { bw } from './library.js';

// The router is not exported from the package root yet; load it from the same build.
const providersUrl = new URL('../dist/providers/index.js', import.meta.url);
const providers: typeof Providers = await import(providersUrl.href);

const RATE = 20;
const BURST = 20;
const CALLS = 200;
const CONCURRENCY = 20;
const BEST_S = (CALLS - BURST) / RATE;

type HeaderStyle = 'retry-after-ms' | 'retry-after: 1';

interface LimitedServer {
  readonly baseURL: string;
  readonly limited: () => number;
  close(): Promise<void>;
}

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

async function startLimitedServer(style: HeaderStyle): Promise<LimitedServer> {
  let tokens = BURST;
  let last = performance.now();
  let limited = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      tokens = Math.min(BURST, tokens + ((now - last) * RATE) / 1000);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(COMPLETION);
        return;
      }
      limited++;
      const waitMs = Math.ceil(((1 - tokens) * 1000) / RATE);
      const headers: Record<string, string> =
        style === 'retry-after-ms' ? { 'retry-after-ms': String(waitMs) } : { 'retry-after': '1' };
      res.writeHead(429, { 'content-type': 'application/json', ...headers });
      res.end(RATE_LIMITED);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    limited: () => limited,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RateLimitRow {
  readonly contender: string;
  readonly headers: HeaderStyle;
  readonly wallS: number;
  readonly limited: number;
  readonly giveUps: number;
  readonly goodput: number;
}

/** Runs `CALLS` calls through `call` with `CONCURRENCY` workers; counts the calls that threw. */
async function load(call: () => Promise<unknown>): Promise<{ wallS: number; giveUps: number }> {
  let next = 0;
  let giveUps = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < CALLS) {
      next++;
      try {
        await call();
      } catch {
        giveUps++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { wallS: (performance.now() - t0) / 1000, giveUps };
}

const messages = [{ role: 'user' as const, content: 'Say ok.' }];

async function scenario(
  contender: 'openai client (maxRetries 2)' | 'breakwater router (llm profile)',
  style: HeaderStyle,
): Promise<RateLimitRow> {
  const server = await startLimitedServer(style);
  try {
    let call: () => Promise<unknown>;
    if (contender === 'openai client (maxRetries 2)') {
      const client = new OpenAI({ apiKey: 'sk-bench', baseURL: server.baseURL });
      call = () => client.chat.completions.create({ model: 'gpt-bench', messages });
    } else {
      const client = new OpenAI({
        apiKey: 'sk-bench',
        baseURL: server.baseURL,
        maxRetries: 0,
        fetch: bw.createClassifyingFetch({ connectTimeoutMs: 10_000 }),
      });
      const router = providers.createRouter({
        providers: [providers.createOpenAIProvider(client, { model: 'gpt-bench' })],
        profile: 'llm',
      });
      call = () => router.chat({ messages });
    }
    const { wallS, giveUps } = await load(call);
    return {
      contender,
      headers: style,
      wallS,
      limited: server.limited(),
      giveUps,
      goodput: (CALLS - giveUps) / wallS,
    };
  } finally {
    await server.close();
  }
}

/** The scenario of issue 4, as a printable markdown table. */
export async function rateLimitBench(): Promise<{ rows: RateLimitRow[]; text: string }> {
  const rows: RateLimitRow[] = [];
  for (const style of ['retry-after-ms', 'retry-after: 1'] as const) {
    rows.push(await scenario('openai client (maxRetries 2)', style));
    rows.push(await scenario('breakwater router (llm profile)', style));
  }
  const text = table(
    [
      'contender',
      'server sends',
      'wall s',
      `vs best ${BEST_S.toFixed(1)} s`,
      '429s received',
      'give-ups',
      'goodput /s',
      'of what the limit allowed',
    ],
    rows.map((r) => [
      r.contender,
      r.headers,
      r.wallS,
      `${r.wallS >= BEST_S ? '+' : ''}${(((r.wallS - BEST_S) / BEST_S) * 100).toFixed(1)} %`,
      r.limited,
      r.giveUps,
      r.goodput,
      // Successes over what the server would have accepted in that wall time: the burst plus the rate.
      `${(((CALLS - r.giveUps) / (BURST + RATE * r.wallS)) * 100).toFixed(0)} %`,
    ]),
  );
  return {
    rows,
    text: `${CALLS} calls, concurrency ${CONCURRENCY}, server limit ${RATE}/s with a burst of ${BURST}.\n\n${text}\n\n${verdict(rows)}`,
  };
}

/** The router's target (issue 13): within 5 % of the best finish, no give-ups, fewer than 40 429s, both header styles. */
function verdict(rows: readonly RateLimitRow[]): string {
  const ours = rows.filter((r) => r.contender === 'breakwater router (llm profile)');
  const met = ours.every((r) => r.wallS <= BEST_S * 1.05 && r.giveUps === 0 && r.limited < 40);
  return `breakwater within 5 % of ${BEST_S.toFixed(1)} s, no give-ups, fewer than 40 429s, with both header styles: ${met ? 'yes' : 'NO'}`;
}

// `npm run build && npx tsx bench/rate-limit.ts` prints this table alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log((await rateLimitBench()).text);
