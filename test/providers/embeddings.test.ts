/**
 * `router.embed` through the same groups as chat, with the real `openai`
 * client over real HTTP against the kit's fake OpenAI server: serving,
 * failover, deployments that cannot embed, the quota read from the headers
 * of embeddings answers, caller errors, aborts, the `unavailable` fallback
 * between groups, and the spans.
 */
import { createFakeOpenAI, type FakeModel, openaiReplies } from 'breakwater/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError, DependencyFailedError, InvalidInputError } from '../../src/failure/errors.js';
import {
  AllProvidersFailedError,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Provider,
} from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { installOtel } from '../fakes/otel.js';
import { startRateLimitedLlm } from '../fakes/rate-limited-llm.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(): Promise<FakeModel> {
  const s = await createFakeOpenAI();
  servers.push(s);
  return s;
}

const MODEL = 'text-embedding-test';
const embedder = (baseURL: string, name = 'openai'): Provider =>
  createOpenAIProvider(openaiClient(baseURL), { model: MODEL, name });

async function claude(): Promise<Provider> {
  const s = await startFakeAnthropic();
  servers.push(s);
  return createAnthropicProvider(anthropicClient(s.baseURL), { model: 'claude-test' });
}

describe('router.embed', () => {
  it('answers one vector per input, in order, through the real client, and says which deployment served', async () => {
    const s = await fake();
    const router = createRouter({
      groups: { vectors: { deployments: [{ id: 'emb-a', provider: embedder(s.baseURL) }] } },
      profile: quickProfile(),
    });
    const res = await router.embed({ input: ['hello', 'a longer text'], dimensions: 4 });
    // The kit's vectors: [length, index, 0.5, …], through the SDK's default base64 encoding.
    expect(res.embeddings).toEqual([
      [5, 0, 0.5, 0.5],
      [13, 1, 0.5, 0.5],
    ]);
    expect(res).toMatchObject({ deployment: 'emb-a', provider: 'openai', model: MODEL });
    expect(res.usage).toEqual({ inputTokens: 5, totalTokens: 5 });
    expect(s.requests[0]!.route).toBe('POST /v1/embeddings');
    expect(s.requests[0]!.body).toMatchObject({
      model: MODEL,
      input: ['hello', 'a longer text'],
      dimensions: 4,
    });

    const one = await router.embed({ input: 'hi' });
    expect(one.embeddings).toEqual([[2, 0, 0.5]]);
    expect(s.requests[1]!.body).toMatchObject({ input: 'hi' });
  });

  it('reads a scripted answer in floats, and raw base64 from a client that does not decode it', async () => {
    const s = await fake();
    const client = openaiClient(s.baseURL);
    /** The real client, asked for one encoding: floats are sent as they are, base64 comes back undecoded. */
    const asking = (encoding_format: 'float' | 'base64'): Provider =>
      createOpenAIProvider(
        {
          chat: client.chat,
          embeddings: { create: (body, o) => client.embeddings.create({ ...body, encoding_format }, o) },
        },
        { model: MODEL },
      );
    s.enqueue(openaiReplies.embeddings([[0.25, -1]], { model: 'served-model', promptTokens: 9 }));
    s.enqueue(openaiReplies.embeddings([[0.125], [3]]));
    const floats = await asking('float').embed!({ input: 'x' });
    expect(s.requests[0]!.body).toMatchObject({ encoding_format: 'float' });
    expect(floats).toEqual({
      provider: 'openai',
      model: 'served-model',
      embeddings: [[0.25, -1]],
      usage: { inputTokens: 9, totalTokens: 9 },
    });
    const raw = await asking('base64').embed!({ input: ['a', 'b'] });
    expect(raw.embeddings).toEqual([[0.125], [3]]);
    // Each vector goes where its `index` says, whatever the order of the list.
    s.enqueue({
      kind: 'json',
      body: {
        object: 'list',
        model: MODEL,
        data: [
          { object: 'embedding', index: 1, embedding: [2] },
          { object: 'embedding', index: 0, embedding: [1] },
        ],
        usage: { prompt_tokens: 2, total_tokens: 2 },
      },
    });
    expect((await asking('float').embed!({ input: ['a', 'b'] })).embeddings).toEqual([[1], [2]]);
  });

  it('moves to another deployment on a 500 and on a 429', async () => {
    const a = await fake();
    const b = await fake();
    const c = await fake();
    a.enqueue(openaiReplies.error(500));
    b.enqueue(openaiReplies.rateLimited('retry-after-ms', 30_000));
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL) },
            { id: 'b', provider: embedder(b.baseURL) },
            { id: 'c', provider: embedder(c.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const res = await router.embed({ input: 'hello' });
    expect(res.deployment).toBe('c');
    expect([a.count, b.count, c.count]).toEqual([1, 1, 1]);
    // b is cooling down after its 429: the next call goes to a, and skips b if a fails.
    a.enqueue(openaiReplies.error(503));
    expect((await router.embed({ input: 'hello' })).deployment).toBe('c');
    expect([a.count, b.count, c.count]).toEqual([2, 1, 2]);
  });

  it('skips a deployment that cannot embed, with no request, and says why', async () => {
    const otel = installOtel();
    try {
      const s = await fake();
      const anthropic = await claude();
      expect(anthropic.embed).toBeUndefined();
      const router = createRouter({
        groups: {
          mixed: {
            deployments: [
              { id: 'claude', provider: anthropic },
              { id: 'emb', provider: embedder(s.baseURL) },
            ],
          },
        },
        profile: quickProfile(),
        telemetry: createTelemetry(),
      });
      const res = await router.embed({ input: 'hello' });
      expect(res.deployment).toBe('emb');
      const route = otel.spans().find((sp) => sp.name === 'breakwater.route embed')!;
      expect(route.attributes['gen_ai.operation.name']).toBe('embeddings');
      expect(route.attributes['breakwater.deployment']).toBe('emb');
      const skips = route.events
        .filter((e) => e.name === 'breakwater.deployment.skipped')
        .map((e) => [e.attributes?.['breakwater.deployment'], e.attributes?.['breakwater.skip_reason']]);
      expect(skips).toEqual([['claude', 'unsupported']]);
      const attempts = otel.spans().filter((sp) => sp.name === `embeddings ${MODEL}`);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]!.attributes['gen_ai.operation.name']).toBe('embeddings');
      expect(attempts[0]!.attributes['gen_ai.usage.input_tokens']).toBe(2);
      // The chat through the same router still makes `chat` spans.
      await router.chat(hello).catch(() => undefined);
      expect(otel.spans().some((sp) => sp.name === 'chat claude-test')).toBe(true);
    } finally {
      await otel.uninstall();
    }
  });

  it('throws a typed error naming the group when no deployment of it can embed, before any request', async () => {
    const s = await fake();
    const router = createRouter({
      groups: {
        vectors: { deployments: [embedder(s.baseURL)] },
        smart: { deployments: [await claude()] },
      },
    });
    const err = await router.embed({ input: 'hello' }, { group: 'smart' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).message).toContain("group 'smart' has no deployment that can embed");
    await expect(router.embed({ input: [] })).rejects.toThrow(InvalidInputError);
    await expect(router.embed({ input: 'x', dimensions: 0 })).rejects.toThrow(/dimensions/);
    expect(s.count).toBe(0);
  });

  it('throws a caller error at once: no other deployment is asked', async () => {
    const a = await fake();
    const b = await fake();
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL) },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    a.enqueue(openaiReplies.apiError(400, 'invalid_request_error', null, "'$.input' is invalid."));
    const err = await router.embed({ input: 'hello' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyFailedError);
    expect(err).not.toBeInstanceOf(AllProvidersFailedError);
    expect((err as DependencyFailedError).failure).toMatchObject({ kind: 'client_error', status: 400 });
    // An input longer than the model's window is the caller's too: the deployments of a group hold one model.
    a.enqueue(openaiReplies.apiError(400, 'invalid_request_error', 'context_length_exceeded'));
    const long = await router.embed({ input: 'hello' }).catch((e: unknown) => e);
    expect((long as DependencyFailedError).failure.code).toBe('context_length_exceeded');
    expect(a.count).toBe(2);
    expect(b.count).toBe(0);
  });

  it('ends at once on an abort, closing the request, and asks no other deployment', async () => {
    const a = await fake();
    const b = await fake();
    a.enqueue({ kind: 'hang' });
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL) },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const controller = new AbortController();
    const pending = router.embed({ input: 'hello' }, { signal: controller.signal }).catch((e: unknown) => e);
    await a.until((rs) => rs.length === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledError);
    await a.until((rs) => rs[0]!.clientClosed);
    expect(b.count).toBe(0);
  });

  it('is not hedged: a slow deployment is waited for, in a group that hedges its chats', async () => {
    const a = await fake();
    const b = await fake();
    a.enqueue(openaiReplies.embeddings(undefined, { delayMs: 150 }));
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL) },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
          hedge: { afterMs: 20, budget: 1 },
        },
      },
      profile: quickProfile(),
    });
    expect((await router.embed({ input: 'hello' })).deployment).toBe('a');
    expect(b.count).toBe(0);
  });

  it('moves to the unavailable fallback group when every deployment of its group fails', async () => {
    const a = await fake();
    const backup = await fake();
    a.respond(() => openaiReplies.error(500));
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [{ id: 'a', provider: embedder(a.baseURL) }],
          fallbacks: { unavailable: 'spare' },
        },
        spare: { deployments: [{ id: 'spare', provider: embedder(backup.baseURL) }] },
      },
      profile: quickProfile(),
    });
    const res = await router.embed({ input: 'hello' });
    expect(res.deployment).toBe('spare');
    expect(a.count).toBe(2);

    // Without a fallback, every failure is listed.
    const alone = createRouter({
      groups: { vectors: { deployments: [{ id: 'a', provider: embedder(a.baseURL) }] } },
      profile: quickProfile(),
    });
    const err = await alone.embed({ input: 'hello' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailedError);
    expect((err as AllProvidersFailedError).failures.map((f) => f.deployment)).toEqual(['a']);
  });
});

describe('the quota on embeddings', () => {
  it('reads the rate-limit headers of embeddings answers: a deployment out of requests is skipped before a 429', async () => {
    const a = await startRateLimitedLlm({ dialect: 'openai', requests: 2, requestsWindowMs: 60_000 });
    const b = await startRateLimitedLlm({ dialect: 'openai', requests: 100, requestsWindowMs: 60_000 });
    servers.push(a, b);
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL) },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push((await router.embed({ input: ['one', 'two'] })).deployment!);
    expect(served).toEqual(['a', 'a', 'b', 'b']);
    expect(a.stats()).toMatchObject({ accepted: 2, limited: 0 });
    expect(a.requests.every((r) => r.route === 'POST /v1/embeddings')).toBe(true);
  });

  it('counts a call by the usage its answer reports, not by the estimate', async () => {
    const a = await fake();
    const b = await fake();
    // No rate-limit headers: only the configured limit and what each answer used.
    a.respond(openaiReplies.embeddings(undefined, { promptTokens: 60 }));
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL), limits: { tpm: 100 } },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const served: string[] = [];
    // Estimated at one token each; reported at 60: the second fits in 100, the third does not.
    for (let i = 0; i < 3; i++) served.push((await router.embed({ input: 'four' })).deployment!);
    expect(served).toEqual(['a', 'a', 'b']);
  });

  it('paces by the inputs’ tokens alone, with no output counted', async () => {
    // 40 characters of input: 10 tokens. With an output counted (1 024 by default), not even one would fit.
    const a = await startRateLimitedLlm({ dialect: 'openai', tokens: 25, tokensWindowMs: 60_000 });
    const b = await startRateLimitedLlm({ dialect: 'openai' });
    servers.push(a, b);
    const router = createRouter({
      groups: {
        vectors: {
          deployments: [
            { id: 'a', provider: embedder(a.baseURL), limits: { tpm: 25 } },
            { id: 'b', provider: embedder(b.baseURL) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const input = ['x'.repeat(20), 'y'.repeat(20)];
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push((await router.embed({ input })).deployment!);
    expect(served).toEqual(['a', 'a', 'b']);
    expect(a.stats()).toMatchObject({ accepted: 2, limited: 0, tokens: 20 });
  });
});
