import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { ToolError } from '../../src/tools/errors.js';
import type { ToolErrorPayload } from '../../src/tools/formats.js';
import { createRegistry } from '../../src/tools/registry.js';

const httpError = (status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

function setup() {
  const clock = createVirtualClock(0);
  const registry = createRegistry({ clock, random: () => 0.5 });
  let weatherRuns = 0;
  registry.register({
    name: 'get_weather',
    effect: 'idempotent',
    input: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      weatherRuns++;
      return { city, sky: 'clear' };
    },
  });
  registry.register({
    name: 'charge_card',
    input: z.object({ amount: z.number() }),
    profile: { retry: { maxAttempts: 1 } },
    execute: async () => {
      throw httpError(500);
    },
  });
  registry.register({
    name: 'declined',
    input: z.object({}),
    execute: async () => {
      throw new ToolError('card declined');
    },
  });
  return { clock, registry, runs: () => weatherRuns };
}

const parse = (text: string) => JSON.parse(text) as ToolErrorPayload;

describe('handleToolCalls', () => {
  it('answers OpenAI chat tool calls with tool messages, in order', async () => {
    const { registry } = setup();
    const out = await registry.handleToolCalls([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ]);
    expect(out).toEqual([
      { role: 'tool', tool_call_id: 'call_a', content: '{"city":"Oslo","sky":"clear"}' },
      { role: 'tool', tool_call_id: 'call_b', content: '{"city":"Rome","sky":"clear"}' },
    ]);
  });

  it('answers Responses function_call items, skipping other output items', async () => {
    const { registry } = setup();
    const out = await registry.handleToolCalls([
      { type: 'reasoning', id: 'rs_1', summary: [] },
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_x',
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
      },
      { type: 'message', id: 'msg_1', role: 'assistant', content: [] },
    ]);
    expect(out).toEqual([
      { type: 'function_call_output', call_id: 'call_x', output: '{"city":"Oslo","sky":"clear"}' },
    ]);
  });

  it('answers Anthropic tool_use blocks, skipping text blocks, with is_error on failures', async () => {
    const { registry } = setup();
    const out = await registry.handleToolCalls([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
      { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { town: 'Oslo' } },
    ]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_1',
      content: '{"city":"Oslo","sky":"clear"}',
    });
    expect(out[1]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_2', is_error: true });
    const payload = parse(out[1]!.content);
    expect(payload.error).toMatchObject({ type: 'invalid_input', retryable: false, outcome: 'failed' });
    expect(payload.error.details.issues).toEqual([
      { path: 'city', message: 'required field missing (expected string)' },
      { path: 'town', message: 'unknown field' },
    ]);
  });

  it('an outcome-unknown failure tells the model not to simply call again', async () => {
    const { clock, registry } = setup();
    const [r] = await clock.run(
      registry.handleToolCalls([
        { id: 'c1', type: 'function', function: { name: 'charge_card', arguments: '{"amount":5}' } },
      ]),
    );
    const payload = parse(r!.content);
    expect(payload.error).toMatchObject({
      type: 'outcome_unknown',
      retryable: false,
      outcome: 'unknown',
      details: { tool: 'charge_card', kind: 'server_error', status: 500, attempts: 1 },
    });
    expect(payload.error.message).toMatch(/may have taken effect.*\. Do not call the tool again/);
  });

  it("a definite failure is the tool's own words, not retryable, outcome failed", async () => {
    const { registry } = setup();
    const [r] = await registry.handleToolCalls([{ type: 'tool_use', id: 't1', name: 'declined', input: {} }]);
    expect(r).toMatchObject({ is_error: true });
    expect(parse(r!.content).error).toMatchObject({
      type: 'dependency_failed',
      message: 'failed on declined: card declined',
      retryable: false,
      outcome: 'failed',
    });
  });

  it('an unknown tool, a bad name and a custom tool call each get an answer, not a throw', async () => {
    const { registry } = setup();
    const out = await registry.handleToolCalls([
      { id: 'c1', type: 'function', function: { name: 'book_hotel', arguments: '{}' } },
      { id: 'c2', type: 'function', function: { name: 'x'.repeat(10_000), arguments: '{}' } },
      { id: 'c3', type: 'custom', custom: { name: 'grammar', input: 'free text' } },
    ]);
    expect(out.map((r) => r.tool_call_id)).toEqual(['c1', 'c2', 'c3']);
    const [unknown, badName, custom] = out.map((r) => parse(r.content));
    expect(unknown!.error.message).toMatch(
      /no tool "book_hotel" \(known: get_weather, charge_card, declined\)/,
    );
    expect(unknown!.error.details.tool).toBe('book_hotel');
    expect(badName!.error.message).toMatch(/no tool with an invalid name/);
    expect(badName!.error.details.tool).toBeUndefined();
    expect(out[1]!.content.length).toBeLessThan(1_000);
    expect(custom!.error.message).toMatch(/custom/);
  });

  it('the same call delivered twice in one batch runs once and answers both', async () => {
    const { registry, runs } = setup();
    const call = {
      id: 'dup',
      type: 'function' as const,
      function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
    };
    const out = await registry.handleToolCalls([call, call]);
    expect(out[0]).toEqual(out[1]);
    expect(runs()).toBe(1);
  });

  it('runs calls concurrently, never more than the bound', async () => {
    const registry = createRegistry();
    let active = 0;
    let peak = 0;
    registry.register({
      name: 'slow',
      effect: 'idempotent',
      input: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        return n;
      },
    });
    const calls = Array.from({ length: 10 }, (_, i) => ({
      type: 'tool_use' as const,
      id: `t${i}`,
      name: 'slow',
      input: { n: i },
    }));
    const out = await registry.handleToolCalls(calls, { concurrency: 3 });
    expect(out.map((r) => r.content)).toEqual(calls.map((c) => String(c.input.n)));
    expect(peak).toBe(3);
  });

  it('accepts null or undefined (a message without tool calls)', async () => {
    const { registry } = setup();
    expect(await registry.handleToolCalls(undefined)).toEqual([]);
    expect(await registry.handleToolCalls(null)).toEqual([]);
  });

  it('a caller that cancels gets cancelled results, not a throw', async () => {
    const { registry } = setup();
    const ctrl = new AbortController();
    ctrl.abort();
    const [r] = await registry.handleToolCalls(
      [{ type: 'function_call', call_id: 'c', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      { signal: ctrl.signal },
    );
    expect(JSON.parse(r!.output)).toMatchObject({ error: { type: 'cancelled', outcome: 'failed' } });
  });

  it('a payment cancelled while its request may be out is outcome unknown, and its re-delivery refused', async () => {
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
    const call = { type: 'tool_use' as const, id: 'toolu_9', name: 'pay', input: {} };
    const ctrl = new AbortController();
    const pending = registry.handleToolCalls([call], { signal: ctrl.signal });
    await begun;
    ctrl.abort();
    const [r] = await pending;
    expect(parse(r!.content).error).toMatchObject({
      type: 'cancelled',
      outcome: 'unknown',
      retryable: false,
    });
    const [again] = await registry.handleToolCalls([call]);
    expect(parse(again!.content).error).toMatchObject({ type: 'outcome_unknown', outcome: 'unknown' });
  });

  it('a result that cannot become JSON is reported as ran-but-lost, never as failed', async () => {
    const registry = createRegistry();
    registry.register({
      name: 'cyclic',
      effect: 'idempotent',
      input: z.object({}),
      execute: () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      },
    });
    const [r] = await registry.handleToolCalls([{ type: 'tool_use', id: 't', name: 'cyclic', input: {} }]);
    expect(parse(r!.content).error).toMatchObject({ type: 'internal_error', outcome: 'unknown' });
  });
});
