import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError, isBreakwaterError } from '../../src/failure/errors.js';
import { IdempotencyKeyReusedError } from '../../src/idempotency/errors.js';
import { contentKey, keyFromCallId } from '../../src/idempotency/keys.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { ToolDefinitionError, ToolError, ToolOutputError } from '../../src/tools/errors.js';
import { createRegistry, type ToolContext } from '../../src/tools/registry.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const bookInput = z.object({
  flight: z.string().max(16),
  seats: z.number().int().min(1).max(9),
  passenger: z.object({ name: z.string().max(100) }),
});

function bookingRegistry() {
  const clock = createVirtualClock(0);
  const registry = createRegistry({ clock });
  const seen: Array<{ input: unknown; ctx: ToolContext }> = [];
  const tool = registry.register({
    name: 'book_flight',
    description: 'Books seats on a flight.',
    input: bookInput,
    execute: async (input, ctx) => {
      seen.push({ input, ctx });
      return { booking: `B-${input.flight}`, seats: input.seats };
    },
  });
  return { registry, tool, seen, clock };
}

describe('register', () => {
  it('refuses names the providers would refuse, and duplicates', () => {
    const registry = createRegistry();
    const def = { input: z.object({}), execute: () => 1 };
    for (const name of ['', 'has space', 'a'.repeat(65), 'dot.ted', 'ünïcode']) {
      expect(() => registry.register({ ...def, name })).toThrow(ToolDefinitionError);
    }
    registry.register({ ...def, name: 'ok_name-1' });
    expect(() => registry.register({ ...def, name: 'ok_name-1' })).toThrow(/already registered/);
  });

  it('names every problem of a bad definition at once', () => {
    const registry = createRegistry();
    const bad = {
      name: 'x y',
      input: z.string(),
      effect: 'sometimes',
      profile: { timeout: { attemptMs: -1 } },
      idempotency: { key: 'whatever' },
      execute: 'not a function',
    } as unknown as Parameters<typeof registry.register>[0];
    const err = (() => {
      try {
        registry.register(bad);
      } catch (e) {
        return e;
      }
    })() as ToolDefinitionError;
    expect(err).toBeInstanceOf(ToolDefinitionError);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'input', 'effect', 'idempotency.key', 'execute']));
  });

  it('names the bad profile field, under the tool', () => {
    const registry = createRegistry();
    expect(() =>
      registry.register({
        name: 'slow',
        input: z.object({}),
        profile: { timeout: { attemptMs: -1 } },
        execute: () => 1,
      }),
    ).toThrow(/invalid tool "slow": profile\.timeout\.attemptMs/);
    expect(() =>
      registry.register({ name: 'nope', input: z.object({}), profile: 'no-such-profile', execute: () => 1 }),
    ).toThrow(/profile.*no built-in profile named "no-such-profile"/);
  });

  it('refuses an input schema that cannot be shown to a model', () => {
    const registry = createRegistry();
    expect(() =>
      registry.register({ name: 'when', input: z.object({ at: z.date() }), execute: () => 1 }),
    ).toThrow(/input: cannot be expressed as JSON Schema/);
  });

  it('is non-idempotent unless declared, with one policy (and breaker) per tool', () => {
    const registry = createRegistry({ profiles: { fast: { timeout: { attemptMs: 500, totalMs: 1_000 } } } });
    const a = registry.register({ name: 'a', input: z.object({}), execute: () => 1 });
    const b = registry.register({
      name: 'b',
      input: z.object({}),
      effect: 'idempotent',
      profile: 'fast',
      execute: () => 1,
    });
    const c = registry.register({
      name: 'c',
      input: z.object({}),
      profile: { retry: { maxAttempts: 2 } },
      execute: () => 1,
    });
    expect(a.effect).toBe('non-idempotent');
    expect(a.policy.profile.name).toBe('non-idempotent');
    expect(b.effect).toBe('idempotent');
    expect(b.policy.profile.timeout.attemptMs).toBe(500);
    expect(c.policy.profile.retry.maxAttempts).toBe(2);
    expect(c.policy.profile.effect).toBe('non-idempotent');
    expect(a.policy.breaker).not.toBe(b.policy.breaker);
    expect(registry.names).toEqual(['a', 'b', 'c']);
  });
});

describe('call: bad input from a model', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['invalid JSON', '{"flight": "LH1", "seats": 2,', /not valid JSON/],
    ['JSON that is not an object', '[1,2]', /must be a JSON object, got an array/],
    ['null', 'null', /must be a JSON object, got null/],
    ['a wrong type', { flight: 'LH1', seats: '2', passenger: { name: 'A' } }, /seats: .*expected number/],
    ['a missing field', { flight: 'LH1', passenger: { name: 'A' } }, /seats: required field missing/],
    ['a missing nested field', { flight: 'LH1', seats: 1, passenger: {} }, /passenger\.name: required/],
    [
      'an extra field',
      { flight: 'LH1', seats: 1, passenger: { name: 'A' }, price: 0 },
      /price: unknown field/,
    ],
    [
      'a 1 MB string',
      { flight: 'x'.repeat(1_000_000), seats: 1, passenger: { name: 'A' } },
      /flight: Too big/,
    ],
    [
      'a __proto__ key',
      '{"flight":"LH1","seats":1,"passenger":{"name":"A","__proto__":{"admin":true}}}',
      /passenger\.__proto__: forbidden/,
    ],
    [
      'a constructor key',
      '{"flight":"LH1","seats":1,"passenger":{"name":"A"},"constructor":{"prototype":{}}}',
      /constructor: unknown field/,
    ],
  ];

  for (const [what, args, message] of cases) {
    it(`${what}: a structured error naming the field, nothing executed`, async () => {
      const { registry, seen } = bookingRegistry();
      const err = await rejection(registry.call('book_flight', args, { callId: 'call_1' }));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err).toMatchObject({ code: 'invalid_input', retryable: false, dependency: 'book_flight' });
      expect((err as Error).message).toMatch(/invalid input on book_flight/);
      expect((err as Error).message).toMatch(message);
      expect(seen).toHaveLength(0);
    });
  }

  it('an error never echoes the values sent', async () => {
    const { registry } = bookingRegistry();
    const err = await rejection(
      registry.call('book_flight', {
        flight: 'SECRET-FLIGHT-NUMBER',
        seats: 'SECRET',
        passenger: { name: 'Jane Doe' },
      }),
    );
    expect((err as Error).message).not.toMatch(/SECRET|Jane/);
    const bad = await rejection(registry.call('book_flight', '{"flight": "Jane Doe", oops}'));
    expect((bad as Error).message).not.toMatch(/Jane/);
  });

  it('refuses an argument string beyond the size limit before parsing it', async () => {
    const registry = createRegistry({ maxArgumentBytes: 100 });
    registry.register({ name: 't', input: z.object({ s: z.string() }), execute: () => 1 });
    const err = await rejection(registry.call('t', JSON.stringify({ s: 'x'.repeat(200) })));
    expect((err as Error).message).toMatch(/larger than 100 bytes/);
  });

  it('an unknown tool is named, with the known ones', async () => {
    const { registry } = bookingRegistry();
    const err = await rejection(registry.call('book_hotel', {}));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/no tool "book_hotel" \(known: book_flight\)/);
  });

  it('invalid input never counts against the breaker and is never retried', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    let runs = 0;
    const tool = registry.register({
      name: 'search',
      effect: 'idempotent',
      input: z.object({ q: z.string() }),
      profile: { breaker: { mode: 'consecutive', consecutiveFailures: 1 } },
      execute: () => ++runs,
    });
    for (let i = 0; i < 5; i++) await rejection(registry.call('search', { q: 1 }));
    expect(tool.policy.breaker?.snapshot().state).toBe('closed');
    expect(tool.policy.breaker?.snapshot().consecutiveFailures).toBe(0);
    expect(await registry.call('search', { q: 'ok' })).toBe(1);
  });

  it('an empty argument string means no arguments', async () => {
    const registry = createRegistry();
    registry.register({ name: 'now', input: z.object({}), effect: 'idempotent', execute: () => 'noon' });
    expect(await registry.call('now', '')).toBe('noon');
  });
});

describe('call: what execute sees', () => {
  it('validated input, and a context with the key, attempt, tool and call id', async () => {
    const { registry, seen } = bookingRegistry();
    const out = await registry.call('book_flight', '{"flight":"LH1","seats":2,"passenger":{"name":"A"}}', {
      callId: 'call_9',
    });
    expect(out).toEqual({ booking: 'B-LH1', seats: 2 });
    expect(seen).toHaveLength(1);
    const { input, ctx } = seen[0]!;
    expect(input).toEqual({ flight: 'LH1', seats: 2, passenger: { name: 'A' } });
    expect(ctx).toMatchObject({ attempt: 1, tool: 'book_flight', callId: 'call_9' });
    expect(ctx.idempotencyKey).toBe(keyFromCallId('book_flight', 'call_9'));
    expect(ctx.signal).toBeInstanceOf(AbortSignal);
    expect(typeof ctx.fetch).toBe('function');
  });

  it('without a call id, each call gets a fresh random key and runs', async () => {
    const { registry, seen } = bookingRegistry();
    const args = { flight: 'LH1', seats: 1, passenger: { name: 'A' } };
    await registry.call('book_flight', args);
    await registry.call('book_flight', args);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.ctx.idempotencyKey).not.toBe(seen[1]!.ctx.idempotencyKey);
  });

  it('the typed handle checks argument types at compile time and returns the typed result', async () => {
    const { tool } = bookingRegistry();
    const out = await tool.call({ flight: 'LH2', seats: 1, passenger: { name: 'B' } });
    const booking: string = out.booking;
    expect(booking).toBe('B-LH2');
  });

  it('validates the output when a schema is given; a bad output of a non-idempotent tool is outcome unknown', async () => {
    const registry = createRegistry();
    registry.register({
      name: 'pay',
      input: z.object({}),
      output: z.object({ id: z.string() }),
      execute: async () => ({ id: 42 }) as unknown as { id: string },
    });
    const err = await rejection(registry.call('pay', {}, { callId: 'c1' }));
    expect(err).toBeInstanceOf(ToolOutputError);
    expect(err).toMatchObject({ outcome: 'unknown', retryable: false });
    expect((err as Error).message).toMatch(/output does not match.*id:/);
    // The same key is now refused: it may have paid.
    expect(await rejection(registry.call('pay', {}, { callId: 'c1' }))).toMatchObject({
      code: 'outcome_unknown',
    });
  });

  it('a ToolError reaches the caller in its own words, as a definite failure that is not retried', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    let runs = 0;
    registry.register({
      name: 'charge',
      input: z.object({}),
      execute: () => {
        runs++;
        throw new ToolError('card declined');
      },
    });
    const err = await rejection(registry.call('charge', {}, { callId: 'c1' }));
    expect(isBreakwaterError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'dependency_failed', outcome: 'failed', retryable: false });
    expect((err as Error).message).toBe('failed on charge: card declined');
    expect(runs).toBe(1);
    // A definite failure frees the key.
    await rejection(registry.call('charge', {}, { callId: 'c1' }));
    expect(runs).toBe(2);
  });
});

describe('reconcile', () => {
  const serverError = () => Object.assign(new Error('HTTP 500'), { status: 500 });

  it('is asked with the key and the input when an attempt may have taken effect', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    const asked: unknown[] = [];
    let runs = 0;
    registry.register({
      name: 'book',
      input: z.object({ room: z.string() }),
      idempotency: {
        reconcile: async (key, input, ctx) => {
          asked.push({ key, input, kind: ctx.failure.kind, tool: ctx.tool });
          return runs === 1 ? { found: false } : { found: true, value: 'found it' };
        },
      },
      execute: async () => {
        runs++;
        throw serverError();
      },
    });
    expect(await clock.run(registry.call('book', { room: '12' }, { callId: 'c1' }))).toBe('found it');
    expect(runs).toBe(2);
    expect(asked).toEqual([
      { key: keyFromCallId('book', 'c1'), input: { room: '12' }, kind: 'server_error', tool: 'book' },
      { key: keyFromCallId('book', 'c1'), input: { room: '12' }, kind: 'server_error', tool: 'book' },
    ]);
  });

  it('a reconcile that never answers ends at the deadline as outcome unknown, its signal aborted', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock });
    let seen: AbortSignal | undefined;
    registry.register({
      name: 'book',
      input: z.object({}),
      idempotency: {
        reconcile: (_key, _input, ctx) => {
          seen = ctx.signal;
          return new Promise(() => {});
        },
      },
      execute: async () => {
        throw serverError();
      },
    });
    const err = await clock.run(rejection(registry.call('book', {}, { callId: 'c1', deadlineMs: 5_000 })));
    expect(err).toMatchObject({ code: 'outcome_unknown' });
    expect(seen?.aborted).toBe(true);
    expect(clock.now()).toBe(5_000);
  });
});

describe('keys', () => {
  it('a content key replays the same action re-issued under a new call id, within a scope', async () => {
    const registry = createRegistry();
    let runs = 0;
    registry.register({
      name: 'send_money',
      input: z.object({ to: z.string(), amount: z.number() }),
      idempotency: { key: 'content' },
      execute: async (input, ctx) => ({ transfer: ++runs, key: ctx.idempotencyKey, to: input.to }),
    });
    const first = await registry.call(
      'send_money',
      { to: 'bob', amount: 5 },
      { callId: 'call_1', scope: 'conv-1' },
    );
    const again = await registry.call('send_money', '{"amount":5,"to":"bob"}', {
      callId: 'call_2',
      scope: 'conv-1',
    });
    expect(again).toEqual(first);
    expect(runs).toBe(1);
    expect(first).toMatchObject({ key: contentKey('send_money', { to: 'bob', amount: 5 }, 'conv-1') });
    await registry.call('send_money', { to: 'bob', amount: 5 }, { callId: 'call_3', scope: 'conv-2' });
    await registry.call('send_money', { to: 'bob', amount: 6 }, { callId: 'call_4', scope: 'conv-1' });
    expect(runs).toBe(3);
  });

  it('a custom key function sees the validated input and the call; its key is checked', async () => {
    const registry = createRegistry();
    const keys: string[] = [];
    registry.register({
      name: 'order',
      input: z.object({ order: z.string() }),
      idempotency: { key: (input, call) => `order-${input.order}-${call.scope ?? 'none'}` },
      execute: async (_input, ctx) => keys.push(ctx.idempotencyKey),
    });
    await registry.call('order', { order: 'A1' }, { scope: 'u1' });
    expect(keys).toEqual(['order-A1-u1']);
    registry.register({
      name: 'bad_key',
      input: z.object({}),
      idempotency: { key: () => 'has spaces' },
      execute: () => 1,
    });
    const err = await rejection(registry.call('bad_key', {}));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ issues: [{ path: 'idempotency.key' }] });
  });

  it('an explicit key with different input is refused, as Stripe does', async () => {
    const registry = createRegistry();
    let runs = 0;
    registry.register({ name: 'pay', input: z.object({ amount: z.number() }), execute: () => ++runs });
    await registry.call('pay', { amount: 5 }, { idempotencyKey: 'order-1' });
    const err = await rejection(registry.call('pay', { amount: 6 }, { idempotencyKey: 'order-1' }));
    expect(err).toBeInstanceOf(IdempotencyKeyReusedError);
    expect((err as Error).message).toMatch(/idempotency key already used with different input on pay/);
    expect(runs).toBe(1);
  });

  it('the same call id on two tools is two operations', async () => {
    const registry = createRegistry();
    let runs = 0;
    registry.register({ name: 'a', input: z.object({}), execute: () => ++runs });
    registry.register({ name: 'b', input: z.object({}), execute: () => ++runs });
    await registry.call('a', {}, { callId: 'same' });
    await registry.call('b', {}, { callId: 'same' });
    expect(runs).toBe(2);
  });
});

describe('definitions', () => {
  function registry() {
    const r = createRegistry();
    r.register({
      name: 'get_weather',
      description: 'Current weather for a city.',
      effect: 'idempotent',
      input: z.object({ city: z.string().describe('City name'), unit: z.enum(['c', 'f']).optional() }),
      execute: () => 'sunny',
    });
    r.register({ name: 'ping', input: z.strictObject({}), strict: true, execute: () => 'pong' });
    return r;
  }

  const weatherSchema = {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name' },
      unit: { type: 'string', enum: ['c', 'f'] },
    },
    required: ['city'],
    additionalProperties: false,
  };

  it('OpenAI chat', () => {
    expect(registry().definitions('openai')).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather for a city.',
          parameters: weatherSchema,
        },
      },
      {
        type: 'function',
        function: {
          name: 'ping',
          parameters: { type: 'object', properties: {}, additionalProperties: false },
          strict: true,
        },
      },
    ]);
  });

  it('OpenAI Responses', () => {
    expect(registry().definitions('openai-responses')[0]).toEqual({
      type: 'function',
      name: 'get_weather',
      description: 'Current weather for a city.',
      parameters: weatherSchema,
      strict: false,
    });
  });

  it('Anthropic', () => {
    expect(registry().definitions('anthropic')[0]).toEqual({
      name: 'get_weather',
      description: 'Current weather for a city.',
      input_schema: weatherSchema,
    });
  });

  it('an unknown format is refused', () => {
    expect(() => registry().definitions('gemini' as 'openai')).toThrow(/unknown format "gemini"/);
  });
});
