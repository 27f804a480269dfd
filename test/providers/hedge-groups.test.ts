import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HedgeOptions } from '../../src/policy/hedge.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/index.js';
import {
  type ChatChunk,
  createOpenAIProvider,
  createRouter,
  type Router,
  StreamInterruptedError,
} from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import type { FakeReply } from '../fakes/llm-http.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { installOtel } from '../fakes/otel.js';
import { hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let a: Fake;
let b: Fake;
let clock: VirtualClock;
let otel: ReturnType<typeof installOtel>;

beforeEach(async () => {
  a = await startFakeOpenAI();
  b = await startFakeOpenAI();
  clock = createVirtualClock(0);
  otel = installOtel();
});

afterEach(async () => {
  await a.close();
  await b.close();
  await otel.uninstall();
});

function router(hedge: HedgeOptions, stream = {}): Router {
  return createRouter({
    groups: {
      fast: {
        strategy: 'ordered',
        deployments: [
          { id: 'east', provider: createOpenAIProvider(openaiClient(a.baseURL), { model: 'gpt-a' }) },
          { id: 'west', provider: createOpenAIProvider(openaiClient(b.baseURL), { model: 'gpt-b' }) },
        ],
        hedge,
      },
    },
    clock,
    stream,
    telemetry: createTelemetry(),
    profile: quickProfile({ retry: { maxAttempts: 1 } }),
  });
}

/** A stream reply cut after the events up to and including the one containing `upTo` (none: headers only), then left open. */
function stallAfter(reply: FakeReply, upTo?: string): FakeReply {
  if (reply.kind !== 'sse') throw new Error('not a stream reply');
  const n = upTo === undefined ? 0 : reply.events.findIndex((e) => e.data.includes(upTo)) + 1;
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

describe('hedging in groups', () => {
  it('chat: no answer after the delay sends the call to another deployment; the first answer wins and the slow request is aborted', async () => {
    a.enqueue({ kind: 'hang' });
    b.enqueue(openaiReplies.text('from west'));
    const call = router({ afterMs: 500 }).chat(hello, { group: 'fast' });
    await a.until((r) => r.length === 1);
    await clock.advance(499);
    expect(b.count).toBe(0);
    await clock.advance(1);
    const res = await call;
    expect(res.message.content).toBe('from west');
    expect(res.deployment).toBe('west');
    await a.until((r) => r[0]!.clientClosed);
    const span = otel.span('breakwater.route chat');
    expect(span.attributes['breakwater.deployment']).toBe('west');
    expect(span.events.map((e) => e.name)).toEqual(['breakwater.hedge', 'breakwater.hedge.won']);
  });

  it('chat: the primary answering first aborts the hedge', async () => {
    a.enqueue(openaiReplies.text('from east', 300));
    b.enqueue({ kind: 'hang' });
    const call = router({ afterMs: 100 }).chat(hello, { group: 'fast' });
    await a.until((r) => r.length === 1);
    await clock.advance(100);
    await b.until((r) => r.length === 1);
    const res = await call;
    expect(res.deployment).toBe('east');
    await b.until((r) => r[0]!.clientClosed);
    expect(otel.span('breakwater.route chat').events.map((e) => e.name)).toEqual(['breakwater.hedge']);
  });

  it('stream: no first chunk after the delay hedges; the first stream to open wins, the other is closed', async () => {
    a.enqueue(stallAfter(openaiReplies.streamText(['never'])));
    b.enqueue(openaiReplies.streamText(['from ', 'west']));
    const result = drain(router({ afterMs: 500 }).stream(hello, { group: 'fast' }));
    await a.until((r) => r.length === 1);
    await clock.advance(500);
    const { chunks, error } = await result;
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('from west');
    const last = chunks.at(-1);
    expect(last?.type === 'finish' && last.response.deployment).toBe('west');
    await a.until((r) => r[0]!.clientClosed);
  });

  it('stream: never after the first chunk — a stall then ends the stream, with no second request', async () => {
    a.enqueue(stallAfter(openaiReplies.streamText(['Hel', 'lo']), '"Hel"'));
    const stream = router({ afterMs: 500 }, { idleMs: 5_000 }).stream(hello, { group: 'fast' });
    const chunks: ChatChunk[] = [];
    while (textOf(chunks) !== 'Hel') {
      const next = await stream.next();
      if (next.done) throw new Error('ended early');
      chunks.push(next.value);
    }
    const pending = stream.next();
    pending.catch(() => undefined);
    await clock.advance(5_000);
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).partialText).toBe('Hel');
    expect(b.count).toBe(0);
  });

  it('the budget caps hedges', async () => {
    a.respond(() => ({ kind: 'hang' }));
    b.respond(() => openaiReplies.text('from west'));
    const r = router({ afterMs: 100, budget: 0, minPerSecond: 0 });
    const call = r.chat(hello, { group: 'fast', deadlineMs: 1_000 });
    call.catch(() => undefined);
    await a.until((x) => x.length === 1);
    await clock.advance(100);
    // No hedge: the call waits out its share on the primary, then fails over to the next deployment.
    expect(b.count).toBe(0);
    await clock.advance(400);
    expect((await call).deployment).toBe('west');
  });

  it('options are checked, naming the field', () => {
    expect(() => router({ afterMs: -1 })).toThrow(/groups\.fast\.hedge\.afterMs: expected a non-negative/);
  });
});
