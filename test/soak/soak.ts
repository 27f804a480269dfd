/**
 * Soak: a million operations with mixed faults through the full pipeline —
 * the registry (keyed calls through the idempotency ledger, batches of model
 * tool calls), bare policies and the router over two providers — on the
 * real clock, plus a slice through real local HTTP. Reports the heap (after
 * a full GC) and the active handles and timers before and after, and fails
 * when the heap grew by more than `MAX_GROWTH_MB` or anything is left holding
 * the process: it must exit by itself.
 *
 *   npm run soak                       (node --expose-gc --import tsx test/soak/soak.ts)
 *   npm run soak -- --ops 200000 --http 2000   (a shorter run)
 */
import { parseArgs } from 'node:util';
import { createFakePaymentApi, createFakeSearchApi } from 'breakwater/testing';
import { z } from 'zod';
import { createPolicy } from '../../src/policy/pipeline.js';
import { providerError } from '../../src/providers/failures.js';
import { createRouter } from '../../src/providers/router.js';
import type { ChatChunk, ChatResponse, Provider } from '../../src/providers/types.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { ToolError } from '../../src/tools/errors.js';
import { createRegistry } from '../../src/tools/registry.js';
import { seeded } from '../chaos/config.js';
import { httpError, networkError } from '../chaos/in-process.js';
import type { Fault } from '../fakes/services.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000000' },
    http: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '256' },
  },
});
const TOTAL = Number(values.ops);
const HTTP_OPS = Number(values.http);
const CONCURRENCY = Number(values.concurrency);
/** The target for heap growth over the whole run, after a full GC. */
const MAX_GROWTH_MB = 10;
/** Operations run before the baseline is taken: the ledger fills to its bound, the JIT settles. */
const WARM_UP = Math.min(100_000, Math.floor(TOTAL / 10));
/** Every `OUTAGE_EVERY` operations a dependency fails every call for `OUTAGE_LENGTH`, so breakers trip and recover. */
const OUTAGE_EVERY = 50_000;
const OUTAGE_LENGTH = 3_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('soak: run node with --expose-gc (npm run soak does)');
  process.exit(2);
}

const random = seeded(20_260_101);
const MB = 1024 * 1024;

/** What one in-process call meets; weights sum to 100. */
type Mode =
  | 'ok'
  | 'ok_later'
  | 'http500'
  | 'refused'
  | 'reset'
  | 'http429'
  | 'http503_retry'
  | 'http400'
  | 'tool_error'
  | 'hang';
const MIX: ReadonlyArray<readonly [Mode, number]> = [
  ['ok', 67],
  ['ok_later', 10],
  ['http500', 5],
  ['refused', 5],
  ['reset', 4],
  ['http503_retry', 2],
  ['http400', 3],
  ['tool_error', 2],
  ['hang', 2],
];

let opIndex = 0;
const inOutage = () => opIndex % OUTAGE_EVERY < OUTAGE_LENGTH && opIndex > WARM_UP;

/**
 * What the next call meets. In an outage every call fails; the `quota`
 * dependency then also answers 429s, so that cooldowns and the gate's pacing
 * come into play — on that dependency alone, since pacing slows whatever it
 * paces.
 */
function pick(quota: boolean): Mode {
  if (inOutage()) {
    const r = random();
    if (quota && r < 0.5) return 'http429';
    return r < 0.75 ? 'http500' : 'refused';
  }
  let r = random() * 100;
  for (const [mode, weight] of MIX) {
    r -= weight;
    if (r < 0) return mode;
  }
  return 'ok';
}

/** A dependency in process: answers, fails as HTTP or a socket would, or hangs until the attempt is aborted. */
function dependency<T>(value: T, signal: AbortSignal | undefined, quota = false): Promise<T> {
  const mode = pick(quota);
  switch (mode) {
    case 'ok':
      return Promise.resolve(value);
    case 'ok_later':
      return new Promise((resolve) => setImmediate(() => resolve(value)));
    case 'http500':
      return Promise.reject(httpError(500));
    case 'refused':
      return Promise.reject(networkError('ECONNREFUSED', 'connect'));
    case 'reset':
      return Promise.reject(networkError('ECONNRESET', 'read'));
    case 'http429':
      return Promise.reject(httpError(429, { 'retry-after-ms': '2' }));
    case 'http503_retry':
      return Promise.reject(httpError(503, { 'retry-after-ms': '1' }));
    case 'http400':
      return Promise.reject(httpError(400));
    case 'tool_error':
      return Promise.reject(new ToolError('declined'));
    case 'hang':
      return new Promise((_resolve, reject) => {
        if (!signal) return;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
  }
}

/** Tight timeouts and short waits, so that a million operations fit in a minute and every path is taken. */
const quick = {
  timeout: { attemptMs: 50, totalMs: 400 },
  retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 }, maxRetryAfterMs: 20 },
  breaker: {
    mode: 'window' as const,
    minimumThroughput: 20,
    windowMs: 1_000,
    openMs: 50,
    maxOpenMs: 200,
    halfOpenMaxWaitMs: 200,
  },
  gate: { concurrency: 64, maxQueue: 512, queueTimeoutMs: 200 },
};

// Records expire within the run, so the bounded ledger turns over: results of image generations are
// kept for their whole TTL (repeating one is unsafe), and a day's TTL would fill it for good.
const registry = createRegistry({ ledgerTtlMs: 2_000, ledgerLeaseGraceMs: 500 });
const input = z.object({ n: z.number().int() });
registry.register({
  name: 'charge',
  input,
  idempotency: { honored: true },
  profile: quick,
  execute: (i, ctx) => dependency({ id: i.n }, ctx.signal),
});
registry.register({
  name: 'generate_image',
  input,
  profile: quick,
  execute: (i, ctx) => dependency({ id: i.n }, ctx.signal),
});
registry.register({
  name: 'search',
  effect: 'idempotent',
  input,
  profile: quick,
  execute: (i, ctx) => dependency({ hits: [i.n] }, ctx.signal),
});
const bare = createPolicy({ extends: 'idempotent', ...quick }, { dependency: 'bare' });
const quota = createPolicy(
  { extends: 'idempotent', ...quick, gate: { concurrency: 64, maxQueue: 64, queueTimeoutMs: 20 } },
  { dependency: 'quota' },
);

function answer(provider: string): ChatResponse {
  return {
    provider,
    model: `${provider}-model`,
    message: { role: 'assistant', content: 'ok' },
    toolCalls: [],
    finishReason: 'stop',
    usage: undefined,
  };
}

function provider(name: string): Provider {
  const dep = `${name}/${name}-model`;
  const call = async (signal: AbortSignal | undefined) => {
    try {
      return await dependency(answer(name), signal);
    } catch (err) {
      throw signal?.aborted ? err : providerError(err, true, dep);
    }
  };
  return {
    name,
    model: `${name}-model`,
    chat: (_request, options = {}) => call(options.signal),
    async *stream(_request, options = {}): AsyncGenerator<ChatChunk, void, undefined> {
      const response = await call(options.signal);
      yield { type: 'text', text: 'ok' };
      yield { type: 'finish', finishReason: 'stop', response };
    },
  };
}
const router = createRouter({
  providers: [provider('alpha'), provider('beta')],
  profile: { extends: 'llm', ...quick },
});
const hello = { messages: [{ role: 'user' as const, content: 'Say ok.' }] };

const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const ended = (p: Promise<unknown>) =>
  p.then(
    () => count('value'),
    (err: unknown) => count((err as { code?: string }).code ?? `unclassified ${String(err)}`),
  );

/** One operation of the in-process mix. */
function operation(i: number): Promise<unknown> {
  const kind = i % 20;
  if (kind < 6) return ended(registry.call('charge', { n: i }, { callId: `c${i}` }));
  if (kind < 8) return ended(registry.call('generate_image', { n: i }, { callId: `g${i}` }));
  if (kind < 10) return ended(registry.call('search', JSON.stringify({ n: i })));
  if (kind === 10) {
    return registry
      .handleToolCalls([
        { id: `b${i}a`, type: 'function', function: { name: 'search', arguments: `{"n":${i}}` } },
        { id: `b${i}b`, type: 'function', function: { name: 'charge', arguments: '{"n": "oops"}' } },
      ])
      .then(() => count('batch'));
  }
  if (kind < 14) return ended(bare.run(({ signal }) => dependency(i, signal)));
  if (kind === 14) return ended(quota.run(({ signal }) => dependency(i, signal, true)));
  if (kind < 19) return ended(router.chat(hello));
  return ended(
    (async () => {
      for await (const _chunk of router.stream(hello)) {
        // Read to the end.
      }
    })(),
  );
}

async function runInProcess(from: number, to: number): Promise<void> {
  const worker = async () => {
    while (opIndex < to) {
      const i = opIndex++;
      if (i < from) continue;
      await operation(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** The slice through real local HTTP: tools calling the local payment and search fakes with `ctx.fetch`. */
async function startHttp(): Promise<{
  run(from: number, to: number): Promise<void>;
  close(): Promise<void>;
}> {
  const faults = new Map<string, Fault>();
  const pickFault = (req: { headers: Record<string, string | string[] | undefined> }) => {
    const op = req.headers['x-soak-op'];
    return typeof op === 'string' ? faults.get(op) : undefined;
  };
  const [payments, search] = await Promise.all([
    createFakePaymentApi({ pick: pickFault }),
    createFakeSearchApi({ pick: pickFault }),
  ]);
  // A small ledger, so that it reaches its bound during the warm-up and growth after it is not the ledger filling.
  const http = createRegistry({ store: createMemoryStore({ maxEntries: 1_000 }) });
  const profile = { ...quick, timeout: { attemptMs: 200, totalMs: 1_000 } };
  http.register({
    name: 'charge',
    input: z.object({ op: z.string() }),
    idempotency: { honored: true },
    profile,
    execute: async ({ op }, ctx) => {
      const res = await ctx.fetch(`${payments.url}/v1/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-soak-op': op },
        body: JSON.stringify({ order: op, amount: 1, currency: 'eur' }),
      });
      return res.json();
    },
  });
  http.register({
    name: 'search',
    effect: 'idempotent',
    input: z.object({ op: z.string() }),
    profile,
    execute: async ({ op }, ctx) => {
      const res = await ctx.fetch(`${search.url}/search?q=${op}`, { headers: { 'x-soak-op': op } });
      return res.json();
    },
  });
  const HTTP_FAULTS: readonly Fault[] = [
    'reset_before_read',
    'error_500_after_processing',
    'reset_after_processing',
  ];
  return {
    async run(from, to) {
      let next = from;
      const worker = async () => {
        while (next < to) {
          const i = next++;
          const op = `h${i}`;
          const r = random();
          if (r < 0.1) faults.set(op, HTTP_FAULTS[i % HTTP_FAULTS.length]!);
          else if (r < 0.102) faults.set(op, 'slow_after_processing');
          await ended(http.call(i % 2 === 0 ? 'charge' : 'search', { op }, { callId: op }));
          faults.delete(op);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    },
    async close() {
      await Promise.all([payments.close(), search.close()]);
    },
  };
}

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / MB;
}

function resources(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts.size === 0 ? 'none' : [...counts].map(([k, v]) => `${k} ×${v}`).join(', ');
}

const at = () => performance.now();
/** Closed sockets and servers leave the list of active resources a few ticks later. */
async function quiesce(): Promise<void> {
  for (let i = 0; i < 100 && process.getActiveResourcesInfo().some((r) => r.startsWith('TCP')); i++)
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
}

const heapStart = heapMb();
const resourcesStart = resources();
const httpWarmUp = Math.floor(HTTP_OPS / 10);
const t0 = at();
const http = await startHttp();
await runInProcess(0, WARM_UP);
await http.run(0, httpWarmUp);
const heapWarm = heapMb();
const t1 = at();
await runInProcess(WARM_UP, TOTAL);
const t2 = at();
await http.run(httpWarmUp, HTTP_OPS);
const t3 = at();
await http.close();
await quiesce();
const heapEnd = heapMb();
const resourcesEnd = resources();

const growth = heapEnd - heapWarm;
const rows: Array<[string, string]> = [
  ['operations (in process)', `${TOTAL} (${WARM_UP} of them warm-up), concurrency ${CONCURRENCY}`],
  ['operations (local HTTP)', `${HTTP_OPS} (${httpWarmUp} of them warm-up), concurrency 16`],
  [
    'in-process time (after warm-up)',
    `${((t2 - t1) / 1000).toFixed(1)} s (${Math.round((TOTAL - WARM_UP) / ((t2 - t1) / 1000))} ops/s)`,
  ],
  [
    'HTTP time (after warm-up)',
    `${((t3 - t2) / 1000).toFixed(1)} s (${Math.round((HTTP_OPS - httpWarmUp) / ((t3 - t2) / 1000))} ops/s)`,
  ],
  ['heap at start (after GC)', `${heapStart.toFixed(1)} MB`],
  ['heap after warm-up (after GC)', `${heapWarm.toFixed(1)} MB`],
  ['heap at end (after GC)', `${heapEnd.toFixed(1)} MB`],
  ['growth after warm-up', `${growth.toFixed(2)} MB (target < ${MAX_GROWTH_MB} MB)`],
  ['growth from start', `${(heapEnd - heapStart).toFixed(2)} MB`],
  ['active resources at start', resourcesStart],
  ['active resources at end', resourcesEnd],
];
console.log(`soak — Node ${process.version}, ${new Date().toISOString()}\n`);
console.log('| measure | value |\n|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
console.log('\n| outcome | operations |\n|---|---|');
for (const [k, v] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${v} |`);
console.log(`\n(warm-up ${((t1 - t0) / 1000).toFixed(1)} s)`);

const unclassified = [...outcomes.keys()].filter((k) => k.startsWith('unclassified'));
if (growth > MAX_GROWTH_MB) {
  console.error(`soak: FAIL: the heap grew by ${growth.toFixed(1)} MB`);
  process.exitCode = 1;
}
if (unclassified.length > 0) {
  console.error(`soak: FAIL: unclassified endings: ${unclassified.join(', ')}`);
  process.exitCode = 1;
}
// Nothing may hold the process now: if something does, this unref'd timer reports it instead of hanging.
setTimeout(() => {
  console.error(`soak: FAIL: the process did not exit by itself; still active: ${resources()}`);
  process.exit(1);
}, 10_000).unref();
