/**
 * Tokens per minute (issue 16, benchmark 1): a local OpenAI-compatible server
 * limits its key to 20 requests a second and 40 000 tokens a minute (sliding
 * windows, counted at admission as input estimate plus `max_tokens`, as
 * providers count), and answers 429 with `retry-after-ms` / `retry-after`
 * and the `x-ratelimit-*` headers beyond. 300 requests of mixed sizes (100
 * to 4 000 tokens, the same seeded sizes for everyone), 20 at a time,
 * through: the `openai` client's own retries, the AI SDK's `generateText`
 * retries over `@ai-sdk/openai`, p-retry around the client, and
 * breakwater's router with the quota pacing by requests only, then by
 * tokens.
 *
 * Time is compressed: the server's minute (and second) last `1 / SPEED` of
 * real time, so that the run takes seconds, not a quarter of an hour. Every
 * wait the server asks for is in real time, so the clients' own Retry-After
 * handling is unchanged; p-retry's first backoff is compressed by the same
 * factor (its 1 s default would be half a minute of the server's time).
 */

import { pathToFileURL } from 'node:url';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import OpenAI from 'openai';
import pRetry from 'p-retry';
import type { ChatRequest, Provider, Quota } from '../src/index.js';
import { startRateLimitedLlm } from '../test/fakes/rate-limited-llm.js';
import { table } from './harness.js';
import { bw } from './library.js';

const SPEED = Number(process.env.BENCH_TPM_SPEED ?? 30);
const MINUTE_MS = 60_000 / SPEED;
const SECOND_MS = 1_000 / SPEED;
const RPS = 20;
const TPM = 40_000;
const CALLS = 300;
const CONCURRENCY = 20;
const MODEL = 'gpt-bench';

/** The same 300 sizes for every contender: uniform in [100, 4 000], a tenth of each the requested answer. */
function sizes(): number[] {
  let seed = 0x5eed;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: CALLS }, () => 100 + Math.floor(next() * 3_901));
}

interface Shaped {
  readonly content: string;
  readonly maxTokens: number;
  readonly tokens: number;
}

/** A prompt the server counts as exactly `tokens`: four characters a token, four per message, plus max_tokens. */
function shape(tokens: number): Shaped {
  const maxTokens = Math.max(10, Math.floor(tokens / 10));
  return { content: 'x'.repeat(4 * (tokens - maxTokens - 4)), maxTokens, tokens };
}

type Call = (s: Shaped) => Promise<unknown>;

export interface TokensRow {
  readonly contender: string;
  readonly wallS: number;
  readonly tokensPerMinute: number;
  readonly share: number;
  readonly limited: number;
  readonly giveUps: number;
  readonly peak: number;
}

async function load(call: Call): Promise<{ wallMs: number; giveUps: number }> {
  const work = sizes().map(shape);
  let next = 0;
  let giveUps = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < work.length) {
      const s = work[next++]!;
      try {
        await call(s);
      } catch {
        giveUps++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { wallMs: performance.now() - t0, giveUps };
}

/** The router's provider with a quota in front: acquire the estimate, call with `onHeaders`, settle with the usage. */
function paced(inner: Provider, quota: Quota, by: 'requests' | 'tokens'): Provider {
  return {
    name: inner.name,
    model: inner.model,
    async chat(request, options = {}) {
      const reservation = await quota.acquire(by === 'tokens' ? bw.estimateTokens(request) : 0, {
        signal: options.signal,
      });
      let usage: number | undefined;
      try {
        const res = await inner.chat(request, {
          ...options,
          onHeaders: (h) => {
            const reading = bw.readRateLimitHeaders(h, performance.timeOrigin + performance.now());
            // Request-only pacing reads the requests window and nothing else.
            const seen = by === 'tokens' ? reading : reading?.requests && { requests: reading.requests };
            quota.observe(seen, reservation);
          },
        });
        usage = res.usage?.totalTokens;
        return res;
      } finally {
        quota.settle(reservation, usage);
      }
    },
    stream: (request, options) => inner.stream(request, options),
  };
}

const contenders: ReadonlyArray<{ name: string; make: (baseURL: string) => Call }> = [
  {
    name: 'openai client (maxRetries 2)',
    make(baseURL) {
      const client = new OpenAI({ apiKey: 'sk-bench', baseURL });
      return (s) =>
        client.chat.completions.create({
          model: MODEL,
          max_tokens: s.maxTokens,
          messages: [{ role: 'user', content: s.content }],
        });
    },
  },
  {
    name: 'AI SDK generateText (maxRetries 2)',
    make(baseURL) {
      const provider = createOpenAI({ apiKey: 'sk-bench', baseURL });
      return (s) =>
        generateText({
          model: provider.chat(MODEL),
          prompt: s.content,
          maxOutputTokens: s.maxTokens,
          maxRetries: 2,
        });
    },
  },
  {
    name: `p-retry (retries 5, first wait ${Math.round(1_000 / SPEED)} ms)`,
    make(baseURL) {
      const client = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0 });
      return (s) =>
        pRetry(
          () =>
            client.chat.completions.create({
              model: MODEL,
              max_tokens: s.maxTokens,
              messages: [{ role: 'user', content: s.content }],
            }),
          { retries: 5, minTimeout: 1_000 / SPEED },
        );
    },
  },
  ...(['requests', 'tokens'] as const).map((by) => ({
    name:
      by === 'tokens' ? 'breakwater, token pacing (tpm + headers)' : 'breakwater, request-only pacing (rpm)',
    make(baseURL: string): Call {
      const client = new OpenAI({
        apiKey: 'sk-bench',
        baseURL,
        maxRetries: 0,
        fetch: bw.createClassifyingFetch({ connectTimeoutMs: 10_000 }),
      });
      const quota =
        by === 'tokens'
          ? bw.createQuota({ tpm: TPM, windowMs: MINUTE_MS, name: 'openai/gpt-bench' })
          : bw.createQuota({ rpm: RPS, windowMs: SECOND_MS, name: 'openai/gpt-bench' });
      const router = bw.createRouter({
        providers: [
          paced(bw.createOpenAIProvider(client, { model: MODEL, maxTokensField: 'max_tokens' }), quota, by),
        ],
        profile: 'llm',
        waitForRetryAfter: true,
      });
      return (s) => {
        const request: ChatRequest = {
          messages: [{ role: 'user', content: s.content }],
          maxTokens: s.maxTokens,
        };
        return router.chat(request);
      };
    },
  })),
];

export async function tokensPerMinuteBench(): Promise<{ rows: TokensRow[]; text: string }> {
  const rows: TokensRow[] = [];
  for (const c of contenders) {
    const server = await startRateLimitedLlm({
      dialect: 'openai',
      requests: RPS,
      requestsWindowMs: SECOND_MS,
      tokens: TPM,
      tokensWindowMs: MINUTE_MS,
    });
    try {
      const { wallMs, giveUps } = await load(c.make(server.baseURL));
      const stats = server.stats();
      const tokensPerMinute = stats.tokens / (wallMs / MINUTE_MS);
      rows.push({
        contender: c.name,
        wallS: wallMs / 1_000,
        tokensPerMinute,
        share: tokensPerMinute / TPM,
        limited: stats.limited,
        giveUps,
        peak: stats.peakWindowTokens,
      });
    } finally {
      await server.close();
    }
  }
  const total = sizes().reduce((a, b) => a + b, 0);
  const text = table(
    ['contender', 'wall s', 'scaled min', 'tokens / min', 'of the limit', '429s', 'give-ups'],
    rows.map((r) => [
      r.contender,
      r.wallS,
      r.wallS / (MINUTE_MS / 1_000),
      Math.round(r.tokensPerMinute),
      `${(r.share * 100).toFixed(1)} %`,
      r.limited,
      r.giveUps,
    ]),
  );
  return {
    rows,
    text: `${CALLS} requests (${total} tokens in all), concurrency ${CONCURRENCY}, limit ${RPS} requests/s and ${TPM} tokens/min per key; time compressed ${SPEED}× (a minute lasts ${MINUTE_MS} ms). Tokens per minute are the tokens the server accepted over the wall time, in its minutes.\n\n${text}\n\n${verdict(rows)}`,
  };
}

/** The target of issue 16: at least 95 % of the token budget, at most 5 429s, no give-ups. */
function verdict(rows: readonly TokensRow[]): string {
  const ours = rows.find((r) => r.contender.startsWith('breakwater, token'));
  const met = ours !== undefined && ours.share >= 0.95 && ours.limited <= 5 && ours.giveUps === 0;
  return `breakwater's token pacing at ≥ 95 % of the budget, ≤ 5 429s, no give-ups: ${met ? 'yes' : 'NO'}`;
}

// `npm run build && npx tsx bench/tokens-per-minute.ts` prints this table alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  console.log((await tokensPerMinuteBench()).text);
