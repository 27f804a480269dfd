import { afterEach, beforeEach, expect, it } from 'vitest';
import type { PolicyEvent, PolicyObserver } from '../../src/policy/events.js';
import type { HedgeOptions } from '../../src/policy/hedge.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/index.js';
import { createOpenAIProvider, createRouter, type Router } from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { installOtel } from '../fakes/otel.js';
import { hello, openaiClient, quickProfile } from '../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let east: Fake;
let west: Fake;
let clock: VirtualClock;
let otel: ReturnType<typeof installOtel>;
let seen: PolicyEvent[];

beforeEach(async () => {
  [east, west] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  clock = createVirtualClock(0);
  otel = installOtel();
  seen = [];
});

afterEach(async () => {
  await Promise.all([east.close(), west.close()]);
  await otel.uninstall();
});

/** The user's observer: it keeps the hedge events it hears, as it would retries. */
const watcher: PolicyObserver = {
  name: 'test',
  event: (e) => {
    if (e.type.startsWith('hedge')) seen.push(e);
  },
};

function router(hedge: HedgeOptions): Router {
  return createRouter({
    groups: {
      fast: {
        strategy: 'ordered',
        deployments: [
          { id: 'east', provider: createOpenAIProvider(openaiClient(east.baseURL), { model: 'gpt-a' }) },
          { id: 'west', provider: createOpenAIProvider(openaiClient(west.baseURL), { model: 'gpt-b' }) },
        ],
        hedge,
      },
    },
    clock,
    telemetry: createTelemetry(),
    observer: watcher,
    profile: quickProfile({ retry: { maxAttempts: 1 } }),
  });
}

async function counters(): Promise<Record<string, unknown>[]> {
  return (await otel.points())
    .filter((p) => p.name.startsWith('breakwater.hedges.'))
    .map((p) => ({ name: p.name, value: p.value, ...p.attributes }));
}

it('a hedge that wins is counted sent and won, by group and deployment, and the observer hears both', async () => {
  east.enqueue({ kind: 'hang' });
  west.enqueue(openaiReplies.text('from west'));
  const call = router({ afterMs: 500 }).chat(hello, { group: 'fast' });
  await east.until((r) => r.length === 1);
  await clock.advance(500);
  expect((await call).deployment).toBe('west');

  const where = { 'breakwater.group': 'fast', 'breakwater.deployment': 'west' };
  expect(await counters()).toEqual(
    expect.arrayContaining([
      { name: 'breakwater.hedges.sent', value: 1, ...where },
      { name: 'breakwater.hedges.won', value: 1, ...where },
    ]),
  );
  expect((await counters()).map((c) => c.name)).not.toContain('breakwater.hedges.denied');
  expect(seen).toEqual([
    { type: 'hedge_sent', dependency: 'east', group: 'fast', deployment: 'west', delayMs: 500 },
    {
      type: 'hedge_won',
      dependency: 'east',
      group: 'fast',
      deployment: 'west',
      delayMs: 500,
      elapsedMs: expect.any(Number),
    },
  ]);
  const events = otel.span('breakwater.route chat').events;
  expect(events.map((e) => e.name)).toEqual(['breakwater.hedge', 'breakwater.hedge.won']);
  expect(events[0]!.attributes).toMatchObject({ ...where, 'breakwater.hedge.delay_ms': 500 });
});

it('a hedge that loses is counted sent, not won', async () => {
  east.enqueue(openaiReplies.text('from east', 300));
  west.enqueue({ kind: 'hang' });
  const call = router({ afterMs: 100 }).chat(hello, { group: 'fast' });
  await east.until((r) => r.length === 1);
  await clock.advance(100);
  await west.until((r) => r.length === 1);
  expect((await call).deployment).toBe('east');

  expect(await counters()).toEqual([
    { name: 'breakwater.hedges.sent', value: 1, 'breakwater.group': 'fast', 'breakwater.deployment': 'west' },
  ]);
  expect(seen.map((e) => e.type)).toEqual(['hedge_sent']);
});

it('a hedge the budget declines is counted denied, naming where it would have gone, and the observer hears why', async () => {
  east.respond(() => ({ kind: 'hang' }));
  west.respond(() => openaiReplies.text('from west'));
  const call = router({ afterMs: 100, budget: 0, minPerSecond: 0 }).chat(hello, {
    group: 'fast',
    deadlineMs: 1_000,
  });
  call.catch(() => undefined);
  await east.until((x) => x.length === 1);
  await clock.advance(100);
  expect(west.count).toBe(0);
  await clock.advance(400);
  expect((await call).deployment).toBe('west');

  expect(await counters()).toEqual([
    {
      name: 'breakwater.hedges.denied',
      value: 1,
      'breakwater.group': 'fast',
      'breakwater.deployment': 'west',
    },
  ]);
  expect(seen).toEqual([
    { type: 'hedge_skipped', dependency: 'east', group: 'fast', reason: 'budget', deployment: 'west' },
  ]);
});
