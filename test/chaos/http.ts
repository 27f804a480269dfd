/**
 * Chaos through real sockets: the registry's tools over the local payment,
 * image and search servers (`test/fakes/services.ts`), and the router over
 * the OpenAI and Anthropic wire-format fakes through the official SDKs, each
 * request meeting a fault from a random schedule.
 *
 * Time is a step clock that moves only while no request is in flight (other
 * than those a fake holds on purpose), so an attempt timeout fires exactly
 * when a fake is stalling and never because a healthy local request took a
 * few real milliseconds: deadlines are checked exactly, and a schedule
 * replays the same way from its seed. Each tool operation names itself in
 * a header and meets its own faults, whatever order its requests arrive in;
 * model calls run one at a time, so theirs follow arrival order.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  anthropicReplies,
  createFakeImageApi,
  createFakePaymentApi,
  createFakeSearchApi,
  createStepClock,
  type FakeHttpServer,
  type FakeReply,
  type FakeService,
  type ImageApi,
  openaiReplies,
  type PaymentApi,
  type RecordedRequest,
  type StepClock,
  TRACK_HEADER,
  type Tracker,
} from 'breakwater/testing';
import fc from 'fast-check';
import OpenAI from 'openai';
import { z } from 'zod';
import { createClassifyingFetch, type FetchLike } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createAnthropicProvider } from '../../src/providers/anthropic.js';
import { AllProvidersFailedError } from '../../src/providers/errors.js';
import { createOpenAIProvider } from '../../src/providers/openai.js';
import { createRouter, type Router } from '../../src/providers/router.js';
import type { ChatChunk, ChatRequest } from '../../src/providers/types.js';
import { createTelemetry, type Telemetry } from '../../src/telemetry/telemetry.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { FAULTS, type Fault } from '../fakes/services.js';
import { profileArb } from './arbitraries.js';
import { seeded, watchUnhandledRejections } from './config.js';
import { Referee, type Told, toldByError } from './referee.js';

/** Real time a schedule may spend with a request in flight and no progress before the harness calls it stuck. */
const WATCHDOG_MS = 10_000;
/** Virtual time the whole schedule may take; far beyond any deadline it can set. */
const HORIZON_MS = 600_000;
const OP_HEADER = 'x-chaos-op';

/**
 * The fakes' `Tracker`, plus requests whose responses are read to the end
 * (an SDK reads the body after `fetch` resolves) and requests the model
 * fakes hold on purpose.
 */
export interface ChaosTracker extends Tracker {
  begin(): { readonly id: string; end(): void };
  /** A model fake is holding this request: time may move. */
  hold(id: string): void;
  /** Requests the service fakes hold and have not let go (their client has not hung up yet). */
  stalledCount(): number;
}

export function createChaosTracker(): ChaosTracker {
  const inFlight = new Set<string>();
  const stalled = new Set<string>();
  const held = new Set<string>();
  const begin = () => {
    const id = randomUUID();
    inFlight.add(id);
    return {
      id,
      end: () => {
        inFlight.delete(id);
        held.delete(id);
      },
    };
  };
  return {
    begin,
    async run(fn) {
      const t = begin();
      try {
        return await fn({ [TRACK_HEADER]: t.id });
      } finally {
        t.end();
      }
    },
    stall: (id) => stalled.add(id),
    unstall: (id) => stalled.delete(id),
    hold: (id) => {
      if (inFlight.has(id)) held.add(id);
    },
    busy() {
      for (const id of inFlight) if (!stalled.has(id) && !held.has(id)) return true;
      return false;
    },
    stalledCount: () => stalled.size,
  };
}

/**
 * A fetch for the SDKs that counts a request as in flight until its
 * response body has been read to the end, cancelled or aborted.
 */
export function trackedFetch(tracker: ChaosTracker): FetchLike {
  return async (input, init) => {
    const t = tracker.begin();
    const signal = init?.signal ?? undefined;
    signal?.addEventListener('abort', t.end, { once: true });
    const headers = new Headers(init?.headers);
    headers.set(TRACK_HEADER, t.id);
    let res: Response;
    try {
      res = await fetch(input, { ...init, headers });
    } catch (err) {
      t.end();
      throw err;
    }
    if (!res.body) {
      t.end();
      return res;
    }
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            t.end();
            ctrl.close();
          } else ctrl.enqueue(value);
        } catch (err) {
          t.end();
          ctrl.error(err);
        }
      },
      cancel(reason) {
        t.end();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Settles `promise`, moving the step clock to its next timer whenever nothing is in flight. */
export async function drive<T>(clock: StepClock, tracker: ChaosTracker, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  let lastProgress = performance.now();
  for (;;) {
    await turn();
    if (done) break;
    if (tracker.busy()) {
      if (performance.now() - lastProgress > WATCHDOG_MS)
        throw new Error(`harness watchdog: a request has been in flight for ${WATCHDOG_MS} ms of real time`);
      continue;
    }
    // A second turn lets I/O callbacks queued behind the first one land before time moves.
    await turn();
    if (done) break;
    if (tracker.busy()) continue;
    if (!clock.fireNext()) throw new Error('never forever: nothing in flight, no timer due, still pending');
    lastProgress = performance.now();
  }
  return tracked;
}

export type LlmFault =
  | 'ok'
  | 'http500'
  | 'http503'
  | 'http529'
  | 'http429_ms'
  | 'http429_s'
  | 'http429_reset'
  | 'http400'
  | 'http401'
  | 'reset_before_body'
  | 'reset_after_body'
  | 'hang'
  | 'stream_error'
  | 'stream_cut'
  | 'stream_hang'
  | 'invalid_json'
  | 'wrong_content_type'
  | 'truncated'
  | 'quota'
  | 'bad_key'
  | 'no_model'
  | 'context_long'
  | 'array_content'
  | 'missing_tool_ids'
  | 'colliding_tool_ids';

/**
 * Refusals that say the provider will refuse every request for a while (the
 * account, the key or the model): the router must send it none until
 * `refusalMs` (60 s by default) has passed.
 */
export const LLM_REFUSALS: ReadonlySet<LlmFault> = new Set<LlmFault>([
  'http401',
  'quota',
  'bad_key',
  'no_model',
]);
const REFUSAL_MS = 60_000;

export const LLM_FAULTS: readonly LlmFault[] = [
  'ok',
  'http500',
  'http503',
  'http529',
  'http429_ms',
  'http429_s',
  'http429_reset',
  'http400',
  'http401',
  'reset_before_body',
  'reset_after_body',
  'hang',
  'stream_error',
  'stream_cut',
  'stream_hang',
  'invalid_json',
  'wrong_content_type',
  'truncated',
  'quota',
  'bad_key',
  'no_model',
  'context_long',
  'array_content',
  'missing_tool_ids',
  'colliding_tool_ids',
];

function isStream(r: RecordedRequest): boolean {
  return (r.body as { stream?: unknown } | undefined)?.stream === true;
}

/** The reply a fault makes, in the wire format of `format`. */
function llmReply(format: 'openai' | 'anthropic', fault: LlmFault, stream: boolean): FakeReply {
  const o = format === 'openai';
  const ok = o
    ? stream
      ? openaiReplies.streamText(['o', 'k'])
      : openaiReplies.text('ok')
    : stream
      ? anthropicReplies.streamText(['o', 'k'])
      : anthropicReplies.text('ok');
  const status = (n: number) => (o ? openaiReplies.error(n) : anthropicReplies.error(n));
  switch (fault) {
    case 'ok':
      return ok;
    case 'http500':
      return status(500);
    case 'http503':
      return status(503);
    case 'http529':
      return o ? status(529) : anthropicReplies.overloaded();
    case 'http429_ms':
      return o
        ? openaiReplies.rateLimited('retry-after-ms', 200)
        : anthropicReplies.rateLimited('retry-after-ms', 200);
    case 'http429_s':
      return o
        ? openaiReplies.rateLimited('retry-after', 1_000)
        : anthropicReplies.rateLimited('retry-after', 1_000);
    case 'http429_reset':
      return o
        ? openaiReplies.rateLimited('x-ratelimit-reset', 300)
        : anthropicReplies.rateLimited('anthropic-ratelimit-reset', 300);
    case 'http400':
      return status(400);
    case 'http401':
      return status(401);
    case 'reset_before_body':
      return { kind: 'reset', when: 'before-body' };
    case 'reset_after_body':
      return { kind: 'reset', when: 'after-body' };
    case 'hang':
      return { kind: 'hang' };
    case 'stream_error':
      if (!stream) return status(500);
      return o
        ? openaiReplies.streamText(['o', 'k'], { errorAfter: 1 })
        : anthropicReplies.streamText(['o', 'k'], { errorAfter: 1 });
    case 'stream_cut':
    case 'stream_hang': {
      if (!stream) return fault === 'stream_hang' ? { kind: 'hang' } : { kind: 'reset', when: 'after-body' };
      const full = ok as Extract<FakeReply, { kind: 'sse' }>;
      // The first events only: a text chunk arrives, then the stream breaks off or goes silent.
      return {
        kind: 'sse',
        events: full.events.slice(0, 3),
        end: fault === 'stream_cut' ? 'destroy' : 'hang',
      };
    }
    case 'invalid_json':
      return {
        kind: 'raw',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"id": "x", "choices": [',
      };
    case 'wrong_content_type':
      return {
        kind: 'raw',
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html>502 Bad Gateway</html>',
      };
    case 'truncated':
      return {
        kind: 'raw',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"id": "x"',
        truncate: true,
      };
    case 'quota':
      return o
        ? openaiReplies.apiError(429, 'insufficient_quota', 'insufficient_quota')
        : anthropicReplies.error(
            400,
            'invalid_request_error',
            {},
            'Your credit balance is too low to access the Anthropic API.',
          );
    case 'bad_key':
      return o
        ? openaiReplies.apiError(401, 'invalid_request_error', 'invalid_api_key')
        : anthropicReplies.error(401, 'authentication_error');
    case 'no_model':
      return o
        ? openaiReplies.apiError(404, 'invalid_request_error', 'model_not_found')
        : anthropicReplies.error(404, 'not_found_error');
    case 'context_long':
      return o
        ? openaiReplies.apiError(400, 'invalid_request_error', 'context_length_exceeded')
        : anthropicReplies.error(
            400,
            'invalid_request_error',
            {},
            'prompt is too long: 300000 tokens > 200000 maximum',
          );
    case 'array_content':
      // Parts instead of a string, as some OpenAI-compatible servers send them.
      return o && !stream
        ? openaiReplies.rawMessage({
            content: [
              { type: 'text', text: 'o' },
              { type: 'text', text: 'k' },
            ],
          })
        : ok;
    case 'missing_tool_ids':
    case 'colliding_tool_ids': {
      // Ids left out, or ids that a many-to-one mapping would make one.
      const ids = fault === 'missing_tool_ids' ? [undefined, undefined] : ['fc.1', 'fc:1'];
      const calls = ids.map((id) => ({ ...(id ? { id } : {}), name: 'lookup', arguments: { q: 1 } }));
      if (o) return stream ? openaiReplies.streamToolCalls(calls) : openaiReplies.toolCalls(calls);
      const uses = ids.map((id, n) => ({ id: id ?? '', name: 'lookup', input: { q: n } }));
      return stream ? anthropicReplies.streamToolUse(uses) : anthropicReplies.toolUse(uses);
    }
  }
}

export interface Servers {
  readonly tracker: ChaosTracker;
  readonly payments: PaymentApi;
  readonly images: ImageApi;
  readonly search: FakeService;
  readonly openai: FakeHttpServer & { readonly baseURL: string };
  readonly anthropic: FakeHttpServer & { readonly baseURL: string };
  /** Faults each tool operation's requests meet, by operation id. */
  readonly toolFaults: Map<string, Fault[]>;
  /** Faults the model fakes' requests meet, in arrival order. */
  readonly llmFaults: { openai: LlmFault[]; anthropic: LlmFault[] };
  /** Where a model fake reports a request arriving, and the fault it is about to answer with. */
  onLlmRequest: ((provider: 'openai' | 'anthropic', fault: LlmFault) => void) | undefined;
  close(): Promise<void>;
}

export async function startServers(): Promise<Servers> {
  const tracker = createChaosTracker();
  const toolFaults = new Map<string, Fault[]>();
  const pick = (req: { headers: Record<string, string | string[] | undefined> }): Fault | undefined => {
    const op = req.headers[OP_HEADER];
    return typeof op === 'string' ? (toolFaults.get(op)?.shift() ?? 'none') : undefined;
  };
  const [payments, images, search, openai, anthropic] = await Promise.all([
    createFakePaymentApi({ tracker, pick }),
    createFakeImageApi({ tracker, pick }),
    createFakeSearchApi({ tracker, pick }),
    startFakeOpenAI(),
    startFakeAnthropic(),
  ]);
  const servers: Servers = {
    tracker,
    payments,
    images,
    search,
    openai,
    anthropic,
    toolFaults,
    llmFaults: { openai: [], anthropic: [] },
    onLlmRequest: undefined,
    async close() {
      await Promise.all([
        payments.close(),
        images.close(),
        search.close(),
        openai.close(),
        anthropic.close(),
      ]);
    },
  };
  for (const format of ['openai', 'anthropic'] as const) {
    servers[format].respond((rec) => {
      const fault = servers.llmFaults[format].shift() ?? 'ok';
      servers.onLlmRequest?.(format, fault);
      const reply = llmReply(format, fault, isStream(rec));
      const id = rec.headers[TRACK_HEADER];
      // A fake that holds a request lets time move, so that the client's timeout can end it.
      if (typeof id === 'string' && (reply.kind === 'hang' || (reply.kind === 'sse' && reply.end === 'hang')))
        tracker.hold(id);
      return reply;
    });
  }
  return servers;
}

const TOOLS = ['charge', 'image', 'image_reconciled', 'search'] as const;
type ToolName = (typeof TOOLS)[number];

interface HttpOp {
  readonly target: ToolName | 'chat' | 'stream';
  readonly startAt: number;
  readonly deadlineMs: number | undefined;
  readonly abortAfterMs: number | undefined;
  readonly redeliver: 'none' | 'twin' | 'after';
  readonly faults: Fault[];
}

export interface HttpSpec {
  readonly seed: number;
  readonly profiles: Readonly<Record<ToolName | 'llm', ProfileInput>>;
  readonly llmFaults: { readonly openai: LlmFault[]; readonly anthropic: LlmFault[] };
  readonly ops: readonly HttpOp[];
}

const llmFaultsArb = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<LlmFault>('ok') },
    { weight: 3, arbitrary: fc.constantFrom(...LLM_FAULTS) },
  ),
  { maxLength: 10 },
);

export const httpSpecArb: fc.Arbitrary<HttpSpec> = fc.record({
  seed: fc.integer(),
  profiles: fc.record({
    charge: profileArb('non-idempotent'),
    image: profileArb('non-idempotent'),
    image_reconciled: profileArb('non-idempotent'),
    search: profileArb('idempotent'),
    llm: profileArb('idempotent'),
  }),
  llmFaults: fc.record({ openai: llmFaultsArb, anthropic: llmFaultsArb }),
  ops: fc.array(
    fc.record({
      target: fc.constantFrom(...TOOLS, 'chat' as const, 'stream' as const),
      startAt: fc.integer({ min: 0, max: 3_000 }),
      deadlineMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
      abortAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined, freq: 4 }),
      redeliver: fc.constantFrom('none' as const, 'none' as const, 'twin' as const, 'after' as const),
      faults: fc.array(
        fc.oneof(
          { weight: 2, arbitrary: fc.constant<Fault>('none') },
          { weight: 3, arbitrary: fc.constantFrom(...FAULTS) },
        ),
        { maxLength: 4 },
      ),
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Say ok.' }] };
let nextOp = 0;

function buildRegistry(s: Servers, spec: HttpSpec, clock: StepClock, referee: Referee): Registry {
  const registry = createRegistry({ clock, random: seeded(spec.seed), ledgerPollMs: 25 });
  const send = async (
    tool: ToolName,
    op: string,
    url: string,
    ctx: { fetch: FetchLike },
    body?: unknown,
  ): Promise<unknown> => {
    referee.reach(tool, registry.get(tool)?.policy.breaker?.state);
    return s.tracker.run(async (headers) => {
      const res = await ctx.fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...headers, [OP_HEADER]: op, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return res.json() as Promise<unknown>;
    });
  };
  const input = z.object({ op: z.string() });
  registry.register({
    name: 'charge',
    input,
    idempotency: { honored: true },
    profile: spec.profiles.charge,
    execute: (i, ctx) =>
      send('charge', i.op, `${s.payments.url}/v1/charges`, ctx, {
        order: i.op,
        amount: 500,
        currency: 'eur',
      }),
  });
  registry.register({
    name: 'image',
    input,
    profile: spec.profiles.image,
    execute: (i, ctx) =>
      send('image', i.op, `${s.images.url}/v1/images`, ctx, { op: i.op, ref: ctx.idempotencyKey }),
  });
  registry.register({
    name: 'image_reconciled',
    input,
    profile: spec.profiles.image_reconciled,
    idempotency: {
      reconcile: async (key, _i, ctx) =>
        s.tracker.run(async (headers) => {
          const res = await ctx.fetch(`${s.images.url}/v1/images?ref=${encodeURIComponent(key)}`, {
            headers,
          });
          const { data } = (await res.json()) as { data: unknown[] };
          return data[0] ? { found: true, value: data[0] } : { found: false };
        }),
    },
    execute: (i, ctx) =>
      send('image_reconciled', i.op, `${s.images.url}/v1/images`, ctx, { op: i.op, ref: ctx.idempotencyKey }),
  });
  registry.register({
    name: 'search',
    effect: 'idempotent',
    input,
    profile: spec.profiles.search,
    execute: (i, ctx) => send('search', i.op, `${s.search.url}/search?q=${encodeURIComponent(i.op)}`, ctx),
  });
  return registry;
}

/** A real OpenTelemetry SDK in memory, for this schedule only (not installed globally). */
function localOtel() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = createTelemetry({
    tracer: tracerProvider.getTracer('chaos'),
    meter: meterProvider.getMeter('chaos'),
  });
  return {
    telemetry,
    spans: () => exporter.getFinishedSpans(),
    async attempts(): Promise<Array<{ dependency: unknown; outcome: unknown; value: number }>> {
      const { resourceMetrics } = await reader.collect();
      const out: Array<{ dependency: unknown; outcome: unknown; value: number }> = [];
      for (const sm of resourceMetrics.scopeMetrics)
        for (const m of sm.metrics) {
          if (m.descriptor.name !== 'breakwater.attempts') continue;
          for (const dp of m.dataPoints as Array<{ attributes: Record<string, unknown>; value: number }>)
            out.push({
              dependency: dp.attributes['breakwater.dependency'],
              outcome: dp.attributes['breakwater.attempt.outcome'],
              value: dp.value,
            });
        }
      return out;
    },
    async close() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * Spans and metrics agree with what happened: one route span per model call,
 * in error exactly when the call failed; as many `chat` spans per provider as
 * the attempts metric counts, failed ones in error.
 */
async function checkTelemetry(
  otel: ReturnType<typeof localOtel>,
  endings: ReadonlyArray<{ label: string; failed: boolean }>,
  referee: Referee,
): Promise<void> {
  const spans = otel.spans();
  const routes = spans.filter((x) => x.name.startsWith('breakwater.route '));
  if (routes.length !== endings.length)
    referee.violation(`${endings.length} model calls ended, but ${routes.length} route spans`);
  const failedCalls = endings.filter((e) => e.failed).length;
  const failedRoutes = routes.filter((x) => x.status.code === SpanStatusCode.ERROR).length;
  if (failedCalls !== failedRoutes)
    referee.violation(`${failedCalls} model calls failed, but ${failedRoutes} route spans are in error`);
  const points = await otel.attempts();
  for (const [dependency, model] of [
    ['openai/gpt-test', 'gpt-test'],
    ['anthropic/claude-test', 'claude-test'],
  ] as const) {
    const chats = spans.filter((x) => x.name === `chat ${model}`);
    const counted = points.filter((p) => p.dependency === dependency);
    const total = counted.reduce((n, p) => n + p.value, 0);
    const failed = counted.filter((p) => p.outcome === 'failed').reduce((n, p) => n + p.value, 0);
    const errored = chats.filter((x) => x.status.code === SpanStatusCode.ERROR).length;
    if (total !== chats.length || failed !== errored)
      referee.violation(
        `${dependency}: ${chats.length} chat spans (${errored} in error), but the attempts metric counts ${total} (${failed} failed)`,
      );
  }
}

function buildRouter(s: Servers, spec: HttpSpec, clock: StepClock, telemetry?: Telemetry): Router {
  const fetch = createClassifyingFetch({ connectTimeoutMs: 2_000, fetch: trackedFetch(s.tracker) });
  const openai = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL: s.openai.baseURL, fetch });
  const anthropic = new Anthropic({ apiKey: 'sk-ant-test-not-a-key', baseURL: s.anthropic.baseURL, fetch });
  return createRouter({
    providers: [
      createOpenAIProvider(openai, { model: 'gpt-test' }),
      createAnthropicProvider(anthropic, { model: 'claude-test' }),
    ],
    profile: spec.profiles.llm,
    clock,
    random: seeded(spec.seed + 1),
    ...(telemetry ? { telemetry } : {}),
  });
}

/** A serial lane: model calls take their faults in arrival order, so they go one at a time. */
function lane(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

export async function runHttpSchedule(
  s: Servers,
  spec: HttpSpec,
  trace?: (line: string) => void,
): Promise<{ violations: string[]; unhandled: unknown[] }> {
  const clock = createStepClock();
  const referee = new Referee(clock, trace);
  const unhandled = watchUnhandledRejections();
  try {
    const registry = buildRegistry(s, spec, clock, referee);
    const otel = localOtel();
    const modelEndings: Array<{ label: string; failed: boolean }> = [];
    const router = buildRouter(s, spec, clock, otel.telemetry);
    s.llmFaults.openai = [...spec.llmFaults.openai];
    s.llmFaults.anthropic = [...spec.llmFaults.anthropic];
    // No provider gets a request it has declared it will refuse (a bad key, no credit, no such model).
    const refusedAt = new Map<'openai' | 'anthropic', number>();
    // Requests each provider received during the model call in flight (model calls run one at a time).
    const thisCall = { openai: 0, anthropic: 0 };
    s.onLlmRequest = (format, fault) => {
      thisCall[format]++;
      const route = router.routes[format === 'openai' ? 0 : 1];
      referee.reach(format, route?.policy.breaker?.state);
      const at = refusedAt.get(format);
      if (at !== undefined && clock.now() < at + REFUSAL_MS)
        referee.violation(
          `a request reached ${format} ${clock.now() - at} ms after it refused every request`,
        );
      if (LLM_REFUSALS.has(fault)) refusedAt.set(format, clock.now());
    };
    const serial = lane();
    const ids = spec.ops.map(() => `chaos-${process.pid}-${++nextOp}`);
    for (const [i, op] of spec.ops.entries()) s.toolFaults.set(ids[i]!, [...op.faults]);

    const signalFor = (afterMs: number | undefined) => {
      if (afterMs === undefined) return undefined;
      const ctrl = new AbortController();
      clock.setTimeout(() => ctrl.abort(new Error('the caller gave up')), afterMs);
      return ctrl.signal;
    };
    const callTool = async (tool: ToolName, id: string, op: HttpOp, label: string) => {
      const start = clock.now();
      const total = registry.get(tool)?.policy.profile.timeout.totalMs ?? null;
      const budget = total === null ? op.deadlineMs : Math.min(total, op.deadlineMs ?? total);
      const signal = signalFor(op.abortAfterMs);
      await referee.watch(
        id,
        label,
        budget === undefined ? undefined : start + budget,
        () => registry.call(tool, { op: id }, { callId: `call_${id}`, signal, deadlineMs: op.deadlineMs }),
        (r): Told | string => {
          if (r.ok) return 'value';
          const mayHaveActed =
            tool !== 'search' &&
            isBreakwaterError(r.error) &&
            (r.error.failure.delivery === 'unknown' ||
              r.error.attempts.some((a) => a.failure?.delivery === 'unknown'));
          return toldByError(r.error, mayHaveActed);
        },
      );
    };
    // Whatever shape the server sent: text is a string, and every tool call has an id of its own.
    const checkAnswer = (label: string, content: unknown, calls: readonly { id: string }[]) => {
      if (typeof content !== 'string') referee.violation(`${label}: content is not a string`);
      const ids = calls.map((c) => c.id);
      if (ids.some((id) => id === '') || new Set(ids).size !== ids.length)
        referee.violation(`${label}: tool-call ids missing or repeated: ${JSON.stringify(ids)}`);
    };
    // Each provider gets its share: a later one is never left without time because an earlier one took it all.
    const checkShare = (label: string, error: unknown, budget: number | undefined) => {
      if (!(error instanceof AllProvidersFailedError) || budget === undefined || budget < 200) return;
      for (const f of error.failures.slice(1)) {
        const format = f.provider as 'openai' | 'anthropic';
        if (f.error.failure.kind === 'timeout' && thisCall[format] === 0)
          referee.violation(`${label}: ${f.provider} was left no time (${f.error.failure.message})`);
      }
    };
    const modelCall = (op: HttpOp, i: number) =>
      serial(async () => {
        thisCall.openai = 0;
        thisCall.anthropic = 0;
        const start = clock.now();
        const budget = op.deadlineMs ?? router.routes[0]!.policy.profile.timeout.totalMs ?? undefined;
        const signal = signalFor(op.abortAfterMs);
        await referee.watch(
          ids[i]!,
          `${op.target} ${i}`,
          budget === undefined ? undefined : start + budget,
          async () => {
            if (op.target === 'chat') {
              const answer = await router.chat(hello, { signal, deadlineMs: op.deadlineMs });
              checkAnswer(`chat ${i}`, answer.message.content, answer.toolCalls);
              return answer;
            }
            const chunks: ChatChunk[] = [];
            for await (const c of router.stream(hello, { signal, deadlineMs: op.deadlineMs })) chunks.push(c);
            if (chunks.filter((c) => c.type === 'finish').length !== 1 || chunks.at(-1)?.type !== 'finish')
              referee.violation(
                `stream ${i}: ended without throwing, but not with exactly one final finish chunk`,
              );
            const last = chunks.at(-1);
            if (last?.type === 'finish')
              checkAnswer(`stream ${i}`, last.response.message.content, last.response.toolCalls);
            return chunks;
          },
          (r) => {
            modelEndings.push({ label: `${op.target} ${i}`, failed: !r.ok });
            if (!r.ok) checkShare(`${op.target} ${i}`, r.error, budget);
            return r.ok ? 'value' : toldByError(r.error, false);
          },
        );
      });

    const runOp = async (op: HttpOp, i: number) => {
      const id = ids[i]!;
      if (op.target === 'chat' || op.target === 'stream') return modelCall(op, i);
      const first = callTool(op.target, id, op, `${op.target} ${i}`);
      if (op.redeliver === 'twin')
        await Promise.all([first, callTool(op.target, id, op, `${op.target} ${i} twin`)]);
      else {
        await first;
        if (op.redeliver === 'after') await callTool(op.target, id, op, `${op.target} ${i} again`);
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
    if (clock.now() > 1_700_000_000_000 + HORIZON_MS) referee.violation('the schedule ran past its horizon');
    // Requests the clients gave up on still land (and bill) at the fakes once they see the hang-up.
    const started = performance.now();
    while (s.tracker.stalledCount() > 0 && performance.now() - started < WATCHDOG_MS) await turn();
    for (const [i, op] of spec.ops.entries()) {
      const id = ids[i]!;
      if (op.target === 'charge') referee.effects(id, s.payments.chargesFor(id));
      if (op.target === 'image' || op.target === 'image_reconciled')
        referee.effects(id, s.images.imagesFor(id));
      s.toolFaults.delete(id);
    }
    await turn();
    await checkTelemetry(otel, modelEndings, referee);
    await otel.close();
    return { violations: referee.violations, unhandled: unhandled.seen };
  } finally {
    s.onLlmRequest = undefined;
    unhandled.stop();
  }
}
