/**
 * Chaos over the whole stack, in process and on a virtual clock: a registry
 * of four tools (a payment that honors keys, an image generation that does
 * not, one with a reconcile hook, a search) and a router over two model
 * providers, each with a random profile, random fault schedules, and a
 * random mix of concurrent operations — calls, duplicate deliveries of the
 * same call, batches of model tool calls, chats and streams — with random
 * deadlines and caller aborts. Every schedule is checked against the
 * invariants in `referee.ts`. Time is virtual, so a schedule replays exactly
 * from its seed and runs in milliseconds.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import type { Clock } from '../../src/policy/clock.js';
import type { AttemptOutcome, PolicyObserver } from '../../src/policy/events.js';
import type { Health, HealthSource } from '../../src/policy/health.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { sleep } from '../../src/policy/sleep.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createRouter, type Router } from '../../src/providers/router.js';
import type { ChatChunk, ChatRequest } from '../../src/providers/types.js';
import { createRegistry, type Registry, type ToolSpec } from '../../src/tools/registry.js';
import { profileArb, stepsArb, storeArb } from './arbitraries.js';
import { seeded, watchUnhandledRejections } from './config.js';
import {
  FakeService,
  fakeProvider,
  PROVIDER_FAULTS,
  type ProviderFault,
  SERVICE_FAULTS,
  type ServiceFault,
  type Step,
} from './in-process.js';
import { Referee, type Told, toldByError } from './referee.js';
import { chaosStore, type StoreSpec } from './store.js';

const TOOLS = ['charge', 'image', 'image_reconciled', 'search'] as const;
type ToolName = (typeof TOOLS)[number];
const EFFECTFUL: ReadonlySet<string> = new Set(['charge', 'image', 'image_reconciled']);

/** `malformed`: an answer that is neither `{ found: true, value }` nor `{ found: false }`. */
type ReconcileStep = {
  readonly mode: 'ok' | 'throw' | 'hang' | 'malformed';
  readonly latencyMs: number;
};

/** Call ids that collide across operations: the same id from two tenants (or from one, with other input). */
const SCOPES = [undefined, 'tenant-a', 'tenant-b'] as const;

interface BatchCall {
  readonly tool: ToolName | 'no_such_tool';
  /** The model sent arguments that are not JSON. */
  readonly malformed: boolean;
}

interface OpSpec {
  readonly target: ToolName | 'batch' | 'chat' | 'stream';
  readonly startAt: number;
  readonly deadlineMs: number | undefined;
  readonly abortAfterMs: number | undefined;
  /**
   * The same tool call delivered again: at once (a twin), as the first ends
   * (a replay), or seconds later, after other operations have filled the
   * ledger (a resumed conversation); or at once to another process on the
   * same store whose clock is `skewMs` apart (`elsewhere`).
   */
  readonly redeliver: 'none' | 'twin' | 'after' | 'later' | 'elsewhere';
  readonly batch: readonly BatchCall[];
  /** A stream reader that stops after this many chunks. */
  readonly readChunks: number | undefined;
  /** The call's scope (tenant). */
  readonly scope: (typeof SCOPES)[number];
  /** A call id shared with other operations (`call_slotN`), or undefined for one of its own. */
  readonly callSlot: number | undefined;
}

export interface WorldSpec {
  readonly seed: number;
  readonly profiles: Readonly<Record<ToolName | 'llm', ProfileInput>>;
  readonly steps: Readonly<Record<ToolName, Step<ServiceFault>[]>>;
  readonly reconcile: ReconcileStep[];
  readonly store: StoreSpec;
  readonly providers: readonly [Step<ProviderFault>[], Step<ProviderFault>[]];
  readonly ops: readonly OpSpec[];
  /**
   * How far the second process's clock is from the first's: hosts without
   * NTP, or clocks that never step and so drift apart. Leases must hold
   * whatever it is (they are read on the store's clock).
   */
  readonly skewMs: number;
  /** An observer (a telemetry exporter, the user's own) that throws: it must change nothing. */
  readonly throwingObserver: ThrowingObserver;
  /** Steps of the wall clock (an NTP correction, an operator): the policies must not notice. */
  readonly wallSteps: readonly { readonly atMs: number; readonly byMs: number }[];
}

export type ThrowingObserver = 'none' | 'event' | 'attempt' | 'operation' | 'all';

const opArb: fc.Arbitrary<OpSpec> = fc.record({
  target: fc.constantFrom(...TOOLS, 'batch' as const, 'chat' as const, 'stream' as const),
  startAt: fc.integer({ min: 0, max: 4_000 }),
  deadlineMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined, freq: 4 }),
  redeliver: fc.constantFrom(
    'none' as const,
    'none' as const,
    'twin' as const,
    'after' as const,
    'later' as const,
    'elsewhere' as const,
  ),
  batch: fc.array(
    fc.record({
      tool: fc.constantFrom(...TOOLS, 'no_such_tool' as const),
      malformed: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  readChunks: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 4 }),
  scope: fc.constantFrom(...SCOPES),
  callSlot: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined, freq: 2 }),
});

export const worldArb: fc.Arbitrary<WorldSpec> = fc.record({
  seed: fc.integer(),
  profiles: fc.record({
    charge: profileArb('non-idempotent'),
    image: profileArb('non-idempotent'),
    image_reconciled: profileArb('non-idempotent'),
    search: profileArb('idempotent'),
    llm: profileArb('idempotent'),
  }),
  steps: fc.record({
    charge: stepsArb(SERVICE_FAULTS, 1_500),
    image: stepsArb(SERVICE_FAULTS, 1_500),
    image_reconciled: stepsArb(SERVICE_FAULTS, 1_500),
    search: stepsArb(SERVICE_FAULTS, 1_500),
  }),
  reconcile: fc.array(
    fc.record({
      mode: fc.constantFrom(
        'ok' as const,
        'ok' as const,
        'throw' as const,
        'hang' as const,
        'malformed' as const,
      ),
      latencyMs: fc.integer({ min: 0, max: 500 }),
    }),
    { maxLength: 8 },
  ),
  providers: fc.tuple(stepsArb(PROVIDER_FAULTS, 1_500), stepsArb(PROVIDER_FAULTS, 1_500)),
  store: storeArb,
  ops: fc.array(opArb, { minLength: 1, maxLength: 14 }),
  skewMs: fc.constantFrom(0, 0, 800, -800, 10_000, -10_000, 120_000, -120_000),
  throwingObserver: fc.constantFrom<ThrowingObserver>('none', 'none', 'event', 'attempt', 'operation', 'all'),
  wallSteps: fc.array(
    fc.record({
      atMs: fc.integer({ min: 0, max: 6_000 }),
      byMs: fc.oneof(fc.integer({ min: -60_000, max: 60_000 }), fc.constant(-86_400_000)),
    }),
    { maxLength: 3 },
  ),
});

const throwing = new Map<ThrowingObserver, PolicyObserver>();

/**
 * An observer that throws where the schedule says, from its wrappers before
 * or after calling `run`. One object per kind for the whole run, so that its
 * warning (given once per observer) is printed once, not once per schedule.
 */
function throwingObserver(where: ThrowingObserver): PolicyObserver | undefined {
  if (where === 'none') return undefined;
  const known = throwing.get(where);
  if (known) return known;
  const boom = () => {
    throw new Error('observer failed');
  };
  const on = (w: ThrowingObserver) => where === w || where === 'all';
  const observer: PolicyObserver = {
    name: `chaos-${where}`,
    ...(on('event') ? { event: boom } : {}),
    ...(on('attempt')
      ? {
          attempt: async <T>(_i: unknown, run: () => Promise<AttemptOutcome<T>>) => {
            await run();
            return boom();
          },
        }
      : {}),
    ...(on('operation') ? { operation: boom } : {}),
  };
  throwing.set(where, observer);
  return observer;
}

/** How long after its first delivery ends a call is delivered again, when `later`. */
const LATER_MS = 6_000;

/** Virtual time the whole schedule may take; far beyond any deadline it can set. */
const HORIZON_MS = 120_000;
/** After the last operation ends, time for every request still on its way to land at its fake. */
const SETTLE_MS = 10_000;

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Say ok.' }] };

interface World {
  readonly clock: VirtualClock;
  readonly referee: Referee;
  readonly registry: Registry;
  /** The same tools in a second process on the same store, its clock `skewMs` apart. */
  readonly elsewhere: Registry;
  readonly router: Router;
  readonly services: Readonly<Record<ToolName, FakeService>>;
}

/** Another process's view of the same time: its readings `skewMs` apart, its timers as long. */
function skewed(clock: Clock, skewMs: number): Clock {
  return {
    now: () => clock.now() + skewMs,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

function breakerOf(registry: Registry, tool: string): Health | undefined {
  return registry.get(tool)?.policy.breaker;
}

/** Where the schedule's health lives: in process, or shared through a real Redis (the ledger stays in process). */
export interface SharedHealthWorld {
  readonly source: HealthSource;
  /** Moves virtual time only while no Redis reply is awaited: Redis takes no virtual time. */
  run<T>(clock: VirtualClock, p: Promise<T>, maxMs: number): Promise<T>;
}

function build(
  spec: WorldSpec,
  clock: VirtualClock,
  referee: Referee,
  trace?: (line: string) => void,
  shared?: SharedHealthWorld,
): World {
  const random = seeded(spec.seed);
  const observer = throwingObserver(spec.throwingObserver);
  const ledger = chaosStore(spec.store, clock);
  const store = shared ? { ...ledger, health: shared.source.health.bind(shared.source) } : ledger;
  const registry = createRegistry({
    clock,
    random,
    ledgerPollMs: 25,
    store,
    ...(observer ? { observer } : {}),
  });
  // A second process on the same store, its clock `skewMs` apart.
  const elsewhere = createRegistry({
    clock: skewed(clock, spec.skewMs),
    random,
    ledgerPollMs: 25,
    store,
    ...(observer ? { observer } : {}),
  });
  // Whose call reaches a fake now (it notes the caller's breaker synchronously, on arrival).
  let caller = registry;
  const tools = {
    register<S extends z.ZodObject, O>(def: ToolSpec<S, O>): void {
      registry.register(def);
      elsewhere.register({
        ...def,
        execute: (input, ctx) => {
          caller = elsewhere;
          try {
            return def.execute(input, ctx);
          } finally {
            caller = registry;
          }
        },
      });
    },
  };
  const service = (tool: ToolName, name: string, honorsKey: boolean) =>
    new FakeService(
      name,
      clock,
      [...spec.steps[tool]],
      honorsKey,
      () => referee.reach(tool, breakerOf(caller, tool)?.state),
      trace,
    );
  const services: Record<ToolName, FakeService> = {
    charge: service('charge', 'payments', true),
    image: service('image', 'images', false),
    image_reconciled: service('image_reconciled', 'images2', false),
    search: service('search', 'search', false),
  };
  const input = z.object({ op: z.string(), amount: z.number().int().positive() });
  tools.register({
    name: 'charge',
    input,
    idempotency: { honored: true },
    profile: spec.profiles.charge,
    execute: (i, ctx) => services.charge.call(i.op, ctx.idempotencyKey, ctx.signal),
  });
  tools.register({
    name: 'image',
    input,
    profile: spec.profiles.image,
    execute: (i, ctx) => services.image.call(i.op, ctx.idempotencyKey, ctx.signal),
  });
  const reconcileSteps = [...spec.reconcile];
  tools.register({
    name: 'image_reconciled',
    input,
    profile: spec.profiles.image_reconciled,
    idempotency: {
      reconcile: async (key, _input, ctx) => {
        const step = reconcileSteps.shift() ?? { mode: 'ok', latencyMs: 0 };
        if (step.mode === 'hang') return new Promise(() => {});
        await sleep(clock, step.latencyMs, ctx.signal);
        if (step.mode === 'throw') throw new Error('lookup failed');
        if (step.mode === 'malformed') {
          const found = services.image_reconciled.lookup(key);
          // The value itself, or nothing at all: neither may let the call run again.
          return (found ?? {}) as never;
        }
        const found = services.image_reconciled.lookup(key);
        return found ? { found: true, value: found } : { found: false };
      },
    },
    execute: (i, ctx) => services.image_reconciled.call(i.op, ctx.idempotencyKey, ctx.signal),
  });
  tools.register({
    name: 'search',
    effect: 'idempotent',
    input,
    profile: spec.profiles.search,
    execute: (i, ctx) => services.search.call(i.op, ctx.idempotencyKey, ctx.signal),
  });

  let router: Router | undefined;
  const provider = (index: 0 | 1, name: string) =>
    fakeProvider(
      name,
      clock,
      [...spec.providers[index]],
      () => router?.routes[index]?.policy.breaker?.state,
      (state) => referee.reach(name, state),
    );
  router = createRouter({
    providers: [provider(0, 'alpha'), provider(1, 'beta')],
    profile: spec.profiles.llm,
    clock,
    random,
    ...(observer ? { observer } : {}),
    ...(shared ? { store } : {}),
  });
  return { clock, referee, registry, elsewhere, router, services };
}

/** The deadline a registry call gets: its own, capped by the tool's total. */
function toolDeadline(
  w: World,
  tool: string,
  start: number,
  deadlineMs: number | undefined,
): number | undefined {
  const total = w.registry.get(tool)?.policy.profile.timeout.totalMs ?? null;
  const budget = total === null ? deadlineMs : Math.min(total, deadlineMs ?? total);
  return budget === undefined ? undefined : start + budget;
}

/**
 * What a typed error from `registry.call` says happened: outcome unknown, or
 * for a non-idempotent tool a failure whose record (the last failure, or any
 * attempt before it) says a request may have gone through; else failed.
 */
function toldForTool(tool: string, error: unknown): Told | string {
  if (!EFFECTFUL.has(tool)) return toldByError(error, false);
  const mayHaveActed =
    isBreakwaterError(error) &&
    (error.failure.delivery === 'unknown' || error.attempts.some((a) => a.failure?.delivery === 'unknown'));
  return toldByError(error, mayHaveActed);
}

function abortSignal(w: World, afterMs: number | undefined): AbortSignal | undefined {
  if (afterMs === undefined) return undefined;
  const ctrl = new AbortController();
  w.clock.setTimeout(() => ctrl.abort(new Error('the caller gave up')), afterMs);
  return ctrl.signal;
}

async function callTool(
  w: World,
  tool: ToolName,
  id: string,
  op: OpSpec,
  label: string,
  registry: Registry = w.registry,
): Promise<void> {
  const start = w.clock.now();
  const signal = abortSignal(w, op.abortAfterMs);
  await w.referee.watch(
    id,
    label,
    toolDeadline(w, tool, start, op.deadlineMs),
    () =>
      registry.call(
        tool,
        { op: id, amount: 500 },
        {
          callId: op.callSlot === undefined ? `call_${id}` : `call_slot${op.callSlot}`,
          scope: op.scope,
          signal,
          deadlineMs: op.deadlineMs,
        },
      ),
    (s) => (s.ok ? 'value' : toldForTool(tool, s.error)),
  );
}

async function runBatch(w: World, op: OpSpec, index: number): Promise<void> {
  const start = w.clock.now();
  const calls = op.batch.map((c, j) => ({
    id: `b${index}_${j}`,
    type: 'function' as const,
    function: {
      name: c.tool,
      arguments: c.malformed ? '{"op": "b' : JSON.stringify({ op: `b${index}_${j}`, amount: 500 }),
    },
  }));
  let deadlineAt: number | undefined = start;
  for (const c of op.batch) {
    const d = c.tool === 'no_such_tool' ? start : toolDeadline(w, c.tool, start, op.deadlineMs);
    deadlineAt = d === undefined || deadlineAt === undefined ? undefined : Math.max(deadlineAt, d);
  }
  const signal = abortSignal(w, op.abortAfterMs);
  let results: unknown[] = [];
  await w.referee.watch(
    `batch${index}`,
    `batch ${index}`,
    deadlineAt,
    async () => {
      results = await w.registry.handleToolCalls(calls, { signal, deadlineMs: op.deadlineMs });
    },
    (s) => (s.ok ? 'value' : `handleToolCalls threw: ${String(s.error)}`),
  );
  if (results.length !== calls.length)
    w.referee.violation(`batch ${index}: ${results.length} results for ${calls.length} calls`);
  results.forEach((r, j) => {
    const content = (r as { content?: unknown }).content;
    const id = `b${index}_${j}`;
    if (typeof content !== 'string') {
      w.referee.violation(`batch ${index}: result ${j} has no content`);
      return;
    }
    let told: Told = 'value';
    try {
      const payload = JSON.parse(content) as { error?: { type?: string; outcome?: string } };
      if (payload.error) {
        if (payload.error.type === 'internal_error')
          w.referee.violation(`batch ${index}: call ${j} ended unclassified (${content})`);
        told = payload.error.outcome === 'unknown' ? 'unknown' : 'failed';
      }
    } catch {
      // A tool's value that is not JSON text is still a value.
    }
    const list = w.referee.endings.get(id) ?? [];
    list.push({ label: `batch ${index} call ${j}`, told, at: w.clock.now(), detail: content.slice(0, 120) });
    w.referee.endings.set(id, list);
  });
}

async function runChat(w: World, op: OpSpec, index: number): Promise<void> {
  const start = w.clock.now();
  const total = w.router.routes[0]!.policy.profile.timeout.totalMs;
  const budget = op.deadlineMs ?? total ?? undefined;
  const signal = abortSignal(w, op.abortAfterMs);
  await w.referee.watch(
    `chat${index}`,
    `chat ${index}`,
    budget === undefined ? undefined : start + budget,
    () => w.router.chat(hello, { signal, deadlineMs: op.deadlineMs }),
    (s) => (s.ok ? 'value' : toldByError(s.error, false)),
  );
}

async function runStream(w: World, op: OpSpec, index: number): Promise<void> {
  const start = w.clock.now();
  const total = w.router.routes[0]!.policy.profile.timeout.totalMs;
  const budget = op.deadlineMs ?? total ?? undefined;
  const signal = abortSignal(w, op.abortAfterMs);
  await w.referee.watch(
    `stream${index}`,
    `stream ${index}`,
    budget === undefined ? undefined : start + budget,
    async () => {
      const chunks: ChatChunk[] = [];
      let stoppedEarly = false;
      for await (const c of w.router.stream(hello, { signal, deadlineMs: op.deadlineMs })) {
        if (chunks.some((x) => x.type === 'finish'))
          w.referee.violation(`stream ${index}: a chunk after finish`);
        chunks.push(c);
        if (op.readChunks !== undefined && chunks.length >= op.readChunks) {
          stoppedEarly = true;
          break;
        }
      }
      const finishes = chunks.filter((c) => c.type === 'finish').length;
      if (!stoppedEarly && finishes !== 1)
        w.referee.violation(`stream ${index}: ended without throwing but with ${finishes} finish chunks`);
      return chunks;
    },
    (s) => (s.ok ? 'value' : toldByError(s.error, false)),
  );
}

async function runOp(w: World, op: OpSpec, index: number): Promise<void> {
  switch (op.target) {
    case 'batch':
      return runBatch(w, op, index);
    case 'chat':
      return runChat(w, op, index);
    case 'stream':
      return runStream(w, op, index);
    default: {
      const tool = op.target;
      const id = `op${index}`;
      const first = callTool(w, tool, id, op, `${tool} ${id}`);
      if (op.redeliver === 'twin')
        await Promise.all([first, callTool(w, tool, id, op, `${tool} ${id} twin`)]);
      else if (op.redeliver === 'elsewhere')
        await Promise.all([first, callTool(w, tool, id, op, `${tool} ${id} elsewhere`, w.elsewhere)]);
      else {
        await first;
        if (op.redeliver === 'after') await callTool(w, tool, id, op, `${tool} ${id} again`);
        if (op.redeliver === 'later') {
          await sleep(w.clock, LATER_MS);
          await callTool(w, tool, id, op, `${tool} ${id} later`);
        }
      }
    }
  }
}

export async function runSchedule(
  spec: WorldSpec,
  trace?: (line: string) => void,
  shared?: SharedHealthWorld,
): Promise<{ violations: string[]; unhandled: unknown[] }> {
  const clock = createVirtualClock(1_000_000);
  const referee = new Referee(clock, trace);
  const unhandled = watchUnhandledRejections();
  const wallNow = Date.now;
  let wallOffset = 0;
  Date.now = () => wallNow() + wallOffset;
  try {
    const w = build(spec, clock, referee, trace, shared);
    for (const step of spec.wallSteps)
      clock.setTimeout(() => {
        wallOffset += step.byMs;
      }, step.atMs);
    const ops = spec.ops.map(
      (op, i) =>
        new Promise<void>((resolve) => {
          clock.setTimeout(() => {
            runOp(w, op, i).then(resolve, (err: unknown) => {
              referee.violation(`op ${i} crashed the test harness: ${String(err)}`);
              resolve();
            });
          }, op.startAt);
        }),
    );
    try {
      const all = Promise.all(ops);
      if (shared) await shared.run(clock, all, HORIZON_MS);
      else await clock.run(all, { maxMs: HORIZON_MS });
    } catch (err) {
      referee.violation(`never forever: ${String(err)}`);
    }
    // Requests the callers gave up on still land (and bill) at their fakes: let them.
    if (shared) await shared.run(clock, sleep(clock, SETTLE_MS), SETTLE_MS);
    else await clock.advance(SETTLE_MS);
    for (const [i, op] of spec.ops.entries()) {
      if (EFFECTFUL.has(op.target)) {
        const id = `op${i}`;
        referee.effects(id, w.services[op.target as ToolName].effects.get(id) ?? 0);
      }
      if (op.target === 'batch') {
        op.batch.forEach((c, j) => {
          if (!EFFECTFUL.has(c.tool)) return;
          const id = `b${i}_${j}`;
          referee.effects(id, w.services[c.tool as ToolName].effects.get(id) ?? 0);
        });
      }
    }
    // No slot left: every gate is empty once everything has ended.
    for (const tool of TOOLS) {
      const gate = w.registry.get(tool)?.policy.gate;
      if (gate && (gate.inFlight !== 0 || gate.queued !== 0))
        referee.violation(`${tool}: gate left with ${gate.inFlight} in flight, ${gate.queued} queued`);
    }
    for (const [i, route] of w.router.routes.entries()) {
      const gate = route.policy.gate;
      if (gate && (gate.inFlight !== 0 || gate.queued !== 0))
        referee.violation(`provider ${i}: gate left with ${gate.inFlight} in flight, ${gate.queued} queued`);
    }
    await new Promise<void>((r) => setImmediate(r));
    return { violations: referee.violations, unhandled: unhandled.seen };
  } finally {
    Date.now = wallNow;
    unhandled.stop();
  }
}
