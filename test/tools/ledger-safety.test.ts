/**
 * Issue 12, the ledger's part, through the public API against real local
 * HTTP services: a ledger that cannot forget (4), claims that are leases (5),
 * reconcile that ends and fails safe (6, registry side), abandoned claims
 * reconciled (7), validation before claiming (9), one outcome per cancel
 * (10) and keys bounded by scope (16).
 */
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { createFakeImageApi, createFakePaymentApi, type ImageApi, type PaymentApi } from 'breakwater/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAiSdkTools } from '../../src/ai-sdk.js';
import { CancelledError, InvalidInputError, isBreakwaterError } from '../../src/failure/errors.js';
import { LedgerFullError, PreviousOutcomeUnknownError } from '../../src/idempotency/errors.js';
import type { Clock } from '../../src/policy/clock.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createMemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';
import { ToolDefinitionError } from '../../src/tools/errors.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';

let images: ImageApi;
let payments: PaymentApi;
beforeAll(async () => {
  [images, payments] = await Promise.all([createFakeImageApi(), createFakePaymentApi()]);
});
afterAll(async () => {
  await Promise.all([images.close(), payments.close()]);
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const settle = () => new Promise<void>((r) => setImmediate(r));
let ops = 0;
const nextOp = () => `op-${process.pid}-${++ops}`;

interface Image {
  readonly id: string;
  readonly op: string;
}

/** A non-idempotent image tool: every processed POST bills one image; it sends the key as `ref`. */
function imageTool(
  registry: Registry,
  options: {
    reconcile?: (key: string) => Promise<unknown>;
    profile?: Parameters<Registry['register']>[0]['profile'];
    after?: () => Promise<void>;
  } = {},
) {
  registry.register({
    name: 'generate_image',
    input: z.object({ op: z.string() }),
    ...(options.profile ? { profile: options.profile } : {}),
    idempotency: options.reconcile
      ? {
          reconcile: options.reconcile as (
            key: string,
          ) => Promise<{ found: true; value: Image } | { found: false }>,
        }
      : {},
    execute: async ({ op }, ctx) => {
      const res = await ctx.fetch(`${images.url}/v1/images`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ op, ref: ctx.idempotencyKey }),
      });
      const image = (await res.json()) as Image;
      await options.after?.();
      return image;
    },
  });
}

/** Looks the image up by the reference the tool sent, on the real API. */
const lookUpImage = async (key: string) => {
  const res = await fetch(`${images.url}/v1/images?ref=${encodeURIComponent(key)}`);
  const { data } = (await res.json()) as { data: Image[] };
  return data[0] ? { found: true, value: data[0] } : { found: false };
};

describe('item 4: the in-process ledger cannot forget what matters', () => {
  it('an unknown outcome survives any number of later keyed calls: its re-delivery is refused, not re-run', async () => {
    const registry = createRegistry({ store: createMemoryStore({ maxEntries: 5 }) });
    imageTool(registry);
    registry.register({
      name: 'caption',
      effect: 'idempotent',
      input: z.object({ n: z.number() }),
      execute: ({ n }) => `caption ${n}`,
    });
    const op = nextOp();
    images.schedule('error_500_after_processing');
    const first = await rejection(registry.call('generate_image', { op }, { callId: 'call_doubt' }));
    expect(first).toMatchObject({ code: 'outcome_unknown' });
    // Many more keyed calls than the store holds: their replayable results make room, the unknown one stays.
    for (let i = 0; i < 20; i++) await registry.call('caption', { n: i }, { callId: `call_${i}` });
    const again = await rejection(registry.call('generate_image', { op }, { callId: 'call_doubt' }));
    expect(again).toBeInstanceOf(PreviousOutcomeUnknownError);
    expect(images.imagesFor(op)).toBe(1);
  });

  it('the result of a non-idempotent call is not forgotten either: its re-delivery replays', async () => {
    const registry = createRegistry({ store: createMemoryStore({ maxEntries: 5 }) });
    imageTool(registry);
    registry.register({
      name: 'caption',
      effect: 'idempotent',
      input: z.object({ n: z.number() }),
      execute: ({ n }) => `caption ${n}`,
    });
    const op = nextOp();
    const first = await registry.call('generate_image', { op }, { callId: `call_${op}` });
    for (let i = 0; i < 20; i++) await registry.call('caption', { n: i }, { callId: `call_${i}` });
    expect(await registry.call('generate_image', { op }, { callId: `call_${op}` })).toEqual(first);
    expect(images.imagesFor(op)).toBe(1);
  });

  it('a store full of records it must keep refuses a new keyed call with a typed error, and runs nothing', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({
      clock,
      store: createMemoryStore({ clock, maxEntries: 2 }),
      ledgerTtlMs: 60_000,
    });
    let hold!: () => void;
    const held = new Promise<void>((r) => {
      hold = r;
    });
    imageTool(registry, { after: () => held });
    const op = nextOp();
    const inFlight = [0, 1].map((i) =>
      registry.call('generate_image', { op: `${op}-${i}` }, { callId: `call_${op}_${i}` }),
    );
    while (images.imagesFor(`${op}-0`) + images.imagesFor(`${op}-1`) < 2) await settle();
    const err = await rejection(registry.call('generate_image', { op }, { callId: `call_${op}_new` }));
    expect(err).toBeInstanceOf(LedgerFullError);
    expect(err).toMatchObject({ code: 'dependency_failed', failure: { code: 'ledger_full' } });
    expect((err as Error).message).toMatch(/full of calls in flight/);
    expect(images.imagesFor(op)).toBe(0);
    hold();
    await Promise.all(inFlight);
    // Their results must be kept too (repeating them is unsafe) until they expire; then there is room.
    expect(
      await rejection(registry.call('generate_image', { op }, { callId: `call_${op}_new` })),
    ).toBeInstanceOf(LedgerFullError);
    await clock.advance(60_001);
    expect(await registry.call('generate_image', { op }, { callId: `call_${op}_new` })).toMatchObject({ op });
    expect(images.imagesFor(op)).toBe(1);
  });
});

describe('item 5: a claim is a lease, separate from the record TTL', () => {
  it('a record TTL shorter than the deadline plus grace is refused at registration, naming both', () => {
    const registry = createRegistry({ ledgerTtlMs: 1_000 });
    let err: unknown;
    try {
      imageTool(registry, { profile: { timeout: { attemptMs: 1_000, totalMs: 2_000 } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ToolDefinitionError);
    expect((err as Error).message).toMatch(/profile\.timeout\.totalMs: .*ledgerTtlMs/);
  });

  /** Two registries (two agents) on one store; the tool takes `opMs` on the clock. */
  function twins(clock: Clock & { now(): number }, store: StateStore, opMs: number) {
    let runs = 0;
    const make = () => {
      const registry = createRegistry({ clock, store, ledgerTtlMs: 1_000, ledgerLeaseGraceMs: 500 });
      registry.register({
        name: 'send_invoice',
        input: z.object({ to: z.string() }),
        profile: { timeout: { attemptMs: null, totalMs: null } },
        execute: async ({ to }) => {
          runs++;
          await new Promise<void>((r) => clock.setTimeout(r, opMs));
          return { sent: to, run: runs };
        },
      });
      return registry;
    };
    return { a: make(), b: make(), runs: () => runs };
  }

  it('1 s TTL, 2 s operation, a twin at 1.2 s: runs once (memory store, virtual clock)', async () => {
    const clock = createVirtualClock(0);
    const { a, b, runs } = twins(clock, createMemoryStore({ clock }), 2_000);
    const first = a.call('send_invoice', { to: 'x' }, { callId: 'call_1' });
    await clock.advance(1_200);
    const twin = b.call('send_invoice', { to: 'x' }, { callId: 'call_1' });
    const [one, two] = await clock.run(Promise.all([first, twin]));
    expect(runs()).toBe(1);
    expect(two).toEqual(one);
  });

  it('an operation longer than its lease keeps it by renewal: a twin waits rather than take it for dead', async () => {
    const clock = createVirtualClock(0);
    // 70 s against a 30 s lease for operations without a deadline.
    const { a, b, runs } = twins(clock, createMemoryStore({ clock }), 70_000);
    const first = a.call('send_invoice', { to: 'y' }, { callId: 'call_2' });
    await clock.advance(65_000);
    const twin = b.call('send_invoice', { to: 'y' }, { callId: 'call_2' });
    const [one, two] = await clock.run(Promise.all([first, twin]));
    expect(runs()).toBe(1);
    expect(two).toEqual(one);
  });
});

describe('item 6 (registry side): reconcile ends, and fails safe', () => {
  it('a hanging reconcile ends when the caller aborts, not at the deadline', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    let seen: AbortSignal | undefined;
    registry.register({
      name: 'hang',
      input: z.object({}),
      idempotency: {
        reconcile: (_k, _i, ctx) => {
          seen = ctx.signal;
          return new Promise(() => {});
        },
      },
      execute: async () => {
        throw Object.assign(new Error('HTTP 500'), { status: 500 });
      },
    });
    const ctrl = new AbortController();
    const call = rejection(
      registry.call('hang', {}, { callId: 'c1', deadlineMs: 5_000, signal: ctrl.signal }),
    );
    await clock.advance(100);
    ctrl.abort();
    const err = await clock.run(call, { maxMs: 1 });
    expect(isBreakwaterError(err)).toBe(true);
    expect((err as { outcome: string }).outcome).toBe('unknown');
    expect(seen?.aborted).toBe(true);
    expect(clock.now()).toBe(100);
  });

  it('with totalMs: null, a hanging reconcile still ends at the caller abort', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    registry.register({
      name: 'hang',
      input: z.object({}),
      profile: { timeout: { attemptMs: null, totalMs: null } },
      idempotency: { reconcile: () => new Promise(() => {}) },
      execute: async () => {
        throw Object.assign(new Error('HTTP 500'), { status: 500 });
      },
    });
    const ctrl = new AbortController();
    const call = rejection(registry.call('hang', {}, { callId: 'c2', signal: ctrl.signal }));
    await clock.advance(100);
    ctrl.abort();
    const err = await clock.run(call, { maxMs: 1 });
    expect((err as { outcome: string }).outcome).toBe('unknown');
  });

  for (const [what, answer] of [
    ['the value itself', { id: 'img_x', op: 'x' }],
    ['{}', {}],
    ['undefined', undefined],
    ['null', null],
    ['{ found: "no" }', { found: 'no' }],
  ] as const) {
    it(`a malformed answer (${what}) is outcome unknown: never run again, never a raw TypeError`, async () => {
      const registry = createRegistry();
      imageTool(registry, { reconcile: async () => answer });
      const op = nextOp();
      images.schedule('error_500_after_processing');
      const err = await rejection(registry.call('generate_image', { op }, { callId: `call_${op}` }));
      expect(isBreakwaterError(err)).toBe(true);
      expect(err).toMatchObject({ code: 'outcome_unknown', outcome: 'unknown' });
      expect(images.imagesFor(op)).toBe(1);
    });
  }
});

describe('item 7: an abandoned claim is reconciled when the tool can', () => {
  /**
   * Registry A's process "dies" mid-call: its store stops answering (and so
   * its lease is never renewed or settled). Registry B shares the store.
   */
  function twoProcesses(reconcile: boolean, dieAfterPost: boolean) {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock });
    let dead = false;
    const never = () => new Promise<never>(() => {});
    const dying: StateStore = {
      setIfAbsent: (...a) => (dead ? never() : store.setIfAbsent(...a)),
      get: (...a) => (dead ? never() : store.get(...a)),
      compareAndSet: (...a) => (dead ? never() : store.compareAndSet(...a)),
      compareAndDelete: (...a) => (dead ? never() : store.compareAndDelete(...a)),
    };
    let died!: () => void;
    const gone = new Promise<void>((r) => {
      died = r;
    });
    const profile = { timeout: { attemptMs: null, totalMs: 10_000 } };
    const a = createRegistry({ clock, store: dying });
    const b = createRegistry({ clock, store });
    const options = reconcile ? { reconcile: lookUpImage, profile } : { profile };
    // A dies before its request when told to, else right after its image is billed.
    a.register({
      name: 'generate_image',
      input: z.object({ op: z.string() }),
      profile,
      ...(reconcile ? { idempotency: { reconcile: lookUpImage as never } } : {}),
      execute: async ({ op }, ctx) => {
        if (dieAfterPost)
          await ctx.fetch(`${images.url}/v1/images`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ op, ref: ctx.idempotencyKey }),
          });
        dead = true;
        died();
        return new Promise<never>(() => {});
      },
    });
    imageTool(b, options);
    return { clock, a, b, gone };
  }

  it('its operation took effect: reconcile finds it, and that is the answer (one image)', async () => {
    const { clock, a, b, gone } = twoProcesses(true, true);
    const op = nextOp();
    void a.call('generate_image', { op }, { callId: `dead_${op}` }).catch(() => {});
    await gone;
    await clock.advance(16_000); // past the lease: 10 s deadline + 5 s grace
    const value = await b.call('generate_image', { op }, { callId: `dead_${op}` });
    expect(value).toMatchObject({ op });
    expect(images.imagesFor(op)).toBe(1);
    // Recorded: a later delivery replays it.
    expect(await b.call('generate_image', { op }, { callId: `dead_${op}` })).toEqual(value);
  });

  it('its operation never happened: reconcile says so, and it runs once', async () => {
    const { clock, a, b, gone } = twoProcesses(true, false);
    const op = nextOp();
    void a.call('generate_image', { op }, { callId: `dead_${op}` }).catch(() => {});
    await gone;
    await clock.advance(16_000);
    expect(await b.call('generate_image', { op }, { callId: `dead_${op}` })).toMatchObject({ op });
    expect(images.imagesFor(op)).toBe(1);
  });

  it('without a reconcile hook it stays outcome unknown', async () => {
    const { clock, a, b, gone } = twoProcesses(false, true);
    const op = nextOp();
    void a.call('generate_image', { op }, { callId: `dead_${op}` }).catch(() => {});
    await gone;
    await clock.advance(16_000);
    const err = await rejection(b.call('generate_image', { op }, { callId: `dead_${op}` }));
    expect(err).toBeInstanceOf(PreviousOutcomeUnknownError);
    expect(images.imagesFor(op)).toBe(1);
  });
});

describe('item 9: validate before claiming', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['deadlineMs NaN', { deadlineMs: Number.NaN }, 'deadlineMs'],
    ['deadlineMs -1', { deadlineMs: -1 }, 'deadlineMs'],
    ['deadlineMs Infinity', { deadlineMs: Number.POSITIVE_INFINITY }, 'deadlineMs'],
    ['deadlineMs as a string', { deadlineMs: '100' }, 'deadlineMs'],
    ['an empty scope', { scope: '' }, 'scope'],
    ['a callId that is not a string', { callId: 42 }, 'callId'],
    ['an idempotencyKey with spaces', { idempotencyKey: 'has spaces' }, 'idempotencyKey'],
    ['a signal that is not one', { signal: { aborted: false } }, 'signal'],
  ];
  for (const [what, bad, field] of cases) {
    it(`${what}: InvalidInputError naming ${field}, nothing run, the key still free`, async () => {
      const registry = createRegistry();
      imageTool(registry);
      const op = nextOp();
      const err = await rejection(
        registry.call('generate_image', { op }, { callId: `call_${op}`, ...(bad as object) }),
      );
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).issues.map((i) => i.path)).toContain(field);
      expect(images.imagesFor(op)).toBe(0);
      // Nothing was recorded: the same call with good options runs.
      expect(await registry.call('generate_image', { op }, { callId: `call_${op}` })).toMatchObject({ op });
      expect(images.imagesFor(op)).toBe(1);
    });
  }

  it('deadlineMs 0 with no lease grace is a call that times out at once, not a raw RangeError', async () => {
    const registry = createRegistry({ ledgerLeaseGraceMs: 0 });
    imageTool(registry);
    const op = nextOp();
    const err = await rejection(
      registry.call('generate_image', { op }, { callId: `call_${op}`, deadlineMs: 0 }),
    );
    expect(isBreakwaterError(err)).toBe(true);
    expect(images.imagesFor(op)).toBe(0);
  });

  it('a key function returning an invalid key: InvalidInputError naming idempotency.key, the model not told "may have taken effect"', async () => {
    const registry = createRegistry();
    let runs = 0;
    registry.register({
      name: 'charge',
      input: z.object({ n: z.number() }),
      idempotency: { key: () => '' },
      execute: () => ++runs,
    });
    const [r] = await registry.handleToolCalls([
      { type: 'function_call', call_id: 'c', name: 'charge', arguments: '{"n":1}' },
    ]);
    const payload = JSON.parse(r!.output) as { error: { type: string; outcome: string; details: unknown } };
    expect(payload.error).toMatchObject({ type: 'invalid_input', outcome: 'failed' });
    expect(JSON.stringify(payload.error.details)).toMatch(/idempotency\.key/);
    expect(runs).toBe(0);
  });
});

describe('item 10: a non-idempotent call aborted in flight says unknown everywhere', () => {
  it('the thrown error, the ledger and the model agree', async () => {
    const registry = createRegistry();
    let started!: () => void;
    const begun = new Promise<void>((r) => {
      started = r;
    });
    registry.register({
      name: 'pay',
      input: z.object({}),
      execute: (_input, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          started();
        }),
    });
    const ctrl = new AbortController();
    const call = rejection(registry.call('pay', {}, { callId: 'c1', signal: ctrl.signal }));
    await begun;
    ctrl.abort();
    const err = await call;
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ code: 'cancelled', outcome: 'unknown', retryable: false });
    // The ledger: the same call is refused as unknown.
    expect(await rejection(registry.call('pay', {}, { callId: 'c1' }))).toMatchObject({
      code: 'outcome_unknown',
      outcome: 'unknown',
    });
    // The model, for another call cancelled the same way.
    const ctrl2 = new AbortController();
    let started2!: () => void;
    const begun2 = new Promise<void>((r) => {
      started2 = r;
    });
    registry.register({
      name: 'pay2',
      input: z.object({}),
      execute: (_input, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          started2();
        }),
    });
    const answer = registry.handleToolCalls([{ type: 'tool_use', id: 't2', name: 'pay2', input: {} }], {
      signal: ctrl2.signal,
    });
    await begun2;
    ctrl2.abort();
    const [r] = await answer;
    expect(JSON.parse(r!.content as string).error).toMatchObject({ outcome: 'unknown' });
  });
});

describe('item 16: every derived key is bounded by the call scope', () => {
  function chargeRegistry(options: { requireScope?: boolean } = {}) {
    const registry = createRegistry(options);
    registry.register({
      name: 'charge_card',
      input: z.object({ order: z.string(), amount: z.number().int().positive() }),
      idempotency: { honored: true },
      execute: async (input, ctx) => {
        const res = await ctx.fetch(`${payments.url}/v1/charges`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...input, currency: 'eur' }),
        });
        return (await res.json()) as { id: string; order: string };
      },
    });
    return registry;
  }

  it('the same call id under two tenants is two charges, each tenant sees its own; a third with another amount is not key reuse', async () => {
    const registry = chargeRegistry();
    const order = nextOp();
    const a = (await registry.call(
      'charge_card',
      { order, amount: 735 },
      { callId: 'call_0', scope: 'tenant-A' },
    )) as { id: string };
    const b = (await registry.call(
      'charge_card',
      { order, amount: 735 },
      { callId: 'call_0', scope: 'tenant-B' },
    )) as { id: string };
    expect(payments.chargesFor(order)).toBe(2);
    expect(b.id).not.toBe(a.id);
    const c = await registry.call(
      'charge_card',
      { order, amount: 99 },
      { callId: 'call_0', scope: 'tenant-C' },
    );
    expect(c).toMatchObject({ order });
    expect(payments.chargesFor(order)).toBe(3);
    // Within one tenant the call id still means one operation.
    expect(
      await registry.call('charge_card', { order, amount: 735 }, { callId: 'call_0', scope: 'tenant-A' }),
    ).toEqual(a);
    expect(payments.chargesFor(order)).toBe(3);
  });

  it('through handleToolCalls: two conversations numbering their calls alike are not one operation', async () => {
    const registry = chargeRegistry();
    const order = nextOp();
    const call = {
      type: 'function_call' as const,
      call_id: 'functions.charge_card:0',
      name: 'charge_card',
      arguments: JSON.stringify({ order, amount: 5 }),
    };
    const [u1] = await registry.handleToolCalls([call], { scope: 'user-1' });
    const [u2] = await registry.handleToolCalls([call], { scope: 'user-2' });
    expect(JSON.parse(u1!.output).id).not.toBe(JSON.parse(u2!.output).id);
    expect(payments.chargesFor(order)).toBe(2);
  });

  it('through the AI SDK adapter: the same numbered call id from two users is two operations, each shown its own', async () => {
    const registry = createRegistry();
    let charged = 0;
    registry.register({
      name: 'send_email',
      input: z.object({ to: z.string() }),
      execute: async ({ to }) => ({ sent: to, n: ++charged }),
    });
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: 1, text: 1, reasoning: 0 },
    };
    const run = async (user: string, to: string) => {
      let step = 0;
      const model = new MockLanguageModelV3({
        doGenerate: async () =>
          step++ === 0
            ? {
                content: [
                  {
                    type: 'tool-call' as const,
                    toolCallId: 'functions.send_email:0',
                    toolName: 'send_email',
                    input: JSON.stringify({ to }),
                  },
                ],
                finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' },
                usage,
                warnings: [],
              }
            : { content: [], finishReason: { unified: 'stop' as const, raw: 'stop' }, usage, warnings: [] },
      });
      const result = await generateText({
        model,
        prompt: 'send it',
        tools: createAiSdkTools(registry, { scope: user }),
        stopWhen: stepCountIs(2),
      });
      return result.steps[0]!.toolResults[0]!.output;
    };
    expect(await run('user-1', 'a@example.com')).toEqual({ sent: 'a@example.com', n: 1 });
    expect(await run('user-2', 'b@example.com')).toEqual({ sent: 'b@example.com', n: 2 });
    expect(charged).toBe(2);
  });

  it('a registry can require a scope: a call without one is refused, naming it, before anything runs', async () => {
    const registry = chargeRegistry({ requireScope: true });
    const order = nextOp();
    const err = await rejection(registry.call('charge_card', { order, amount: 5 }, { callId: 'call_0' }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues).toEqual([expect.objectContaining({ path: 'scope' })]);
    expect(payments.chargesFor(order)).toBe(0);
  });
});
