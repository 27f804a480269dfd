import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Failure, isBreakwaterError } from '../../src/failure/index.js';
import type { PolicyEvent } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

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

function retriesSeen(events: PolicyEvent[]): Failure[] {
  return events.flatMap((e) => (e.type === 'retry_scheduled' ? [e.failure] : []));
}

describe('one retry loop only: ours', () => {
  it('sends a 500 exactly as many times as the policy attempts, though the client keeps its default retries', async () => {
    openai.respond(() => openaiReplies.error(500));
    anthropic.respond(() => anthropicReplies.overloaded());
    for (const [fake, provider] of [
      [openai, createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' })],
      [anthropic, createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' })],
    ] as const) {
      const router = createRouter({
        providers: [provider],
        profile: quickProfile({ retry: { maxAttempts: 3 } }),
      });
      const err = await router.chat(hello).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllProvidersFailedError);
      expect((err as AllProvidersFailedError).failures[0]!.error.attempts).toHaveLength(3);
      expect(fake.count).toBe(3);
      // Each request is a first try as far as the SDK knows.
      expect(fake.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '0', '0']);
    }
  });

  it('makes one request per provider call on its own', async () => {
    openai.respond(() => openaiReplies.error(503));
    const provider = createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' });
    const err = await provider.chat(hello).catch((e: unknown) => e);
    expect(isBreakwaterError(err) && err.failure.kind).toBe('overloaded');
    expect(openai.count).toBe(1);
  });
});

describe('connection faults', () => {
  it('retries a reset after the request was read (may have been processed, but a chat is idempotent)', async () => {
    openai.enqueue({ kind: 'reset', when: 'after-body' });
    const events: PolicyEvent[] = [];
    const router = createRouter({
      providers: [createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' })],
      profile: quickProfile(),
      observer: { event: (e) => events.push(e) },
    });
    const res = await router.chat(hello);
    expect(res.provider).toBe('openai');
    expect(openai.count).toBe(2);
    const [failure] = retriesSeen(events);
    expect(failure?.kind).toBe('network');
    expect(failure?.delivery).toBe('unknown');
  });

  it('retries a reset before the body was read, and then fails over', async () => {
    openai.respond(() => ({ kind: 'reset', when: 'before-body' }));
    const router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile(),
    });
    const res = await router.chat(hello);
    expect(res.provider).toBe('anthropic');
    expect(openai.count).toBe(2);
    expect(openai.requests.every((r) => r.answer === 'reset')).toBe(true);
  });

  it('proves a refused connection not sent, and fails over', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const events: PolicyEvent[] = [];
    const router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(`http://127.0.0.1:${port}/v1`), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile(),
      observer: { event: (e) => events.push(e) },
    });
    const res = await router.chat(hello);
    expect(res.provider).toBe('anthropic');
    const [failure] = retriesSeen(events);
    expect(failure?.kind).toBe('network');
    expect(failure?.delivery).toBe('not_sent');
    expect(failure?.code).toBe('ECONNREFUSED');
  });

  it('times out a slow answer, cancels its request on the wire, and tries again', async () => {
    openai.enqueue(openaiReplies.text('too late', 10_000));
    const events: PolicyEvent[] = [];
    const router = createRouter({
      providers: [createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' })],
      profile: quickProfile({ timeout: { attemptMs: 500 } }),
      observer: { event: (e) => events.push(e) },
    });
    const res = await router.chat(hello);
    expect(res.message.content).toBe('ok');
    expect(openai.count).toBe(2);
    await openai.until((rs) => rs[0]!.clientClosed);
    const [failure] = retriesSeen(events);
    expect(failure?.kind).toBe('timeout');
    expect(failure?.delivery).toBe('unknown');
  });
});

describe("the caller's mistake is thrown at once; a provider's refusal is failed over", () => {
  it('400 invalid request, from OpenAI and from Anthropic: thrown, never passed on', async () => {
    openai.respond(() => openaiReplies.error(400, {}, 'invalid_request_error'));
    anthropic.respond(() => anthropicReplies.error(400, 'invalid_request_error'));
    for (const router of bothOrders()) {
      const err = await router.chat(hello).catch((e: unknown) => e);
      expect(isBreakwaterError(err)).toBe(true);
      if (!isBreakwaterError(err)) return;
      expect(err).not.toBeInstanceOf(AllProvidersFailedError);
      expect(err.failure).toMatchObject({ kind: 'client_error', status: 400, delivery: 'processed' });
      expect(err.retryable).toBe(false);
      expect(err.message).not.toMatch(/sk-|Say ok|Answer briefly/);
    }
    // One request each: the primary's, never retried and never passed on to the other.
    expect(openai.count).toBe(1);
    expect(anthropic.count).toBe(1);
  });

  const refusals: Array<[string, number, string]> = [
    ['401 bad key', 401, 'authentication_error'],
    ['403 forbidden', 403, 'permission_error'],
  ];
  for (const [what, status, type] of refusals) {
    it(`${what}, from OpenAI and from Anthropic: both refuse, each asked once, never retried`, async () => {
      openai.respond(() => openaiReplies.error(status, {}, type));
      anthropic.respond(() => anthropicReplies.error(status, type));
      for (const router of bothOrders()) {
        const err = await router.chat(hello).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AllProvidersFailedError);
        if (!(err instanceof AllProvidersFailedError)) return;
        for (const f of err.failures) expect(f.error.failure).toMatchObject({ kind: 'auth', status });
        expect(err.retryable).toBe(false);
        expect(err.message).not.toMatch(/sk-|Say ok|Answer briefly/);
      }
      // Each router asked each provider once; the other router's own memory is separate.
      expect(openai.count).toBe(2);
      expect(anthropic.count).toBe(2);
    });
  }

  function bothOrders() {
    const profile = quickProfile({ retry: { maxAttempts: 3 } });
    const o = () => createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' });
    const a = () => createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' });
    return [
      createRouter({ providers: [o(), a()], profile }),
      createRouter({ providers: [a(), o()], profile }),
    ];
  }
});
