import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  type ChatChunk,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Provider,
  type Router,
  StreamInterruptedError,
  type StreamTimeouts,
} from '../../src/providers/index.js';
import { anthropicReplies, startFakeAnthropic } from '../fakes/anthropic-server.js';
import type { FakeReply } from '../fakes/llm-http.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let openai: Fake;
let anthropic: Fake;
let clock: VirtualClock;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
  clock = createVirtualClock(0);
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

const gpt = (): Provider => createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' });
const claude = (): Provider =>
  createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' });

function router(providers: Provider[], stream: StreamTimeouts): Router {
  return createRouter({
    providers,
    clock,
    stream,
    // One attempt per provider, so the counts below are the failover alone.
    profile: quickProfile({ retry: { maxAttempts: 1 } }),
  });
}

/** A stream reply cut after the events up to and including the one containing `upTo` (none: headers only), then left open. */
function stallAfter(reply: FakeReply, upTo?: string): FakeReply {
  if (reply.kind !== 'sse') throw new Error('not a stream reply');
  const n = upTo === undefined ? 0 : reply.events.findIndex((e) => e.data.includes(upTo)) + 1;
  if (upTo !== undefined && n === 0) throw new Error(`no event holds ${upTo}`);
  return { ...reply, events: reply.events.slice(0, n), end: 'hang' };
}

const textOf = (chunks: ChatChunk[]) => chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');

async function drain(stream: AsyncIterable<ChatChunk>): Promise<{ chunks: ChatChunk[]; error: unknown }> {
  const chunks: ChatChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

describe('first-chunk timeout', () => {
  it('a stream that sends headers but no chunk fails over after firstChunkMs, and its request is aborted', async () => {
    openai.enqueue(stallAfter(openaiReplies.streamText(['never'])));
    anthropic.enqueue(anthropicReplies.streamText(['from ', 'Claude']));
    const result = drain(router([gpt(), claude()], { firstChunkMs: 5_000 }).stream(hello));
    await openai.until((r) => r.length === 1);
    // Just short of the timeout: nothing moves on.
    await clock.advance(4_999);
    expect(anthropic.count).toBe(0);
    await clock.advance(1);
    const { chunks, error } = await result;
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('from Claude');
    await openai.until((r) => r[0]!.clientClosed);
    expect(openai.count).toBe(1);
  });

  it('a request with no answer at all fails over too (Anthropic first), and the error names the timeout', async () => {
    anthropic.enqueue({ kind: 'hang' });
    openai.enqueue({ kind: 'hang' });
    const result = drain(router([claude(), gpt()], { firstChunkMs: 1_000 }).stream(hello));
    await anthropic.until((r) => r.length === 1);
    await clock.advance(1_000);
    await openai.until((r) => r.length === 1);
    await clock.advance(1_000);
    const { error } = await result;
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    const failures = (error as AllProvidersFailedError).failures;
    expect(failures.map((f) => [f.provider, f.error.failure.code, f.error.failure.message])).toEqual([
      ['anthropic', 'first_chunk_timeout', 'no first chunk within stream.firstChunkMs'],
      ['openai', 'first_chunk_timeout', 'no first chunk within stream.firstChunkMs'],
    ]);
    await anthropic.until((r) => r[0]!.clientClosed);
    await openai.until((r) => r[0]!.clientClosed);
  });
});

describe('idle timeout', () => {
  for (const [name, make, stalled] of [
    ['openai', gpt, () => openai.enqueue(stallAfter(openaiReplies.streamText(['Hel', 'lo']), '"Hel"'))],
    [
      'anthropic',
      claude,
      () => anthropic.enqueue(stallAfter(anthropicReplies.streamText(['Hel', 'lo']), '"Hel"')),
    ],
  ] as const) {
    it(`${name}: a stream that stalls after its first chunk ends with StreamInterruptedError holding the partial text, no retry`, async () => {
      stalled();
      const other = name === 'openai' ? claude : gpt;
      const fake = name === 'openai' ? openai : anthropic;
      const stream = router([make(), other()], { idleMs: 2_000 }).stream(hello);
      const chunks: ChatChunk[] = [];
      while (textOf(chunks) !== 'Hel') {
        const next = await stream.next();
        if (next.done) throw new Error('ended early');
        chunks.push(next.value);
      }
      const pending = stream.next();
      pending.catch(() => undefined);
      await clock.advance(1_999);
      await clock.advance(1);
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StreamInterruptedError);
      const e = error as StreamInterruptedError;
      expect(e.partialText).toBe('Hel');
      expect(e.provider).toBe(name);
      expect(e.failure.code).toBe('stream_idle_timeout');
      expect(e.failure.kind).toBe('timeout');
      await fake.until((r) => r[0]!.clientClosed);
      // Never a silent retry: no second request anywhere.
      expect(openai.count + anthropic.count).toBe(1);
    });
  }

  it('time the caller spends on a chunk is not idle time', async () => {
    openai.enqueue(openaiReplies.streamText(['Hel', 'lo']));
    const stream = router([gpt()], { idleMs: 100 }).stream(hello);
    const first = await stream.next();
    expect(first.done).toBe(false);
    // The caller holds the stream far longer than idleMs before asking for more.
    await clock.advance(10_000);
    const { chunks, error } = await drain({ [Symbol.asyncIterator]: () => stream });
    expect(error).toBeUndefined();
    expect(chunks.at(-1)?.type).toBe('finish');
  });

  it('options are checked, naming the field', () => {
    expect(() => router([gpt()], { idleMs: 0 })).toThrow(
      /stream\.idleMs: expected a positive number of milliseconds, got 0/,
    );
    expect(() => router([gpt()], { firstChunkMs: Number.POSITIVE_INFINITY })).toThrow(/stream\.firstChunkMs/);
    expect(() => router([gpt()], { idle: 5 } as never)).toThrow(/stream\.idle: unknown option/);
  });
});

describe("a group's own stream timeouts", () => {
  function grouped(group: StreamTimeouts): Router {
    return createRouter({
      groups: { fast: { deployments: [gpt(), claude()], stream: group } },
      clock,
      stream: { firstChunkMs: 20_000, idleMs: 5_000 },
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
  }

  it("override the router's, field by field", async () => {
    openai.enqueue(stallAfter(openaiReplies.streamText(['never'])));
    anthropic.enqueue(stallAfter(anthropicReplies.streamText(['Hel', 'lo']), '"Hel"'));
    const stream = grouped({ firstChunkMs: 1_000 }).stream(hello);
    const first = stream.next();
    await openai.until((r) => r.length === 1);
    await clock.advance(1_000); // the group's first-chunk timeout: on to Claude
    const chunks: ChatChunk[] = [];
    const got = await first;
    if (!got.done) chunks.push(got.value);
    while (textOf(chunks) !== 'Hel') {
      const next = await stream.next();
      if (next.done) throw new Error('ended early');
      chunks.push(next.value);
    }
    const pending = stream.next();
    pending.catch(() => undefined);
    await clock.advance(4_999);
    expect(anthropic.requests[0]!.clientClosed).toBe(false);
    await clock.advance(1); // the router's idle timeout, which the group left as it was
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).failure.code).toBe('stream_idle_timeout');
  });

  it('are checked, naming the field', () => {
    expect(() => grouped({ idleMs: -1 })).toThrow(/groups\.fast\.stream\.idleMs: expected a positive number/);
  });
});
