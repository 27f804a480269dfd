import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createFakeSearchApi } from '../../src/testing/search-api.js';
import type { FakeService } from '../../src/testing/service-server.js';
import { TRACK_HEADER, type Tracker } from '../../src/testing/step-clock.js';
import { ToolDefinitionError } from '../../src/tools/errors.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';
import { installOtel } from '../fakes/otel.js';

/** Sees, by the tag each request carries, which requests the service holds and which of them the client closed. */
function watcher() {
  const stalled = new Set<string>();
  const closed = new Set<string>();
  const waits: Array<() => void> = [];
  const notify = () => {
    for (const w of waits.splice(0)) w();
  };
  const tracker: Tracker = {
    run: (fn) => fn({}),
    stall: (id) => {
      stalled.add(id);
      notify();
    },
    unstall: (id) => {
      closed.add(id);
      notify();
    },
    busy: () => false,
  };
  const until = async (p: () => boolean) => {
    while (!p()) await new Promise<void>((r) => waits.push(r));
  };
  return { tracker, stalled, closed, until };
}

let otel: ReturnType<typeof installOtel>;
let clock: VirtualClock;
let search: FakeService;
let seen: ReturnType<typeof watcher>;
let registry: Registry;
let tag = 0;

beforeEach(async () => {
  otel = installOtel();
  clock = createVirtualClock(0);
  seen = watcher();
  search = await createFakeSearchApi({ tracker: seen.tracker });
  registry = createRegistry({ clock, random: () => 0, telemetry: createTelemetry() });
  registry.register({
    name: 'search',
    effect: 'idempotent',
    input: z.object({ q: z.string() }),
    hedge: { afterMs: 300 },
    execute: async ({ q }, ctx) => {
      const res = await ctx.fetch(`${search.url}/search?q=${encodeURIComponent(q)}`, {
        headers: { [TRACK_HEADER]: `request-${++tag}` },
      });
      return res.json();
    },
  });
});

afterEach(async () => {
  await search.close();
  await otel.uninstall();
});

describe('hedged tools', () => {
  it('a slow call is hedged after the delay; the model gets one result and the slow request is aborted', async () => {
    search.schedule('slow_after_processing', 'none');
    const results = registry.handleToolCalls([
      { id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"hedging"}' } },
    ]);
    await seen.until(() => seen.stalled.has('request-1'));
    // Nothing is sent a second time before the delay.
    await clock.advance(299);
    expect(search.requests).toBe(1);
    await clock.advance(1);
    const answered = await results;
    expect(answered).toEqual([
      {
        role: 'tool',
        tool_call_id: 'call_1',
        content: JSON.stringify({ query: 'hedging', results: ['hedging — first', 'hedging — second'] }),
      },
    ]);
    expect(search.requests).toBe(2);
    // The loser's request was closed by the client, not left to hang.
    await seen.until(() => seen.closed.has('request-1'));
    expect(registry.get('search')?.hedger?.stats()).toMatchObject({ calls: 1, hedges: 1, won: 1 });
    const span = otel.span('execute_tool search');
    expect(span.events.map((e) => e.name)).toEqual(['breakwater.hedge', 'breakwater.hedge.won']);
    expect(span.attributes['breakwater.attempts']).toBe(1);
  });

  it('a call that answers before the delay sends one request', async () => {
    // Not clock.run: it would fire the hedge timer at once, before the real request could answer.
    const answer = await registry.call('search', { q: 'fast' });
    expect(answer).toMatchObject({ query: 'fast' });
    // The hedge's timer went with the answer: time passing sends nothing more.
    await clock.advance(1_000);
    expect(search.requests).toBe(1);
    expect(registry.get('search')?.hedger?.stats()).toMatchObject({ calls: 1, hedges: 0 });
    expect(otel.span('execute_tool search').events).toEqual([]);
  });

  it('hedge is refused on a tool that is not idempotent, and bad options name their field', () => {
    const spec = { input: z.object({}), execute: () => 'ok' };
    const issues = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ToolDefinitionError);
        return (e as ToolDefinitionError).issues.map((i) => i.path);
      }
      throw new Error('registered');
    };
    expect(issues(() => registry.register({ ...spec, name: 'pay', hedge: { afterMs: 100 } }))).toEqual([
      'hedge',
    ]);
    expect(
      issues(() => registry.register({ ...spec, name: 'refund', effect: 'non-idempotent', hedge: {} })),
    ).toEqual(['hedge']);
    expect(
      issues(() =>
        registry.register({
          ...spec,
          name: 'lookup',
          effect: 'idempotent',
          hedge: { afterMs: -5, budget: 2 },
        }),
      ),
    ).toEqual(['hedge.afterMs', 'hedge.budget']);
    expect(() =>
      registry.register({ ...spec, name: 'lookup', effect: 'idempotent', hedge: { percentile: 0.95 } }),
    ).not.toThrow();
  });
});
