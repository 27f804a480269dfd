import { type } from 'arktype';
import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CancelledError,
  type Clock,
  createMemoryStore,
  createRegistry,
  createVirtualClock,
  InvalidInputError,
  isBreakwaterError,
  OperationInFlightError,
  type StandardSchema,
  TimeoutError,
  ToolError,
} from '../../src/index.js';

/**
 * Round-3 attacks from outside, through the public API, on what this round
 * added: Standard Schema inputs and the claim check before every attempt.
 * Each test is a break found by trying (kept so it stays fixed) or guards
 * something no other test does.
 */

const OBJECT_SCHEMA = { type: 'object', properties: { a: {} } } as const;

/** A Standard Schema whose `validate` is whatever the attack needs. */
function hostile(validate: (value: unknown) => unknown): StandardSchema<{ a?: unknown }> {
  return {
    '~standard': {
      version: 1,
      vendor: 'hostile',
      validate: validate as StandardSchema<{ a?: unknown }>['~standard']['validate'],
    },
  };
}

/** A call's rejection (or undefined when it resolved). */
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('nothing waits forever: a Standard Schema that never answers', () => {
  // Drawn: what hangs (a raw never-settling promise, or valibot's own async pipe with a check that never
  // settles) and where the deadline comes from (the profile's totalMs or the caller's deadlineMs).
  const hangs = fc.constantFrom<readonly [string, () => StandardSchema]>(
    ['a promise that never settles', () => hostile(() => new Promise(() => {}))],
    [
      'valibot pipeAsync with a checkAsync that never settles',
      () =>
        v.pipeAsync(
          v.objectAsync({ a: v.string() }),
          v.checkAsync(() => new Promise<boolean>(() => {})),
        ),
    ],
  );

  it('ends at the deadline with a timeout that ran nothing, whoever set the deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        hangs,
        fc.integer({ min: 1, max: 60_000 }),
        fc.boolean(),
        async ([, make], deadlineMs, fromProfile) => {
          const clock = createVirtualClock(0);
          const registry = createRegistry({ clock });
          let ran = 0;
          registry.register({
            name: 'charge',
            input: make(),
            jsonSchema: OBJECT_SCHEMA,
            effect: 'non-idempotent',
            profile: { timeout: { attemptMs: null, totalMs: fromProfile ? deadlineMs : null } },
            execute: () => ++ran,
          });
          const err = await clock.run(
            rejection(
              registry.call(
                'charge',
                { a: 'x' },
                { callId: 'call_1', ...(fromProfile ? {} : { deadlineMs }) },
              ),
            ),
            { maxMs: deadlineMs + 1 },
          );
          expect(err).toBeInstanceOf(TimeoutError);
          expect((err as TimeoutError).outcome).toBe('failed');
          expect(clock.now()).toBe(deadlineMs);
          expect(ran).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('ends when the caller cancels, told it was cancelled before running', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    registry.register({
      name: 'charge',
      input: hostile(() => new Promise(() => {})),
      jsonSchema: OBJECT_SCHEMA,
      profile: { timeout: { attemptMs: null, totalMs: null } },
      execute: () => 1,
    });
    const controller = new AbortController();
    const pending = rejection(registry.call('charge', {}, { callId: 'c', signal: controller.signal }));
    clock.setTimeout(() => controller.abort(), 5_000);
    const err = await clock.run(pending, { maxMs: 10_000 });
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).outcome).toBe('failed');
  });
});

describe('the model is told the truth: a schema that throws or answers malformed', () => {
  const SECRET = 'card 4111-1111-1111-1111';
  // Drawn: every way a validate can fail to keep the contract. None ran the tool.
  const broken = fc.constantFrom<readonly [string, (value: unknown) => unknown]>(
    [
      'throws',
      () => {
        throw new Error(SECRET);
      },
    ],
    ['rejects', () => Promise.reject(new Error(SECRET))],
    ['throws a non-error', () => Promise.reject(SECRET)],
    ['answers undefined', () => undefined],
    ['answers null', () => null],
    ['answers a string', () => SECRET],
    ['answers issues that are not an array', () => ({ issues: SECRET })],
    ['answers issues that are not objects', () => ({ issues: [null, 7, SECRET] })],
    ['answers an issue whose path is not an array', () => ({ issues: [{ message: 'bad', path: SECRET }] })],
    ['answers an empty issue list', () => ({ issues: [] })],
  );

  it('is a typed InvalidInputError with outcome failed, nothing ran, and no thrown text reaches the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        broken,
        fc.constantFrom('idempotent', 'non-idempotent' as const),
        async ([, validate], effect) => {
          const registry = createRegistry();
          let ran = 0;
          registry.register({
            name: 'charge',
            input: hostile(validate),
            jsonSchema: OBJECT_SCHEMA,
            effect,
            execute: () => ++ran,
          });
          const err = await rejection(registry.call('charge', { a: 'x' }, { callId: 'call_1' }));
          expect(err).toBeInstanceOf(InvalidInputError);
          expect((err as InvalidInputError).outcome).toBe('failed');
          expect(String((err as Error).message)).not.toContain('4111');
          const [answer] = await registry.handleToolCalls([
            { type: 'function', id: 'call_2', function: { name: 'charge', arguments: '{"a":"x"}' } },
          ]);
          const content = (answer as { content: string }).content;
          expect(JSON.parse(content).error.outcome).toBe('failed');
          expect(content).not.toContain('4111');
          expect(ran).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a hostile issue path (symbols, wrapped keys, a huge array) names a field without throwing', async () => {
    const registry = createRegistry();
    const huge = Array.from({ length: 100_000 }, (_, i) => i);
    registry.register({
      name: 't',
      input: hostile(() => ({
        issues: [
          { message: 'm1', path: [Symbol('sym'), { key: Symbol() }, { key: 'k' }, 3] },
          { message: 'm2', path: huge },
        ],
      })),
      jsonSchema: OBJECT_SCHEMA,
      execute: () => 1,
    });
    const err = await rejection(registry.call('t', {}));
    expect(err).toBeInstanceOf(InvalidInputError);
    const issues = (err as InvalidInputError).issues;
    expect(issues[0]).toEqual({ path: 'sym.symbol.k.3', message: 'm1' });
    // Bounded however long the path: echoed back to the model on every bad call.
    expect(issues[1]!.path.length).toBeLessThan(2_000);
  });
});

describe('bad input is refused naming the field, never echoing the value', () => {
  // A secret the library quotes: "ZQ" then anything, quotes, backslashes, newlines, lone surrogates included.
  const secret = fc
    .string({
      unit: fc.constantFrom('a', '7', '"', '\\', '\n', '\t', '\ud800', 'é', '😀', "'", ' '),
      maxLength: 12,
    })
    .map((s) => `ZQ${s}`);
  const schemas = fc.constantFrom<readonly [string, () => StandardSchema, (s: string) => unknown]>(
    ['valibot picklist', () => v.object({ a: v.picklist(['red', 'blue']) }), (s) => ({ a: s })],
    ['valibot union', () => v.object({ a: v.union([v.literal('red'), v.number()]) }), (s) => ({ a: s })],
    [
      'valibot literal in an array',
      () => v.object({ a: v.array(v.literal('red')) }),
      (s) => ({ a: ['red', s] }),
    ],
    ['valibot email', () => v.object({ a: v.pipe(v.string(), v.email()) }), (s) => ({ a: s })],
    ['valibot regex', () => v.object({ a: v.pipe(v.string(), v.regex(/^\d+$/)) }), (s) => ({ a: s })],
    ['valibot nested', () => v.object({ a: v.object({ b: v.picklist(['x']) }) }), (s) => ({ a: { b: s } })],
    ['arktype picklist', () => type({ a: "'red'|'blue'" }), (s) => ({ a: s })],
    ['arktype array', () => type({ a: "'red'[]" }), (s) => ({ a: ['red', s] })],
    ['arktype email', () => type({ a: 'string.email' }), (s) => ({ a: s })],
    // Unions of objects: the issue may sit at the root while its message quotes a nested value.
    [
      'valibot union of objects',
      () => v.union([v.object({ a: v.literal('red') }), v.object({ a: v.number(), b: v.string() })]),
      (s) => ({ a: s }),
    ],
    [
      'valibot variant',
      () =>
        v.variant('kind', [
          v.object({ kind: v.literal('x'), a: v.literal('red') }),
          v.object({ kind: v.literal('y') }),
        ]),
      (s) => ({ kind: 'x', a: s }),
    ],
    [
      'valibot variant key',
      () => v.variant('kind', [v.object({ kind: v.literal('x') })]),
      (s) => ({ kind: s }),
    ],
    ['valibot tuple', () => v.object({ a: v.tuple([v.literal('red')]) }), (s) => ({ a: [s] })],
    [
      'arktype union of objects',
      () => type({ a: "'red'" }).or({ a: 'number', b: 'string' }),
      (s) => ({ a: s }),
    ],
    [
      'arktype discriminated union',
      () => type({ kind: "'x'", a: "'red'" }).or({ kind: "'y'" }),
      (s) => ({ kind: 'x', a: s }),
    ],
    ['arktype union key', () => type({ kind: "'x'" }).or({ kind: "'y'" }), (s) => ({ kind: s })],
    ['arktype nested record', () => type({ a: { '[string]': "'red'" } }), (s) => ({ a: { k: s } })],
  );

  it('the text the model reads does not depend on the offending string (valibot and arktype)', async () => {
    await fc.assert(
      fc.asyncProperty(schemas, secret, secret, async ([, make, args], one, other) => {
        fc.pre(one !== other);
        const registry = createRegistry();
        registry.register({
          name: 't',
          input: make(),
          jsonSchema: { type: 'object', properties: { a: {} } },
          execute: () => 1,
        });
        const told = async (s: string) => {
          const err = await rejection(registry.call('t', args(s)));
          expect(err).toBeInstanceOf(InvalidInputError);
          return JSON.stringify((err as InvalidInputError).issues);
        };
        const a = await told(one);
        expect(a).not.toContain(JSON.stringify(one).slice(1, -1));
        expect(a).not.toContain(one);
        // Differential: two different values, one text.
        expect(a).toBe(await told(other));
      }),
      { numRuns: 150 },
    );
  });
});

/**
 * A process's monotonic clock over a virtual one: `pause(ms)` is time the
 * process did not see pass (SIGSTOP, a long GC); its timers fire late.
 */
function pausableClock(start: number) {
  const base = createVirtualClock(start);
  let slept = 0;
  const clock: Clock = {
    now: () => base.now() + slept,
    setTimeout: (callback, ms) => base.setTimeout(callback, ms),
    clearTimeout: (handle) => base.clearTimeout(handle),
  };
  return { clock, base, pause: (ms: number) => (slept += ms) };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('never twice: the claim check and the first attempt', () => {
  it('a call paused while queued at the gate does not run after another process took its claim over', async () => {
    const world = createVirtualClock(0);
    const store = createMemoryStore({ clock: world });
    const first = pausableClock(0);
    const runs: string[] = [];
    let release: () => void = () => {};
    const make = (name: string, clock: Clock) => {
      const registry = createRegistry({ store, clock, random: () => 0.5 });
      registry.register({
        name: 'sync_inventory',
        input: z.object({ sku: z.string() }),
        effect: 'idempotent',
        // One at a time, queued without limit; no deadline: the claim is a renewed 30 s lease.
        profile: {
          timeout: { attemptMs: null, totalMs: null },
          gate: { concurrency: 1, maxQueue: 8, queueTimeoutMs: null, rate: null, maxCooldownMs: 60_000 },
        },
        execute: async ({ sku }) => {
          if (sku === 'BLOCK') return new Promise((r) => (release = () => r({ sku })));
          runs.push(name);
          return { sku, by: name };
        },
      });
      return registry;
    };
    const a = make('first', first.clock);
    const b = make('second', world);
    // An unkeyed call holds the gate's one slot on the first process.
    const blocker = a.call('sync_inventory', { sku: 'BLOCK' });
    for (let i = 0; i < 5; i++) await turn();
    // The keyed call claims its key, then waits in the gate's queue.
    const call = { callId: 'call_sync', scope: 'tenant-1' };
    const one = rejection(a.call('sync_inventory', { sku: 'X1' }, call));
    for (let i = 0; i < 20; i++) await turn();
    expect(runs).toEqual([]);

    // Paused while queued, past its lease; the call is re-delivered to another process, which takes it over.
    first.pause(120_000);
    await world.advance(120_000);
    expect(await b.call('sync_inventory', { sku: 'X1' }, call)).toEqual({ sku: 'X1', by: 'second' });

    // The first wakes; the slot frees; its first attempt must not be a second execution.
    release();
    await blocker;
    const err = await one;
    expect(err).toBeInstanceOf(OperationInFlightError);
    expect(runs).toEqual(['second']);
  });
});

describe('never twice: calling again after OperationInFlightError(taken_over)', () => {
  it('while the process that took it over is still running it: waits for its result, runs nothing', async () => {
    const world = createVirtualClock(0);
    const store = createMemoryStore({ clock: world });
    const first = pausableClock(0);
    const runs: string[] = [];
    let finish: () => void = () => {};
    const make = (name: string, clock: Clock) => {
      const registry = createRegistry({ store, clock, random: () => 0.5 });
      registry.register({
        name: 'sync_inventory',
        input: z.object({ sku: z.string() }),
        effect: 'idempotent',
        profile: { timeout: { attemptMs: null, totalMs: null } },
        execute: async ({ sku }) => {
          runs.push(name);
          if (name === 'first')
            throw new ToolError('busy', { kind: 'server_error', delivery: 'not_processed' });
          await new Promise<void>((r) => (finish = r));
          return { sku, by: name };
        },
      });
      return registry;
    };
    const a = make('first', first.clock);
    const b = make('second', world);
    const call = { callId: 'call_again', scope: 'tenant-1' };
    const one = rejection(a.call('sync_inventory', { sku: 'X1' }, call));
    for (let i = 0; i < 20 && runs.length === 0; i++) await turn();
    first.pause(120_000);
    await world.advance(120_000);
    // Taken over, and still running there.
    const theirs = b.call('sync_inventory', { sku: 'X1' }, call);
    for (let i = 0; i < 20 && runs.length < 2; i++) await turn();
    expect(runs).toEqual(['first', 'second']);
    await first.base.advance(120_000);
    expect(await one).toBeInstanceOf(OperationInFlightError);

    // The caller does what the error says: calls again with the same key, on the first process.
    const again = a.call('sync_inventory', { sku: 'X1' }, call);
    await first.base.advance(1_000);
    expect(runs).toEqual(['first', 'second']);
    finish();
    await theirs;
    await first.base.advance(1_000);
    expect(await again).toEqual({ sku: 'X1', by: 'second' });
    expect(runs).toEqual(['first', 'second']);
  });
});

describe('never twice: a host suspended between attempts', () => {
  it('does not retry after its sleep let the claim lapse, though its monotonic clock saw no time pass', async () => {
    const world = createVirtualClock(0);
    const store = createMemoryStore({ clock: world });
    // The first process's host sleeps: its monotonic clock (performance.now) stops, its wall clock does not.
    const base = createVirtualClock(0);
    let asleep = 0;
    const suspended: Clock = {
      now: () => base.now(),
      wallNow: () => base.now() + asleep,
      setTimeout: (callback, ms) => base.setTimeout(callback, ms),
      clearTimeout: (handle) => base.clearTimeout(handle),
    };
    const runs: string[] = [];
    const make = (name: string, clock: Clock) => {
      const registry = createRegistry({ store, clock, random: () => 0.5 });
      registry.register({
        name: 'sync_inventory',
        input: z.object({ sku: z.string() }),
        effect: 'idempotent',
        profile: { timeout: { attemptMs: null, totalMs: null } },
        execute: ({ sku }) => {
          runs.push(name);
          if (name === 'first' && runs.length === 1)
            throw new ToolError('busy', { kind: 'server_error', delivery: 'not_processed' });
          return { sku, by: name };
        },
      });
      return registry;
    };
    const a = make('first', suspended);
    const b = make('second', world);
    const call = { callId: 'call_sleep', scope: 'tenant-1' };
    const one = rejection(a.call('sync_inventory', { sku: 'X1' }, call));
    for (let i = 0; i < 20 && runs.length === 0; i++) await turn();
    await turn();
    expect(runs).toEqual(['first']);

    // Asleep two minutes, in its backoff: the store's clock goes on, the lease (30 s) lapses, the call is
    // re-delivered to another process, which takes it over.
    asleep = 120_000;
    await world.advance(120_000);
    expect(await b.call('sync_inventory', { sku: 'X1' }, call)).toEqual({ sku: 'X1', by: 'second' });

    // Awake: what is left of its backoff passes, and the retry must not be a second execution.
    await base.advance(60_000);
    expect(await one).toBeInstanceOf(OperationInFlightError);
    expect(runs).toEqual(['first', 'second']);
  });
});

// Keep the imports honest for the checks that use them only in types.
void isBreakwaterError;

describe('never twice: a schema whose output differs on every validation', () => {
  // Each validation stamps a fresh value (a request id, a timestamp): valibot's and zod's defaults, and a
  // valibot transform. The same model call, delivered twice, must still be one operation.
  let n = 0;
  const stamp = () => `req-${++n}`;
  const stamping = fc.constantFrom<readonly [string, () => z.ZodObject | StandardSchema]>(
    [
      'valibot optional default',
      () => v.object({ sku: v.string(), requestId: v.optional(v.string(), stamp) }),
    ],
    [
      'valibot transform',
      () =>
        v.pipe(
          v.object({ sku: v.string() }),
          v.transform((o) => ({ ...o, requestId: stamp() })),
        ),
    ],
    ['zod default', () => z.object({ sku: z.string(), requestId: z.string().default(stamp) })],
  );

  it('a re-delivered call id replays its result instead of being refused as key reuse', async () => {
    await fc.assert(
      fc.asyncProperty(
        stamping,
        fc.constantFrom('idempotent', 'non-idempotent' as const),
        async ([, make], effect) => {
          const registry = createRegistry();
          let ran = 0;
          registry.register({
            name: 'reserve',
            input: make(),
            jsonSchema: {
              type: 'object',
              properties: { sku: { type: 'string' }, requestId: { type: 'string' } },
            },
            effect,
            execute: () => ({ reservation: ++ran }),
          });
          const delivery = [
            { type: 'function', id: 'call_r', function: { name: 'reserve', arguments: '{"sku":"X1"}' } },
          ];
          const [one] = await registry.handleToolCalls(delivery);
          const [two] = await registry.handleToolCalls(delivery);
          expect(ran).toBe(1);
          expect((two as { content: string }).content).toBe((one as { content: string }).content);
          // Still one key, one input: the same call id sent with other arguments is refused, not run.
          const other = [
            { type: 'function', id: 'call_r', function: { name: 'reserve', arguments: '{"sku":"X2"}' } },
          ];
          const [three] = await registry.handleToolCalls(other);
          expect((three as { content: string }).content).toMatch(/already used with different input/);
          expect(ran).toBe(1);
        },
      ),
      { numRuns: 20 },
    );
  });
});
