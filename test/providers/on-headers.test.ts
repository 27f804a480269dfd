/**
 * `onHeaders` through the real `openai` and `@anthropic-ai/sdk` clients over
 * HTTP to the local fakes: the response headers of chat and stream calls, on
 * success and on HTTP errors, reach the hook, and from there a quota.
 */

import { anthropicReplies, type FakeReply, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/index.js';
import {
  createAnthropicProvider,
  createOpenAIProvider,
  type OpenAIClientLike,
  type Provider,
} from '../../src/providers/index.js';
import { readRateLimitHeaders } from '../../src/providers/quota/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

const OPENAI_LIMITS = {
  'x-ratelimit-limit-requests': '500',
  'x-ratelimit-remaining-requests': '499',
  'x-ratelimit-reset-requests': '120ms',
  'x-ratelimit-limit-tokens': '40000',
  'x-ratelimit-remaining-tokens': '39000',
  'x-ratelimit-reset-tokens': '1.5s',
};

const anthropicLimits = () => ({
  'anthropic-ratelimit-requests-limit': '50',
  'anthropic-ratelimit-requests-remaining': '48',
  'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1_000).toISOString(),
  'anthropic-ratelimit-tokens-limit': '80000',
  'anthropic-ratelimit-tokens-remaining': '79000',
  'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 1_000).toISOString(),
});

function withHeaders(reply: FakeReply, headers: Record<string, string>): FakeReply {
  if (reply.kind !== 'json' && reply.kind !== 'sse') throw new Error('json or sse only');
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

async function drain(provider: Provider, onHeaders: (h: Headers) => void): Promise<string> {
  let text = '';
  for await (const c of provider.stream(hello, { onHeaders })) if (c.type === 'text') text += c.text;
  return text;
}

let openai: Fake;
let anthropic: Fake;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

describe('onHeaders with the openai client', () => {
  const provider = () => createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' });

  it('chat: the answer is unchanged and the hook gets its rate-limit headers', async () => {
    openai.enqueue(withHeaders(openaiReplies.text('hello'), OPENAI_LIMITS));
    const seen: Headers[] = [];
    const res = await provider().chat(hello, { onHeaders: (h) => seen.push(h) });
    expect(res.message.content).toBe('hello');
    expect(res.usage?.totalTokens).toBe(18);
    expect(seen).toHaveLength(1);
    expect(readRateLimitHeaders(seen[0], 0)).toEqual({
      requests: { remaining: 499, limit: 500, resetAt: 120 },
      tokens: { remaining: 39000, limit: 40000, resetAt: 1_500 },
    });
  });

  it('stream: the hook gets the headers before the chunks, and the chunks are unchanged', async () => {
    openai.enqueue(withHeaders(openaiReplies.streamText(['o', 'k']), OPENAI_LIMITS));
    const seen: Headers[] = [];
    expect(await drain(provider(), (h) => seen.push(h))).toBe('ok');
    expect(seen[0]?.get('x-ratelimit-remaining-tokens')).toBe('39000');
  });

  it('HTTP 429: the hook gets the headers of the refusal, and the error is classified as before', async () => {
    openai.enqueue(openaiReplies.rateLimited('x-ratelimit-reset', 400));
    const seen: Headers[] = [];
    const err = await provider()
      .chat(hello, { onHeaders: (h) => seen.push(h) })
      .catch((e: unknown) => e);
    expect(isBreakwaterError(err)).toBe(true);
    expect((err as { failure: { kind: string; retryAfterMs: number } }).failure).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 400,
    });
    expect(readRateLimitHeaders(seen[0], 0)?.requests).toEqual({ remaining: 0, limit: 60, resetAt: 400 });
  });

  it('HTTP 429 on a stream request: the hook gets the headers too', async () => {
    openai.enqueue(openaiReplies.rateLimited('x-ratelimit-reset', 400));
    const seen: Headers[] = [];
    await expect(drain(provider(), (h) => seen.push(h))).rejects.toMatchObject({ code: 'dependency_failed' });
    expect(seen[0]?.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('a hook that throws changes nothing about the call', async () => {
    openai.enqueue(withHeaders(openaiReplies.text('still here'), OPENAI_LIMITS));
    const res = await provider().chat(hello, {
      onHeaders: () => {
        throw new Error('bug in the hook');
      },
    });
    expect(res.message.content).toBe('still here');
  });

  it('a compatible client without withResponse is awaited as before; the hook is not called', async () => {
    const real = openaiClient(openai.baseURL);
    const plain: OpenAIClientLike = {
      chat: {
        completions: {
          // A plain promise, as a hand-written compatible client returns.
          create: async (body, options) => await real.chat.completions.create(body as never, options),
        },
      },
    };
    let called = 0;
    const res = await createOpenAIProvider(plain, { model: 'gpt-test' }).chat(hello, {
      onHeaders: () => called++,
    });
    expect(res.message.content).toBe('ok');
    expect(called).toBe(0);
  });
});

describe('onHeaders with the anthropic client', () => {
  const provider = () =>
    createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' });

  it('chat: the hook gets the anthropic-ratelimit-* headers', async () => {
    anthropic.enqueue(withHeaders(anthropicReplies.text('hi'), anthropicLimits()));
    const seen: Headers[] = [];
    const res = await provider().chat(hello, { onHeaders: (h) => seen.push(h) });
    expect(res.message.content).toBe('hi');
    const reading = readRateLimitHeaders(seen[0], 0);
    expect(reading?.requests).toMatchObject({ remaining: 48, limit: 50 });
    expect(reading?.tokens).toMatchObject({ remaining: 79000, limit: 80000 });
  });

  it('stream: the hook gets the headers', async () => {
    anthropic.enqueue(withHeaders(anthropicReplies.streamText(['o', 'k']), anthropicLimits()));
    const seen: Headers[] = [];
    expect(await drain(provider(), (h) => seen.push(h))).toBe('ok');
    expect(seen[0]?.get('anthropic-ratelimit-tokens-remaining')).toBe('79000');
  });

  it('HTTP 429 (chat and stream): the hook gets the headers of the refusal', async () => {
    anthropic.enqueue(
      anthropicReplies.rateLimited('anthropic-ratelimit-reset', 500),
      anthropicReplies.rateLimited('anthropic-ratelimit-reset', 500),
    );
    const seen: Headers[] = [];
    await expect(provider().chat(hello, { onHeaders: (h) => seen.push(h) })).rejects.toMatchObject({
      failure: { kind: 'rate_limited' },
    });
    await expect(drain(provider(), (h) => seen.push(h))).rejects.toMatchObject({
      failure: { kind: 'rate_limited' },
    });
    expect(seen.map((h) => h.get('anthropic-ratelimit-requests-remaining'))).toEqual(['0', '0']);
  });

  it('529 overloaded (no rate-limit headers): the hook is called, and there is nothing to read', async () => {
    anthropic.enqueue(anthropicReplies.overloaded());
    const seen: Headers[] = [];
    await expect(provider().chat(hello, { onHeaders: (h) => seen.push(h) })).rejects.toMatchObject({
      failure: { kind: 'overloaded' },
    });
    expect(seen).toHaveLength(1);
    expect(readRateLimitHeaders(seen[0], 0)).toBeUndefined();
  });
});
