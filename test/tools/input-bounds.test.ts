/**
 * Issue 12, item 13: the object form of tool input (an Anthropic `tool_use`
 * input, a `registry.call` object) is bounded like the string form - size as
 * JSON text, depth, keys - before any validation work in proportion to its
 * size. Work is counted, never timed: the schema is never consulted, and
 * collecting issues stops at its cap.
 */
import { describe, expect, it, vi } from 'vitest';
import { type z, z as zod } from 'zod';
import { InvalidInputError, isBreakwaterError } from '../../src/failure/errors.js';
import type { ToolErrorPayload } from '../../src/tools/formats.js';
import { issuesOf, MAX_ARGUMENT_KEYS, parseArguments } from '../../src/tools/input.js';
import { createRegistry } from '../../src/tools/registry.js';
import { caught } from '../fakes/caught.js';

/** A tool whose schema counts how often any part of it is validated. */
function counted(maxArgumentBytes?: number) {
  const registry = createRegistry(maxArgumentBytes !== undefined ? { maxArgumentBytes } : {});
  let validated = 0;
  let runs = 0;
  registry.register({
    name: 'make_image',
    effect: 'idempotent',
    input: zod.object({
      prompt: zod.string().refine(() => {
        validated++;
        return true;
      }),
    }),
    execute: () => {
      runs++;
      return { ok: true };
    },
  });
  return { registry, validated: () => validated, runs: () => runs };
}

function manyKeys(n: number): Record<string, unknown> {
  const o: Record<string, unknown> = { prompt: 'p' };
  for (let i = 0; i < n; i++) o[`k${i}`] = 0;
  return o;
}

describe('object input is bounded like a string', () => {
  it('a 10 MB tool_use input is refused naming the limit; nothing validated, nothing run', async () => {
    const t = counted();
    const input = { prompt: 'x'.repeat(10 * 1024 * 1024) };
    const [r] = await t.registry.handleToolCalls([
      { type: 'tool_use', id: 'toolu_big', name: 'make_image', input },
    ]);
    const payload = JSON.parse(r!.content) as ToolErrorPayload;
    expect(payload.error.message).toMatch(/larger than 1048576 bytes \(maxArgumentBytes\)/);
    const err = await caught(t.registry.call('make_image', input));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(t.validated()).toBe(0);
    expect(t.runs()).toBe(0);
  });

  it('many small values add up: 10 MB in 200-byte strings is refused too', async () => {
    const t = counted();
    const input = { prompt: 'p', parts: Array.from({ length: 50_000 }, () => 'y'.repeat(200)) };
    const err = await caught(t.registry.call('make_image', input));
    expect((err as Error).message).toMatch(/larger than 1048576 bytes/);
    expect(t.validated()).toBe(0);
  });

  it('10^6 keys are refused without the schema ever being consulted', async () => {
    const t = counted();
    const [r] = await t.registry.handleToolCalls([
      { type: 'tool_use', id: 'toolu_keys', name: 'make_image', input: manyKeys(1_000_000) },
    ]);
    expect(JSON.parse(r!.content)).toMatchObject({ error: { type: 'invalid_input' } });
    expect(t.validated()).toBe(0);
    expect(t.runs()).toBe(0);
  });

  it('past the key limit even when the bytes allow it: the limit is named', async () => {
    const t = counted(64 * 1024 * 1024);
    const err = await caught(
      t.registry.call('make_image', { prompt: 'p', ids: new Array(MAX_ARGUMENT_KEYS).fill(1) }),
    );
    expect(isBreakwaterError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`more than ${MAX_ARGUMENT_KEYS} keys`));
    expect(t.validated()).toBe(0);
  });

  it('input within the limits is validated and run as before', async () => {
    const t = counted();
    expect(await t.registry.call('make_image', { prompt: 'a lighthouse' })).toEqual({ ok: true });
    expect(t.validated()).toBe(1);
  });

  it('nesting deeper than the limit is refused in the object form', async () => {
    const t = counted();
    let deep: unknown = 1;
    for (let i = 0; i < 1_000; i++) deep = { d: deep };
    const err = await caught(t.registry.call('make_image', { prompt: 'p', deep }));
    expect((err as Error).message).toMatch(/nested deeper than 256 levels/);
  });

  it('parseArguments never calls the schema for an oversized object', () => {
    const schema = zod.object({ a: zod.string() }).strict();
    const spy = vi.spyOn(schema, 'safeParse');
    expect(() => parseArguments('t', schema, { a: 'z'.repeat(2_000) }, { maxArgumentBytes: 1_000 })).toThrow(
      /larger than 1000 bytes/,
    );
    expect(spy).not.toHaveBeenCalled();
    expect(parseArguments('t', schema, { a: 'ok' }, { maxArgumentBytes: 1_000 })).toEqual({ a: 'ok' });
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('collecting issues respects its cap of 20', () => {
  it('an issue listing 10^6 unknown keys is read no further than the cap', () => {
    let pulled = 0;
    const keys: Iterable<string> = {
      *[Symbol.iterator]() {
        for (let i = 0; i < 1_000_000; i++) {
          pulled++;
          yield `k${i}`;
        }
      },
    };
    const error = {
      issues: [{ code: 'unrecognized_keys', keys, path: [], message: 'x' }],
    } as unknown as z.ZodError;
    expect(issuesOf(error)).toHaveLength(20);
    expect(pulled).toBeLessThanOrEqual(21);
  });

  it('a string input with 5 000 unknown keys is answered with 20 issues', async () => {
    const t = counted();
    const err = await caught(t.registry.call('make_image', JSON.stringify(manyKeys(5_000))));
    expect((err as InvalidInputError).issues).toHaveLength(20);
  });
});

describe('objects that are not plain JSON', () => {
  it('a Map of 300 000 entries counts toward the key limit: refused, the schema never consulted', async () => {
    const registry = createRegistry();
    let validated = 0;
    registry.register({
      name: 'tag_items',
      effect: 'idempotent',
      input: zod.object({
        // A Map cannot be a JSON Schema; it reaches a tool through a field the schema leaves open.
        tags: zod.any().refine(() => {
          validated++;
          return true;
        }),
      }),
      execute: () => 'tagged',
    });
    const tags = new Map(Array.from({ length: 300_000 }, (_, i) => [i, i] as [number, number]));
    const err = await caught(registry.call('tag_items', { tags }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues[0]?.message).toContain(`${MAX_ARGUMENT_KEYS} keys`);
    expect(validated).toBe(0);
  });

  it('a getter that throws is an InvalidInputError that does not echo its message', async () => {
    const { registry, runs } = counted();
    const input = {
      get prompt(): string {
        throw new Error('sk-secret-in-getter');
      },
    };
    const err = await caught(registry.call('make_image', input));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(String((err as Error).message)).not.toContain('sk-secret');
    expect(JSON.stringify((err as InvalidInputError).issues)).not.toContain('sk-secret');
    expect(runs()).toBe(0);
  });

  it('a Proxy whose ownKeys trap throws is an InvalidInputError too', async () => {
    const { registry } = counted();
    const input = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(await caught(registry.call('make_image', input as { prompt: string }))).toBeInstanceOf(
      InvalidInputError,
    );
  });
});
