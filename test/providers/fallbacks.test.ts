import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/index.js';
import {
  AllProvidersFailedError,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type ModelGroup,
  type Provider,
} from '../../src/providers/index.js';
import { anthropicReplies, startFakeAnthropic } from '../fakes/anthropic-server.js';
import type { FakeReply } from '../fakes/llm-http.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let small: Fake;
let small2: Fake;
let large: Fake;

beforeEach(async () => {
  [small, small2, large] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeAnthropic()]);
});

afterEach(async () => {
  await Promise.all([small.close(), small2.close(), large.close()]);
});

const gpt = (f: Fake, name: string): Provider =>
  createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test', name });
const claude = (): Provider =>
  createAnthropicProvider(anthropicClient(large.baseURL), { model: 'claude-test' });

/** About 2 500 tokens of input by the estimate (10 000 characters / 4), and the default output. */
const longPrompt = { messages: [{ role: 'user' as const, content: 'x'.repeat(10_000) }] };

const anthropicAnswer = (stopReason: string): FakeReply => ({
  kind: 'json',
  body: {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model: 'claude-fake',
    content: [{ type: 'text', text: '' }],
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 0 },
  },
});

describe('the context-window pre-check', () => {
  it('skips a deployment whose window the estimate exceeds, with no request sent', async () => {
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            // A short prompt with no maxTokens is estimated near 1 000 tokens (the default output).
            { provider: gpt(small, 'small'), contextWindow: 2_000 },
            { provider: gpt(small2, 'roomy'), contextWindow: 8_000 },
          ],
        },
      },
      profile: quickProfile(),
    });
    const res = await router.chat(longPrompt);
    expect(res.provider).toBe('roomy');
    expect(small.count).toBe(0);
    // A short prompt still goes to the first.
    expect((await router.chat(hello)).provider).toBe('small');
  });

  it('counts maxTokens in the estimate', async () => {
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            { provider: gpt(small, 'small'), contextWindow: 100 },
            { provider: gpt(small2, 'roomy') },
          ],
        },
      },
      profile: quickProfile(),
    });
    expect((await router.chat({ ...hello, maxTokens: 50 })).provider).toBe('small');
    expect((await router.chat({ ...hello, maxTokens: 500 })).provider).toBe('roomy');
  });

  it('falls back, with none configured, to a group with a window that fits', async () => {
    const router = createRouter({
      groups: {
        fast: { deployments: [{ provider: gpt(small, 'small'), contextWindow: 1_000 }] },
        tiny: { deployments: [{ provider: gpt(small2, 'tiny'), contextWindow: 500 }] },
        long: { deployments: [{ provider: claude(), contextWindow: 200_000 }] },
      },
      profile: quickProfile(),
    });
    const res = await router.chat(longPrompt);
    expect(res.provider).toBe('anthropic');
    expect(small.count + small2.count).toBe(0);
  });
});

describe('fallbacks by error class', () => {
  function router(fast: Partial<ModelGroup>, extra: { maxHops?: number } = {}) {
    return createRouter({
      groups: {
        fast: { deployments: [gpt(small, 'small'), gpt(small2, 'small2')], ...fast },
        long: { deployments: [claude()] },
      },
      profile: quickProfile(),
      ...extra,
    });
  }

  it('context window exceeded (OpenAI 400 context_length_exceeded) → fallbacks.contextWindow', async () => {
    small.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'context_length_exceeded'));
    small2.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'context_length_exceeded'));
    const res = await router({ fallbacks: { contextWindow: 'long' } }).chat(hello);
    expect(res.provider).toBe('anthropic');
    expect(res.deployment).toBe('anthropic/claude-test');
    expect([small.count, small2.count]).toEqual([1, 1]);
  });

  it('content policy (OpenAI 400 content_policy_violation) → fallbacks.contentPolicy, without trying the group further', async () => {
    small.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'content_policy_violation'));
    const res = await router({ fallbacks: { contentPolicy: 'long' } }).chat(hello);
    expect(res.provider).toBe('anthropic');
    expect([small.count, small2.count]).toEqual([1, 0]);
  });

  it('content policy (Azure OpenAI 400 code content_filter) → fallbacks.contentPolicy', async () => {
    small.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'content_filter'));
    const res = await router({ fallbacks: { contentPolicy: 'long' } }).chat(hello);
    expect(res.provider).toBe('anthropic');
    expect([small.count, small2.count]).toEqual([1, 0]);
  });

  it('content policy is thrown at once, as the caller’s, when no contentPolicy fallback is configured', async () => {
    small.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'content_policy_violation'));
    const err = await router({ fallbacks: { unavailable: 'long' } })
      .chat(hello)
      .catch((e: unknown) => e);
    expect(isBreakwaterError(err) && err.failure.code).toBe('content_policy_violation');
    expect([small.count, small2.count, large.count]).toEqual([1, 0, 0]);
  });

  it('content policy on Anthropic ("Output blocked by content filtering policy") → fallbacks.contentPolicy', async () => {
    large.respond(() =>
      anthropicReplies.error(400, 'invalid_request_error', {}, 'Output blocked by content filtering policy'),
    );
    const r = createRouter({
      groups: {
        claude: { deployments: [claude()], fallbacks: { contentPolicy: 'gpt' } },
        gpt: { deployments: [gpt(small, 'small')] },
      },
      profile: quickProfile(),
    });
    const res = await r.chat(hello);
    expect(res.provider).toBe('small');
    expect(large.count).toBe(1);
  });

  it('an answer stopped by the content filter → fallbacks.contentPolicy; without one it is returned', async () => {
    small.respond(() => openaiReplies.rawMessage({ content: '' }, 'content_filter'));
    const moved = await router({ fallbacks: { contentPolicy: 'long' } }).chat(hello);
    expect(moved.provider).toBe('anthropic');
    const kept = await router({}).chat(hello);
    expect(kept.provider).toBe('small');
    expect(kept.finishReason).toBe('content_filter');
  });

  it('an Anthropic refusal (stop_reason refusal) → fallbacks.contentPolicy; the refusal is returned if that fails', async () => {
    large.respond(() => anthropicAnswer('refusal'));
    small.respond(() => openaiReplies.error(500));
    const r = createRouter({
      groups: {
        claude: { deployments: [claude()], fallbacks: { contentPolicy: 'gpt' } },
        gpt: { deployments: [gpt(small, 'small')] },
      },
      profile: quickProfile(),
    });
    const res = await r.chat(hello);
    expect(res.provider).toBe('anthropic');
    expect(res.finishReason).toBe('refusal');
    expect(small.count).toBe(2);
  });

  it('every deployment down → fallbacks.unavailable; none configured → AllProvidersFailedError', async () => {
    small.respond(() => openaiReplies.error(500));
    small2.respond(() => openaiReplies.rateLimited('retry-after-ms', 30));
    const res = await router({ fallbacks: { unavailable: 'long' } }).chat(hello);
    expect(res.provider).toBe('anthropic');
    const err = await router({})
      .chat(hello)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailedError);
  });

  it('caller errors are thrown at once, whatever the fallbacks', async () => {
    small.respond(() => openaiReplies.error(400, {}, 'invalid_request_error'));
    const err = await router({
      fallbacks: { unavailable: 'long', contextWindow: 'long', contentPolicy: 'long' },
    })
      .chat(hello)
      .catch((e: unknown) => e);
    expect(isBreakwaterError(err) && err.failure.kind).toBe('client_error');
    expect([small.count, small2.count, large.count]).toEqual([1, 0, 0]);
  });

  it('stops after maxHops and never visits a group twice (no cycles)', async () => {
    small.respond(() => openaiReplies.error(500));
    small2.respond(() => openaiReplies.error(500));
    large.respond(() => anthropicReplies.error(500));
    const chain = (maxHops: number) =>
      createRouter({
        groups: {
          a: { deployments: [gpt(small, 'a')], fallbacks: { unavailable: 'b' } },
          b: { deployments: [gpt(small2, 'b')], fallbacks: { unavailable: 'c' } },
          c: { deployments: [claude()], fallbacks: { unavailable: 'a' } },
        },
        profile: quickProfile({ retry: { maxAttempts: 1 } }),
        maxHops,
      });
    const one = await chain(1)
      .chat(hello)
      .catch((e: unknown) => e);
    expect((one as AllProvidersFailedError).failures.map((f) => f.group)).toEqual(['a', 'b']);
    expect(large.count).toBe(0);
    const many = await chain(10)
      .chat(hello)
      .catch((e: unknown) => e);
    // a → b → c, and c's fallback (a) was visited already.
    expect((many as AllProvidersFailedError).failures.map((f) => f.group)).toEqual(['a', 'b', 'c']);
    expect([small.count, small2.count, large.count]).toEqual([2, 2, 1]);
  });
});
