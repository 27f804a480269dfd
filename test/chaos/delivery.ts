/**
 * Chaos for "not sent is proven per attempt" (issue 12, items 1, 2, 3, 13),
 * over real sockets on the step clock of `http.ts`:
 *
 * - attempts with several requests: an image is billed, then the same attempt
 *   fails in any way - a refused or reset download, one that hangs until the
 *   attempt times out, a database driver's `ECONNREFUSED`, a `NotSentError`,
 *   a malformed URL or a port fetch will not dial, or a connection pool
 *   that fails the attempts waiting on it with one shared `NotSentError`
 *   (so that an attempt that sent nothing, `pool_waiter`, fails in the same
 *   turn with the same error object as one whose image was billed);
 * - the same with the image billed through node:http (what axios, got,
 *   stripe-node and the AWS SDK use), which undici never sees (`http_then`);
 * - charges over real HTTP/2 (node:http2, TLS), reset before or after the
 *   server took the charge, or left unanswered;
 * - requests fetch refuses to make, as the only request of an attempt;
 * - hostile argument sizes (10 MB, 10^5+ keys, deep nesting) as objects.
 *
 * The invariants are the referee's: a non-idempotent effect at most once; an
 * operation told "failed" took none; every operation ends exactly once, by
 * its deadline; hostile input never reaches `execute`.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { createStepClock, type StepClock, TRACK_HEADER } from 'breakwater/testing';
import fc from 'fast-check';
import { Agent } from 'undici';
import { z } from 'zod';
import type { FetchLike } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { NotSentError } from '../../src/failure/not-sent.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createRegistry } from '../../src/tools/registry.js';
import { type H2Server, h2Server, selfSigned } from '../fakes/h2.js';
import { FAULTS, type Fault } from '../fakes/services.js';
import { closedPort, type RawServer, rawServer } from '../fakes/tcp.js';
import { profileArb } from './arbitraries.js';
import { seeded, watchUnhandledRejections } from './config.js';
import { drive, type Servers } from './http.js';
import { Referee, type Told, toldByError } from './referee.js';

const OP_HEADER = 'x-chaos-op';

/** What an attempt does after its image was billed. */
export type FollowUp =
  | 'none'
  | 'refused'
  | 'reset'
  | 'hang'
  | 'driver_error'
  | 'not_sent_error'
  | 'bad_url'
  | 'blocked_port'
  | 'shared_pool';

export const FOLLOW_UPS: readonly FollowUp[] = [
  'none',
  'refused',
  'reset',
  'hang',
  'driver_error',
  'not_sent_error',
  'bad_url',
  'blocked_port',
  'shared_pool',
];

/** What the HTTP/2 payment server does with one charge request. */
export type H2Fault = 'ok' | 'reset_before_charge' | 'reset_after_charge' | 'hang_after_charge';
export const H2_FAULTS: readonly H2Fault[] = [
  'ok',
  'reset_before_charge',
  'reset_after_charge',
  'hang_after_charge',
];

export type Hostile = 'huge_string' | 'huge_total' | 'many_keys' | 'deep';
export const HOSTILE: readonly Hostile[] = ['huge_string', 'huge_total', 'many_keys', 'deep'];

const TARGETS = [
  'image_then',
  'image_then_reconciled',
  'http_then',
  'h2_charge',
  'bad_request',
  'hostile',
  'pool_waiter',
] as const;
type Target = (typeof TARGETS)[number];

interface DeliveryOp {
  readonly target: Target;
  readonly startAt: number;
  readonly deadlineMs: number | undefined;
  readonly abortAfterMs: number | undefined;
  readonly redeliver: 'none' | 'twin' | 'after';
  /** Faults the image request of each attempt meets, in order. */
  readonly faults: Fault[];
  /** What each attempt does after the image, in order; `none` once used up. */
  readonly afterImage: FollowUp[];
  readonly h2: H2Fault[];
  readonly hostile: Hostile;
  /** How many async frames deep a `pool_waiter` waits on the pool: where its rejection falls in the turn. */
  readonly poolDepth: number;
}

export interface DeliverySpec {
  readonly seed: number;
  readonly profiles: Readonly<Record<'image' | 'h2', ProfileInput>>;
  readonly ops: readonly DeliveryOp[];
}

const weighted = <T>(ok: T, all: readonly T[]) =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(ok) }, { weight: 3, arbitrary: fc.constantFrom(...all) });

export const deliverySpecArb: fc.Arbitrary<DeliverySpec> = fc.record({
  seed: fc.integer(),
  profiles: fc.record({ image: profileArb('non-idempotent'), h2: profileArb('non-idempotent') }),
  ops: fc.array(
    fc.record({
      // Hostile input is refused before anything runs, and costs the most to build and walk: drawn less.
      target: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom<Target>('image_then', 'image_then_reconciled', 'http_then', 'h2_charge'),
        },
        { weight: 1, arbitrary: fc.constantFrom<Target>('bad_request', 'hostile', 'pool_waiter') },
      ),
      startAt: fc.integer({ min: 0, max: 2_000 }),
      deadlineMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
      abortAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined, freq: 4 }),
      redeliver: fc.constantFrom('none' as const, 'none' as const, 'twin' as const, 'after' as const),
      faults: fc.array(weighted<Fault>('none', FAULTS), { maxLength: 4 }),
      afterImage: fc.array(weighted<FollowUp>('none', FOLLOW_UPS), { maxLength: 4 }),
      h2: fc.array(weighted<H2Fault>('ok', H2_FAULTS), { maxLength: 4 }),
      hostile: fc.constantFrom(...HOSTILE),
      poolDepth: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

/** The servers only these schedules need, next to `startServers()`'s. */
export interface DeliveryServers {
  readonly base: Servers;
  readonly h2: H2Server;
  readonly agent: Agent;
  /** Resets every connection as soon as it reads a byte. */
  readonly resetting: RawServer;
  /** Accepts, reads, and never answers. */
  readonly silent: RawServer;
  readonly refusedPort: number;
  /** HTTP/2 charges taken, by operation. */
  readonly h2Charges: Map<string, number>;
  readonly h2Faults: Map<string, H2Fault[]>;
  close(): Promise<void>;
}

export async function startDeliveryServers(base: Servers): Promise<DeliveryServers> {
  const tls = selfSigned();
  const h2Charges = new Map<string, number>();
  const h2Faults = new Map<string, H2Fault[]>();
  const tracker = base.tracker;
  const h2 = await h2Server(tls, (stream, headers) => {
    const op = String(headers[OP_HEADER] ?? '');
    const id = headers[TRACK_HEADER];
    const fault = h2Faults.get(op)?.shift() ?? 'ok';
    stream.resume();
    stream.on('end', () => {
      if (fault === 'reset_before_charge') {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      h2Charges.set(op, (h2Charges.get(op) ?? 0) + 1);
      if (fault === 'reset_after_charge') stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if (fault === 'hang_after_charge') {
        // Time may move while the server holds the answer: the client's timeout ends it.
        if (typeof id === 'string') tracker.stall(id);
        stream.on('close', () => {
          if (typeof id === 'string') tracker.unstall(id);
        });
      } else {
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ charged: true }));
      }
    });
  });
  const agent = new Agent({ allowH2: true, connect: { ca: tls.cert } });
  const resetting = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
  const silent = await rawServer((s) => s.resume());
  const refusedPort = await closedPort();
  return {
    base,
    h2,
    agent,
    resetting,
    silent,
    refusedPort,
    h2Charges,
    h2Faults,
    async close() {
      await agent.close();
      await Promise.all([h2.close(), resetting.close(), silent.close()]);
    },
  };
}

let hostileCache: Partial<Record<Hostile, unknown>> = {};

/** Arguments past each limit, built once: making 10^5 keys costs more than refusing them. */
function hostileArgs(kind: Hostile): unknown {
  hostileCache[kind] ??= (() => {
    switch (kind) {
      case 'huge_string':
        return { prompt: 'x'.repeat(10 * 1024 * 1024) };
      case 'huge_total':
        return { prompt: 'p', parts: Array.from({ length: 50_000 }, () => 'y'.repeat(200)) };
      case 'many_keys': {
        const o: Record<string, number> = {};
        for (let i = 0; i <= 100_000; i++) o[`k${i}`] = i;
        return o;
      }
      case 'deep': {
        let d: unknown = 1;
        for (let i = 0; i < 2_000; i++) d = { d };
        return { prompt: 'p', d };
      }
    }
  })();
  // Shared, not copied: copying 10^5 keys per call would cost more than refusing them. Never reaches `execute`.
  return hostileCache[kind];
}

/** Drops the cached hostile arguments (memory) at the end of a run. */
export function forgetHostile(): void {
  hostileCache = {};
}

let nextOp = 0;

/** `fn` awaited through `depth` more async frames: each one moves its rejection a microtask later. */
async function nested<T>(depth: number, fn: () => Promise<T>): Promise<T> {
  return depth <= 0 ? fn() : await nested(depth - 1, fn);
}

function buildRegistry(
  d: DeliveryServers,
  spec: DeliverySpec,
  clock: StepClock,
  executed: Map<string, number>,
) {
  const s = d.base;
  const tracker = s.tracker;
  const h2Fetch: FetchLike = (input, init) =>
    fetch(input, { ...init, dispatcher: d.agent } as RequestInit & { dispatcher: Agent });
  const registry = createRegistry({ clock, random: seeded(spec.seed), ledgerPollMs: 25 });
  const attemptsOf = new Map<string, number>();
  const followUps = new Map<string, FollowUp[]>();
  const poolDepths = new Map<string, number>();
  const run = (op: string) => executed.set(op, (executed.get(op) ?? 0) + 1);

  // One pool for the schedule, failing on every 250 ms mark: the attempts waiting on it then get one error object.
  let pool: Promise<never> | undefined;
  const sharedPool = (): Promise<never> => {
    if (pool === undefined) {
      let reject!: (err: unknown) => void;
      pool = new Promise<never>((_, rej) => {
        reject = rej;
      });
      pool.catch(() => {});
      clock.setTimeout(
        () => {
          pool = undefined;
          reject(new NotSentError('the connection pool could not connect'));
        },
        250 - (clock.now() % 250),
      );
    }
    return pool;
  };

  /** One follow-up, tracked so that time moves only when it is meant to (a hang). */
  const follow = async (what: FollowUp, fetchFn: FetchLike): Promise<void> => {
    switch (what) {
      case 'none':
        return;
      case 'refused':
        await tracker.run(() => fetchFn(`http://127.0.0.1:${d.refusedPort}/cdn/img.png`));
        return;
      case 'reset':
        await tracker.run(() => fetchFn(`${d.resetting.url}cdn/img.png`));
        return;
      case 'hang': {
        const t = tracker.begin();
        tracker.hold(t.id);
        try {
          await fetchFn(`${d.silent.url}cdn/img.png`);
        } finally {
          t.end();
        }
        return;
      }
      case 'driver_error':
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
          code: 'ECONNREFUSED',
          syscall: 'connect',
        });
      case 'not_sent_error':
        throw new NotSentError('the thumbnail store refused the connection');
      case 'bad_url':
        await tracker.run(() => fetchFn('http://exa mple.com/cdn/img.png'));
        return;
      case 'blocked_port':
        await tracker.run(() => fetchFn('http://127.0.0.1:25/cdn/img.png'));
        return;
      case 'shared_pool':
        await sharedPool();
        return;
    }
  };

  const imageThen = async (i: { op: string }, ctx: { fetch: FetchLike; idempotencyKey: string }) => {
    run(i.op);
    const n = (attemptsOf.get(i.op) ?? 0) + 1;
    attemptsOf.set(i.op, n);
    const image = await tracker.run(async (headers) => {
      const res = await ctx.fetch(`${s.images.url}/v1/images`, {
        method: 'POST',
        headers: { ...headers, [OP_HEADER]: i.op, 'content-type': 'application/json' },
        body: JSON.stringify({ op: i.op, ref: ctx.idempotencyKey }),
      });
      return res.json() as Promise<unknown>;
    });
    await follow(followUps.get(i.op)?.shift() ?? 'none', ctx.fetch);
    return image;
  };
  /** The image billed through node:http, as an SDK built on it would; then the attempt's follow-up. */
  const httpThen = async (
    i: { op: string },
    ctx: { fetch: FetchLike; idempotencyKey: string; signal: AbortSignal },
  ) => {
    run(i.op);
    const image = await tracker.run(
      (headers) =>
        new Promise<unknown>((resolve, reject) => {
          const req = http.request(
            `${s.images.url}/v1/images`,
            {
              method: 'POST',
              headers: { ...headers, [OP_HEADER]: i.op, 'content-type': 'application/json' },
              // As an SDK passes the signal it is given: a held request ends with the attempt.
              signal: ctx.signal,
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => {
                text += c;
              });
              res.on('end', () => {
                if ((res.statusCode ?? 0) >= 400)
                  reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
                else resolve(text === '' ? null : (JSON.parse(text) as unknown));
              });
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify({ op: i.op, ref: ctx.idempotencyKey }));
        }),
    );
    await follow(followUps.get(i.op)?.shift() ?? 'none', ctx.fetch);
    return image;
  };
  const input = z.object({ op: z.string(), prompt: z.string().optional() });
  registry.register({ name: 'http_then', input, profile: spec.profiles.image, execute: httpThen });
  registry.register({ name: 'image_then', input, profile: spec.profiles.image, execute: imageThen });
  registry.register({
    name: 'image_then_reconciled',
    input,
    profile: spec.profiles.image,
    idempotency: {
      reconcile: async (key, _i, ctx) =>
        tracker.run(async (headers) => {
          const res = await ctx.fetch(`${s.images.url}/v1/images?ref=${encodeURIComponent(key)}`, {
            headers,
          });
          const { data } = (await res.json()) as { data: unknown[] };
          return data[0] ? { found: true, value: data[0] } : { found: false };
        }),
    },
    execute: imageThen,
  });
  registry.register({
    name: 'h2_charge',
    input,
    profile: spec.profiles.h2,
    execute: (i, ctx) => {
      run(i.op);
      return tracker.run(async (headers) => {
        const res = await h2Fetch(`${d.h2.url}v1/charges`, {
          method: 'POST',
          headers: { ...headers, [OP_HEADER]: i.op, 'content-type': 'application/json' },
          body: JSON.stringify({ amount: 500 }),
          signal: ctx.signal,
        });
        return res.json() as Promise<unknown>;
      });
    },
  });
  registry.register({
    name: 'bad_request',
    input,
    profile: spec.profiles.image,
    execute: async (i, ctx) => {
      run(i.op);
      await follow(i.op.length % 2 === 0 ? 'bad_url' : 'blocked_port', ctx.fetch);
      return 'unreachable';
    },
  });
  registry.register({
    name: 'pool_waiter',
    input,
    profile: spec.profiles.image,
    execute: async (i) => {
      run(i.op);
      // Sends nothing: its first attempt only waits on the pool; a retry finds it healthy. How deep the wait is
      // nested decides where its rejection falls among the others' in the same turn: 0 to 3 async frames.
      if ((executed.get(i.op) ?? 0) === 1) await nested(poolDepths.get(i.op) ?? 0, sharedPool);
      return 'pooled';
    },
  });
  return { registry, followUps, poolDepths };
}

export async function runDeliverySchedule(
  d: DeliveryServers,
  spec: DeliverySpec,
  trace?: (line: string) => void,
): Promise<{ violations: string[]; unhandled: unknown[] }> {
  const s = d.base;
  const clock = createStepClock();
  const referee = new Referee(clock, trace);
  const unhandled = watchUnhandledRejections();
  const executed = new Map<string, number>();
  try {
    const { registry, followUps, poolDepths } = buildRegistry(d, spec, clock, executed);
    const ids = spec.ops.map(() => `dchaos-${process.pid}-${++nextOp}`);
    for (const [i, op] of spec.ops.entries()) {
      s.toolFaults.set(ids[i]!, [...op.faults]);
      followUps.set(ids[i]!, [...op.afterImage]);
      poolDepths.set(ids[i]!, op.poolDepth);
      d.h2Faults.set(ids[i]!, [...op.h2]);
    }
    const signalFor = (afterMs: number | undefined) => {
      if (afterMs === undefined) return undefined;
      const ctrl = new AbortController();
      clock.setTimeout(() => ctrl.abort(new Error('the caller gave up')), afterMs);
      return ctrl.signal;
    };
    const tool = (t: Target) => (t === 'hostile' ? 'image_then' : t);
    const call = async (op: DeliveryOp, id: string, label: string) => {
      const name = tool(op.target);
      const start = clock.now();
      const total = registry.get(name)?.policy.profile.timeout.totalMs ?? null;
      const budget = total === null ? op.deadlineMs : Math.min(total, op.deadlineMs ?? total);
      const signal = signalFor(op.abortAfterMs);
      const args = op.target === 'hostile' ? hostileArgs(op.hostile) : { op: id };
      await referee.watch(
        id,
        label,
        budget === undefined ? undefined : start + budget,
        () => registry.call(name, args, { callId: `call_${id}`, signal, deadlineMs: op.deadlineMs }),
        (r): Told | string => {
          if (op.target === 'hostile') {
            if (r.ok || !isBreakwaterError(r.error, 'invalid_input'))
              return `hostile ${op.hostile} input was not refused as invalid input`;
            return 'failed';
          }
          if (r.ok) return 'value';
          const mayHaveActed =
            isBreakwaterError(r.error) &&
            (r.error.failure.delivery === 'unknown' ||
              r.error.attempts.some((a) => a.failure?.delivery === 'unknown'));
          return toldByError(r.error, mayHaveActed);
        },
      );
    };
    const runOp = async (op: DeliveryOp, i: number) => {
      const id = ids[i]!;
      const label = `${op.target} ${i}`;
      const first = call(op, id, label);
      if (op.redeliver === 'twin') await Promise.all([first, call(op, id, `${label} twin`)]);
      else {
        await first;
        if (op.redeliver === 'after') await call(op, id, `${label} again`);
      }
    };
    const all = Promise.all(
      spec.ops.map(
        (op, i) =>
          new Promise<void>((resolve) => {
            clock.setTimeout(() => {
              runOp(op, i).then(resolve, (err: unknown) => {
                referee.violation(`op ${i} crashed the harness: ${String(err)}`);
                resolve();
              });
            }, op.startAt);
          }),
      ),
    );
    try {
      await drive(clock, s.tracker, all);
    } catch (err) {
      referee.violation(String(err));
    }
    const started = performance.now();
    while (s.tracker.stalledCount() > 0 && performance.now() - started < 10_000)
      await new Promise<void>((r) => setImmediate(r));
    for (const [i, op] of spec.ops.entries()) {
      const id = ids[i]!;
      if (op.target === 'image_then' || op.target === 'image_then_reconciled' || op.target === 'http_then')
        referee.effects(id, s.images.imagesFor(id));
      if (op.target === 'h2_charge') referee.effects(id, d.h2Charges.get(id) ?? 0);
      if (op.target === 'hostile' && (executed.get(id) ?? 0) > 0)
        referee.violation(`hostile ${op.hostile} ${i}: execute ran on input past the limits`);
      if (op.target === 'bad_request' && (executed.get(id) ?? 0) > (op.redeliver === 'none' ? 1 : 2))
        referee.violation(`bad_request ${i}: a request fetch cannot make was tried again`);
      s.toolFaults.delete(id);
      d.h2Faults.delete(id);
      d.h2Charges.delete(id);
    }
    return { violations: referee.violations, unhandled: unhandled.seen };
  } finally {
    unhandled.stop();
  }
}
