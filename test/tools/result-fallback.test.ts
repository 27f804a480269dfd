import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FallbackFailedError, ResultRejectedError } from '../../src/failure/errors.js';
import { PreviousOutcomeUnknownError } from '../../src/idempotency/errors.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { ToolDefinitionError, ToolOutputError } from '../../src/tools/errors.js';
import type { ToolErrorPayload } from '../../src/tools/formats.js';
import { createRegistry, type RegistryOptions } from '../../src/tools/registry.js';
import { caught } from '../fakes/caught.js';
import { installOtel } from '../fakes/otel.js';

const http = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status, headers: {} });
const STAGING = { BREAKWATER_CHAOS: '1', NODE_ENV: 'test' } as const;
const quick = { retry: { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 100, jitter: 'none' as const } } };

function setup(options: Partial<RegistryOptions> = {}) {
  const clock = createVirtualClock(1_000_000);
  const registry = createRegistry({ clock, random: () => 0.5, ...options });
  return { clock, registry };
}

const chatCall = (id: string, name: string, args: unknown) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: JSON.stringify(args) },
});

async function answer(clock: VirtualClock, p: Promise<{ content: string }[]>): Promise<string> {
  const [first] = await clock.run(p);
  return first!.content;
}

describe('failOnResult on a tool', () => {
  it('a non-idempotent image tool whose 200 has no image: not repeated, the model told it may have taken effect, the key never run again', async () => {
    const { clock, registry } = setup();
    let billed = 0;
    registry.register({
      name: 'draw',
      input: z.object({ prompt: z.string() }),
      profile: quick,
      failOnResult: (r: { url?: string }) =>
        r.url === undefined && { kind: 'server_error', message: 'no image in the answer' },
      execute: async () => {
        billed++;
        return {} as { url?: string };
      },
    });
    const content = await answer(
      clock,
      registry.handleToolCalls([chatCall('call_1', 'draw', { prompt: 'a cat' })]),
    );
    const payload = JSON.parse(content) as ToolErrorPayload;
    expect(payload.error).toMatchObject({
      type: 'dependency_failed',
      outcome: 'unknown',
      retryable: false,
      details: { tool: 'draw', kind: 'server_error', attempts: 1 },
    });
    expect(payload.error.message).toBe(
      'failed on draw: result rejected: no image in the answer. Do not call the tool again for the same purpose until you have checked whether it took effect.',
    );
    expect(billed).toBe(1);
    // The same call delivered again: the ledger knows it may have happened, and refuses.
    const again = await caught(clock.run(registry.call('draw', { prompt: 'a cat' }, { callId: 'call_1' })));
    expect(again).toBeInstanceOf(PreviousOutcomeUnknownError);
    expect(billed).toBe(1);
  });

  it('an idempotent tool with an empty answer is retried, and its good answer served', async () => {
    const { clock, registry } = setup();
    let runs = 0;
    registry.register({
      name: 'search',
      effect: 'idempotent',
      input: z.object({ q: z.string() }),
      profile: quick,
      failOnResult: (hits: string[]) => hits.length === 0,
      execute: async () => (++runs < 3 ? [] : ['breakwater']),
    });
    expect(await clock.run(registry.call('search', { q: 'x' }))).toEqual(['breakwater']);
    expect(runs).toBe(3);
  });

  it('a non-idempotent tool whose key the dependency honors is retried under the same key', async () => {
    const { clock, registry } = setup();
    const keys: string[] = [];
    registry.register({
      name: 'charge',
      input: z.object({ cents: z.number() }),
      idempotency: { honored: true },
      profile: quick,
      failOnResult: (r: { status: string }) => r.status === 'pending' && { kind: 'overloaded' },
      execute: async (_i, ctx) => {
        keys.push(ctx.idempotencyKey);
        return { status: keys.length === 1 ? 'pending' : 'succeeded' };
      },
    });
    expect(await clock.run(registry.call('charge', { cents: 500 }, { callId: 'c1' }))).toEqual({
      status: 'succeeded',
    });
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
  });

  it('the error a caller gets is typed and carries the answer', async () => {
    const { clock, registry } = setup();
    registry.register({
      name: 'summarize',
      effect: 'idempotent',
      input: z.object({}),
      profile: { retry: { maxAttempts: 1 } },
      failOnResult: (s: string) => s.trim() === '' && { kind: 'unknown', message: 'empty answer' },
      execute: async () => '  ',
    });
    const err = await caught(clock.run(registry.call('summarize', {})));
    expect(err).toBeInstanceOf(ResultRejectedError);
    expect((err as ResultRejectedError).result).toBe('  ');
    expect((err as ResultRejectedError).outcome).toBe('failed');
  });
});

describe('fallback on a tool', () => {
  it('answers a failing idempotent tool with its value, checked against the output schema', async () => {
    const { clock, registry } = setup();
    registry.register({
      name: 'weather',
      effect: 'idempotent',
      input: z.object({ city: z.string() }),
      output: z.object({ sky: z.string() }),
      profile: quick,
      fallback: { value: { sky: 'unknown (the weather service is down)' } },
      execute: async () => {
        throw http(503);
      },
    });
    const content = await answer(
      clock,
      registry.handleToolCalls([chatCall('w1', 'weather', { city: 'Oslo' })]),
    );
    expect(JSON.parse(content)).toEqual({ sky: 'unknown (the weather service is down)' });

    const bad = setup();
    bad.registry.register({
      name: 'weather',
      effect: 'idempotent',
      input: z.object({ city: z.string() }),
      output: z.object({ sky: z.string() }),
      profile: quick,
      fallback: { value: { sky: 42 } as unknown as { sky: string } },
      execute: async () => {
        throw http(503);
      },
    });
    expect(await caught(bad.clock.run(bad.registry.call('weather', { city: 'Oslo' })))).toBeInstanceOf(
      ToolOutputError,
    );
  });

  it('never hides a payment whose outcome is unknown, unless told to; a placeholder it may give is replayed, never re-run', async () => {
    const { clock, registry } = setup();
    let charges = 0;
    registry.register({
      name: 'pay',
      input: z.object({ cents: z.number() }),
      profile: quick,
      fallback: { value: { status: 'queued for review' } },
      execute: async () => {
        charges++;
        throw http(500);
      },
    });
    const content = await answer(clock, registry.handleToolCalls([chatCall('p1', 'pay', { cents: 1 })]));
    expect((JSON.parse(content) as ToolErrorPayload).error).toMatchObject({
      type: 'outcome_unknown',
      outcome: 'unknown',
    });
    expect(charges).toBe(1);

    let drawn = 0;
    registry.register({
      name: 'draw',
      input: z.object({ prompt: z.string() }),
      failOnResult: (r: { url?: string }) => r.url === undefined,
      fallback: { value: { url: 'placeholder.png' }, unknownOutcome: 'fallback' },
      execute: async () => {
        drawn++;
        return {} as { url?: string };
      },
    });
    expect(await clock.run(registry.call('draw', { prompt: 'x' }, { callId: 'd1' }))).toEqual({
      url: 'placeholder.png',
    });
    expect(await clock.run(registry.call('draw', { prompt: 'x' }, { callId: 'd1' }))).toEqual({
      url: 'placeholder.png',
    });
    expect(drawn).toBe(1);
  });

  it('a fallback that throws: the model hears fallback_failed, with the original outcome', async () => {
    const { clock, registry } = setup();
    registry.register({
      name: 'quote',
      effect: 'idempotent',
      input: z.object({}),
      profile: { retry: { maxAttempts: 1 } },
      fallback: {
        run: () => {
          throw new Error('cache for user 123 is empty');
        },
      },
      execute: async () => {
        throw http(502);
      },
    });
    const err = await caught(clock.run(registry.call('quote', {})));
    expect(err).toBeInstanceOf(FallbackFailedError);
    const content = await answer(clock, registry.handleToolCalls([chatCall('q1', 'quote', {})]));
    const payload = JSON.parse(content) as ToolErrorPayload;
    expect(payload.error).toMatchObject({
      type: 'fallback_failed',
      outcome: 'failed',
      details: { kind: 'server_error' },
    });
    expect(content).not.toContain('user 123');
  });

  it('refuses a bad definition naming each field', () => {
    const { registry } = setup();
    const err = (() => {
      try {
        registry.register({
          name: 'bad',
          input: z.object({}),
          failOnResult: 'empty' as never,
          fallback: { kinds: ['sometimes'] } as never,
          chaos: { enabled: 'yes', fault: { rate: 3, kind: 'network', delivery: 'not_sent' } } as never,
          execute: () => 1,
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ToolDefinitionError);
    const paths = (err as ToolDefinitionError).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'failOnResult',
        'fallback',
        'fallback.kinds.0',
        'chaos.enabled',
        'chaos.fault.rate',
      ]),
    );
    expect(() => setup({ chaos: { enabled: true, latency: { rate: -1, ms: 1 } } })).toThrow(
      /chaos\.latency\.rate/,
    );
  });
});

describe('chaos on tools', () => {
  let otel: ReturnType<typeof installOtel>;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  it("the registry's chaos applies to every tool without its own; an injected not_sent fault is retried and charges once, visibly", async () => {
    let n = 0;
    const { clock, registry } = setup({
      telemetry: createTelemetry(),
      chaos: {
        enabled: true,
        env: STAGING,
        random: () => (n++ === 0 ? 0 : 0.99),
        fault: { rate: 0.5, kind: 'network', delivery: 'not_sent' },
      },
    });
    let charges = 0;
    registry.register({
      name: 'pay',
      input: z.object({ cents: z.number() }),
      profile: quick,
      execute: async () => `ch_${++charges}`,
    });
    let looked = 0;
    registry.register({
      name: 'lookup',
      effect: 'idempotent',
      input: z.object({}),
      chaos: { enabled: false },
      execute: async () => {
        looked++;
        return 'found';
      },
    });
    expect(await clock.run(registry.call('pay', { cents: 1 }, { callId: 'p1' }))).toBe('ch_1');
    expect(charges).toBe(1);
    expect(await clock.run(registry.call('lookup', {}))).toBe('found');
    expect(looked).toBe(1);
    expect(n).toBe(2);
    const span = otel.span('execute_tool pay');
    const attempts = otel.children(span);
    expect(attempts).toHaveLength(2);
    const injected = attempts.flatMap((a) => a.events.filter((e) => e.name === 'breakwater.chaos'));
    expect(injected).toHaveLength(1);
    expect(injected[0]!.attributes).toMatchObject({
      'breakwater.chaos.strategy': 'fault',
      'breakwater.failure.kind': 'network',
      'breakwater.failure.delivery': 'not_sent',
    });
  });

  it('a fallback on a tool is an event on its execute_tool span', async () => {
    const { clock, registry } = setup({ telemetry: createTelemetry() });
    registry.register({
      name: 'weather',
      effect: 'idempotent',
      input: z.object({}),
      profile: { retry: { maxAttempts: 1 } },
      fallback: { value: 'cloudy' },
      execute: async () => {
        throw http(503);
      },
    });
    expect(await clock.run(registry.call('weather', {}))).toBe('cloudy');
    const span = otel.span('execute_tool weather');
    expect(span.events.find((e) => e.name === 'breakwater.fallback_used')?.attributes).toMatchObject({
      'breakwater.dependency': 'weather',
      'breakwater.failure.kind': 'overloaded',
      'breakwater.fallback.outcome': 'failed',
    });
    expect(span.attributes['breakwater.outcome']).toBe('ok');
  });
});
