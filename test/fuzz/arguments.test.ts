/**
 * Fuzz: whatever a model sends as tool arguments — or as tool calls — ends
 * as a value or a classified `invalid_input` failure: never a crash, a hang,
 * a stack overflow, an event loop blocked for seconds, or a tool run on input
 * its schema refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { MAX_ARGUMENT_DEPTH } from '../../src/tools/input.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';
import { params, runsFor } from '../chaos/config.js';

const ERROR_TYPES = new Set([
  'invalid_input',
  'dependency_failed',
  'outcome_unknown',
  'timeout',
  'cancelled',
  'circuit_open',
  'rate_limited',
  'gate_rejected',
  'retry_budget_exhausted',
]);

function setup(): { registry: Registry; runs: () => number } {
  const clock = createVirtualClock(0);
  const registry = createRegistry({ clock, random: () => 0.5, maxArgumentBytes: 64 * 1024 });
  let runs = 0;
  const execute = async (input: unknown) => {
    runs++;
    return { echoed: input };
  };
  registry.register({
    name: 'book_flight',
    input: z.object({
      from: z.string().length(3),
      to: z.string().length(3),
      seats: z.number().int().positive(),
      passengers: z.array(z.strictObject({ name: z.string().max(100), age: z.number().int().min(0) })).max(9),
    }),
    execute,
  });
  // A schema that recurses: the shape a deeply nested payload would overflow.
  registry.register({ name: 'store', effect: 'idempotent', input: z.object({ data: z.json() }), execute });
  registry.register({ name: 'note', effect: 'idempotent', input: z.object({ text: z.string() }), execute });
  return { registry, runs: () => runs };
}

/** JSON text bent out of shape: cut, spliced, or with a byte swapped. */
const malformedJson = fc
  .tuple(
    fc.json(),
    fc.nat(),
    fc.nat(),
    fc.constantFrom('', '{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', '\ud800'),
  )
  .map(([text, a, b, junk]) => {
    const i = a % (text.length + 1);
    const j = Math.min(text.length, i + (b % 8));
    return text.slice(0, i) + junk + text.slice(j);
  });

const argumentsArb = fc.oneof(
  fc.string(),
  fc.json(),
  malformedJson,
  fc.anything({
    withNullPrototype: true,
    withObjectString: true,
    withBigInt: true,
    withDate: true,
    withMap: true,
  }),
  fc.record({ from: fc.string(), to: fc.string(), seats: fc.anything(), passengers: fc.anything() }),
  fc.record({ data: fc.jsonValue() }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'from', 'toString'), fc.jsonValue()),
);

const TOOL_NAMES = ['book_flight', 'store', 'note', 'no_such_tool', '', '../etc/passwd', 'x'.repeat(200)];

describe('fuzz: tool arguments', () => {
  it('any arguments end as a value or a classified invalid_input, and invalid input never runs the tool', async () => {
    const { registry, runs } = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TOOL_NAMES),
        argumentsArb,
        fc.option(fc.string()),
        async (name, args, callId) => {
          const before = runs();
          try {
            await registry.call(name, args, { callId: callId ?? undefined });
            expect(runs()).toBe(before + 1);
          } catch (err) {
            expect(isBreakwaterError(err)).toBe(true);
            if (isBreakwaterError(err)) {
              expect(err.code).toBe('invalid_input');
              expect(err.outcome).toBe('failed');
            }
            expect(runs()).toBe(before);
          }
        },
      ),
      params(runsFor(300)),
    );
  });

  it('deeply nested arguments are refused at once, not parsed into a stack overflow or a blocked event loop', async () => {
    const { registry, runs } = setup();
    // 10 000 levels took 0.4 s and 20 000 took 26 s of blocked event loop before the depth limit.
    for (const depth of [MAX_ARGUMENT_DEPTH - 1, MAX_ARGUMENT_DEPTH + 1, 20_000, 30_000]) {
      const args = `{"data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const outcome = await registry.call('store', args, { callId: `deep-${depth}` }).then(
        () => 'value',
        (err: unknown) => (isBreakwaterError(err) ? err.code : `unclassified: ${String(err)}`),
      );
      expect(outcome).toBe(depth < MAX_ARGUMENT_DEPTH ? 'value' : 'invalid_input');
    }
    expect(runs()).toBe(1);
  });

  it('arguments over the size limit are refused before parsing', async () => {
    const { registry, runs } = setup();
    const huge = JSON.stringify({ text: 'x'.repeat(100 * 1024) });
    await expect(registry.call('note', huge)).rejects.toMatchObject({ code: 'invalid_input' });
    expect(runs()).toBe(0);
  });
});

/** A tool call in one of the three shapes, with fuzzed fields. */
const callArb = fc.oneof(
  fc.record({
    id: fc.oneof(fc.string(), fc.anything()),
    type: fc.constant('function'),
    function: fc.oneof(
      fc.record({ name: fc.oneof(fc.constantFrom(...TOOL_NAMES), fc.anything()), arguments: argumentsArb }),
      fc.anything(),
    ),
  }),
  fc.record({
    type: fc.constant('function_call'),
    call_id: fc.oneof(fc.string(), fc.anything()),
    name: fc.constantFrom(...TOOL_NAMES),
    arguments: argumentsArb,
  }),
  fc.record({
    type: fc.constant('tool_use'),
    id: fc.oneof(fc.string(), fc.anything()),
    name: fc.constantFrom(...TOOL_NAMES),
    input: argumentsArb,
  }),
  fc.record({ id: fc.string(), type: fc.constant('custom'), custom: fc.anything() }),
  fc.anything(),
);

describe('fuzz: a model turn of tool calls', () => {
  it('handleToolCalls never throws, answers every call it recognizes, in order, in the closed error vocabulary', async () => {
    const { registry } = setup();
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { maxLength: 6 }), async (items) => {
        const calls = items as unknown as readonly { readonly type: string }[];
        const results = await registry.handleToolCalls(calls);
        for (const r of results) {
          const o = r as unknown as Record<string, unknown>;
          const content = typeof o.content === 'string' ? o.content : o.output;
          expect(typeof content).toBe('string');
          let payload: unknown;
          try {
            payload = JSON.parse(content as string);
          } catch {
            continue; // A tool's own text result.
          }
          const error = (payload as { error?: { type?: unknown; outcome?: unknown } } | null)?.error;
          if (error && typeof error === 'object' && 'outcome' in error) {
            expect(ERROR_TYPES.has(String(error.type))).toBe(true);
            expect(error.outcome).toBe('failed');
          }
        }
      }),
      params(runsFor(300)),
    );
  });
});
