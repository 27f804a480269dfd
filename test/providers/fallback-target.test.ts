import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeploymentRuntime } from '../../src/providers/groups/deployment.js';
import { exhaustedClass, fallbackTarget } from '../../src/providers/groups/fallbacks.js';
import type { ResolvedGroup } from '../../src/providers/groups/options.js';
import type { FallbackClass } from '../../src/providers/groups/types.js';

const NAMES = ['a', 'b', 'c', 'd', 'e'];
const CLASSES: readonly FallbackClass[] = ['context_window', 'content_policy', 'unavailable'];

/** Groups whose members are only what fallbackTarget reads: a context window. */
const groupsArb = fc
  .tuple(
    fc.array(fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }), {
      minLength: 5,
      maxLength: 5,
    }),
    fc.array(
      fc.record({
        contextWindow: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
        contentPolicy: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
        unavailable: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
      }),
      { minLength: 5, maxLength: 5 },
    ),
  )
  .map(([windows, fallbacks]) => {
    const groups = new Map<string, ResolvedGroup>();
    for (const [i, name] of NAMES.entries()) {
      const member = { contextWindow: windows[i] } as unknown as DeploymentRuntime;
      groups.set(name, {
        name,
        strategy: 'ordered',
        members: [member],
        retryOn: 'another',
        hedger: undefined,
        stream: {},
        fallbacks: Object.fromEntries(
          Object.entries(fallbacks[i]!).filter(([, v]) => v !== undefined && v !== name),
        ),
      });
    }
    return groups;
  });

describe('fallbackTarget', () => {
  it('never leads to a group the call has visited, and a chain of hops ends', () => {
    fc.assert(
      fc.property(
        groupsArb,
        fc.constantFrom(...NAMES),
        fc.array(fc.constantFrom(...CLASSES), { maxLength: 20 }),
        fc.integer({ min: 1, max: 20_000 }),
        (groups, start, classes, estimate) => {
          const visited = new Set([start]);
          let at = groups.get(start)!;
          for (const cls of classes) {
            const next = fallbackTarget(at, cls, groups, visited, estimate);
            if (next === undefined) break;
            expect(visited.has(next.name)).toBe(false);
            if (cls === 'context_window' && at.fallbacks.contextWindow === undefined)
              expect(
                next.members.some((m) => m.contextWindow !== undefined && m.contextWindow >= estimate),
              ).toBe(true);
            if (cls !== 'context_window')
              expect(next.name).toBe(
                at.fallbacks[cls === 'content_policy' ? 'contentPolicy' : 'unavailable'],
              );
            visited.add(next.name);
            at = next;
          }
          expect(visited.size).toBeLessThanOrEqual(NAMES.length);
        },
      ),
    );
  });
});

describe('exhaustedClass', () => {
  const down = {
    failure: { kind: 'server_error', delivery: 'unknown', message: 'x', cause: undefined },
    tooSmall: false,
  } as const;
  const small = {
    failure: { kind: 'client_error', delivery: 'not_sent', message: 'x', cause: undefined },
    tooSmall: true,
  } as const;
  const tooLong = {
    failure: {
      kind: 'client_error',
      delivery: 'processed',
      code: 'context_length_exceeded',
      message: 'x',
      cause: undefined,
    },
    tooSmall: false,
  } as const;

  it('is context_window only when every deployment was too small for the prompt', () => {
    expect(exhaustedClass([small, tooLong])).toBe('context_window');
    expect(exhaustedClass([small, down])).toBe('unavailable');
    expect(exhaustedClass([down])).toBe('unavailable');
    expect(exhaustedClass([])).toBe('unavailable');
  });
});
