/**
 * Token pacing end to end, through the real `openai` and `@anthropic-ai/sdk`
 * clients against the rate-limited local server: the server's windows and
 * headers, and a quota fed by `onHeaders` keeping twenty concurrent callers
 * clear of its 429s. The quota is wired the way the router wires it: acquire
 * the estimate, call with `onHeaders`, settle with the usage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/policy/clock.js';
import {
  type ChatRequest,
  createAnthropicProvider,
  createOpenAIProvider,
  type Provider,
} from '../../../src/providers/index.js';
import {
  createQuota,
  estimateTokens,
  type Quota,
  readRateLimitHeaders,
} from '../../../src/providers/quota/index.js';
import {
  countTokens,
  goDuration,
  type RateLimitedLlm,
  startRateLimitedLlm,
} from '../../fakes/rate-limited-llm.js';
import { anthropicClient, openaiClient } from '../helpers.js';

let server: RateLimitedLlm | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function paced(provider: Provider, quota: Quota, request: ChatRequest) {
  const reservation = await quota.acquire(estimateTokens(request));
  let usage: number | undefined;
  try {
    const res = await provider.chat(request, {
      onHeaders: (h) => quota.observe(readRateLimitHeaders(h, systemClock.now()), reservation),
    });
    usage = res.usage?.totalTokens;
    return res;
  } finally {
    quota.settle(reservation, usage);
  }
}

/** A request counted for about `tokens`: text of four characters a token, plus the answer's limit. */
function sized(tokens: number): ChatRequest {
  return { messages: [{ role: 'user', content: 'x'.repeat(4 * (tokens - 100)) }], maxTokens: 96 };
}

describe('the rate-limited server', () => {
  it('counts a request as its input estimate plus the requested output, as the client estimates it', () => {
    const body = { model: 'm', max_tokens: 500, messages: [{ role: 'user', content: 'y'.repeat(400) }] };
    expect(countTokens(body, 1_024)).toBe(100 + 4 + 500);
    expect(countTokens({ messages: [] }, 1_024)).toBe(1_024);
    const request = sized(1_000);
    expect(estimateTokens(request)).toBe(1_000);
    expect(
      countTokens({ messages: [{ role: 'user', content: request.messages[0]!.content }], max_tokens: 96 }, 0),
    ).toBe(1_000);
  });

  it('writes resets the way OpenAI does', () => {
    expect([0, 20, 999, 1_000, 1_500, 59_999, 60_000, 360_000, 90_500].map(goDuration)).toEqual([
      '0ms',
      '20ms',
      '999ms',
      '1s',
      '1.5s',
      '59.999s',
      '1m0s',
      '6m0s',
      '1m30.5s',
    ]);
  });

  it('OpenAI: headers on every answer, then a 429 with retry-after-ms and the error body, per key', async () => {
    server = await startRateLimitedLlm({
      dialect: 'openai',
      requests: 2,
      requestsWindowMs: 60_000,
      tokens: 10_000,
    });
    const client = openaiClient(server.baseURL);
    const ask = () =>
      client.chat.completions
        .create(
          { model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] },
          { maxRetries: 0 },
        )
        .withResponse();
    const first = await ask();
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(first.response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(10_000 - 105));
    expect(readRateLimitHeaders(first.response.headers, 0)?.tokens?.limit).toBe(10_000);
    await ask();
    const err = await ask().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    const headers = (err as { headers: Headers }).headers;
    expect(headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(headers.get('retry-after')).toBe('60');
    expect(server.stats()).toMatchObject({ accepted: 2, limited: 1, tokens: 210 });
    // Another key has its own windows.
    const other = openaiClient(server.baseURL);
    Object.assign(other, { apiKey: 'sk-other' });
    await expect(
      other.chat.completions.create(
        { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        { maxRetries: 0 },
      ),
    ).resolves.toBeDefined();
  });

  it('Anthropic: anthropic-ratelimit-* headers, resets as RFC 3339, and its rate_limit_error', async () => {
    server = await startRateLimitedLlm({ dialect: 'anthropic', tokens: 1_000 });
    const client = anthropicClient(server.baseURL);
    const ask = (max: number) =>
      client.messages
        .create(
          { model: 'c', max_tokens: max, messages: [{ role: 'user', content: 'hi' }] },
          { maxRetries: 0 },
        )
        .withResponse();
    const ok = await ask(500);
    expect(ok.response.headers.get('anthropic-ratelimit-tokens-remaining')).toBe(String(1_000 - 505));
    expect(ok.response.headers.get('anthropic-ratelimit-tokens-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const err = await ask(600).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
    expect(server.stats()).toMatchObject({ accepted: 1, limited: 1 });
  });
});

describe('token pacing against the rate-limited server', () => {
  it('configured limits: 20 concurrent callers, twice the tokens the window allows, and not one 429', async () => {
    server = await startRateLimitedLlm({ dialect: 'openai', tokens: 10_000, tokensWindowMs: 400 });
    const provider = createOpenAIProvider(openaiClient(server.baseURL), { model: 'gpt-test' });
    const quota = createQuota({ tpm: 10_000, windowMs: 400, clock: systemClock });
    const results = await Promise.all(Array.from({ length: 20 }, () => paced(provider, quota, sized(1_000))));
    expect(results.every((r) => r.message.content === 'ok')).toBe(true);
    expect(server.stats()).toMatchObject({ accepted: 20, limited: 0 });
    expect(server.stats().peakWindowTokens).toBeLessThanOrEqual(10_000);
  });

  it('headers alone (no configured limit): after the first answer, 20 concurrent callers meet no 429', async () => {
    server = await startRateLimitedLlm({ dialect: 'anthropic', tokens: 8_000, tokensWindowMs: 400 });
    const provider = createAnthropicProvider(anthropicClient(server.baseURL), { model: 'claude-test' });
    const quota = createQuota({ windowMs: 400, clock: systemClock });
    await paced(provider, quota, sized(1_000));
    await Promise.all(Array.from({ length: 20 }, () => paced(provider, quota, sized(1_000))));
    expect(server.stats()).toMatchObject({ accepted: 21, limited: 0 });
  });

  it('without the quota, the same load meets 429s (the server does limit)', async () => {
    server = await startRateLimitedLlm({ dialect: 'openai', tokens: 10_000, tokensWindowMs: 400 });
    const provider = createOpenAIProvider(openaiClient(server.baseURL), { model: 'gpt-test' });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => provider.chat(sized(1_000))));
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(10);
    expect(server.stats()).toMatchObject({ accepted: 10, limited: 10 });
  });
});
