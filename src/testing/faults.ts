/**
 * The faults the fakes can inject, one vocabulary for the model servers and
 * the tool services, and the schedules that choose a request's fault: a
 * queue, a probability with a seed, or a function of the request.
 */
import type { Random } from '../policy/clock.js';
import { createSeededRandom } from './prng.js';

/**
 * What a fake does to one request. "Processing" is the work the request asks
 * for: a charge made, an image billed, a completion generated.
 *
 * - `none`: answers normally.
 * - `rate_limited`: 429 with `Retry-After` in seconds; nothing is processed.
 * - `rate_limited_http_date`: 429 with `Retry-After` as an HTTP date.
 * - `rate_limited_ms`: 429 with `retry-after-ms` (OpenAI's and Anthropic's SDKs read it).
 * - `rate_limited_reset_headers`: 429 with the provider's own reset headers
 *   (`x-ratelimit-reset-requests`, `anthropic-ratelimit-requests-reset`), no `Retry-After`.
 * - `rate_limited_no_hint`: 429 with no header saying how long to wait.
 * - `error_500`, `error_503`: that status before any processing.
 * - `overloaded_529`: Anthropic's overloaded answer (529, `x-should-retry: true`).
 * - `reset_before_read`: the connection is reset before the body is read.
 * - `reset_after_read`: the body is read, then the connection is reset; nothing is processed.
 * - `reset_after_processing`: the work is done, then the connection is reset: the answer is lost.
 * - `error_500_after_processing`: the work is done, then the answer is a 500.
 * - `slow_answer`: the normal answer, after the fake's `slowAnswerMs` of real time.
 * - `slow_after_processing`: the work is done; the answer never comes (the client must time out).
 * - `slow_before_processing`: the request is held and the work done once the client gives up,
 *   as a server that finishes what it started would.
 * - `stream_stall`: a streamed answer sends its first chunk and then nothing.
 * - `stream_cut`: a streamed answer sends its first chunk and then the connection is cut.
 *   (On a request that is not streamed, the stream faults answer normally.)
 */
export type Fault =
  | 'none'
  | 'rate_limited'
  | 'rate_limited_http_date'
  | 'rate_limited_ms'
  | 'rate_limited_reset_headers'
  | 'rate_limited_no_hint'
  | 'error_500'
  | 'error_503'
  | 'overloaded_529'
  | 'reset_before_read'
  | 'reset_after_read'
  | 'reset_after_processing'
  | 'error_500_after_processing'
  | 'slow_answer'
  | 'slow_after_processing'
  | 'slow_before_processing'
  | 'stream_stall'
  | 'stream_cut';

/** Every fault, the ones a shrinker prefers (simpler) first. */
export const FAULTS: readonly Fault[] = [
  'none',
  'error_500',
  'error_503',
  'overloaded_529',
  'rate_limited',
  'rate_limited_http_date',
  'rate_limited_ms',
  'rate_limited_reset_headers',
  'rate_limited_no_hint',
  'reset_before_read',
  'reset_after_read',
  'slow_answer',
  'stream_stall',
  'stream_cut',
  'reset_after_processing',
  'error_500_after_processing',
  'slow_after_processing',
  'slow_before_processing',
];

/** The faults after which the work may have been done although the client saw a failure. */
export const AFTER_PROCESSING_FAULTS: ReadonlySet<Fault> = new Set<Fault>([
  'reset_after_processing',
  'error_500_after_processing',
  'slow_after_processing',
  'slow_before_processing',
]);

/** What a schedule may look at to choose a fault. */
export interface FaultRequest {
  /** `METHOD /path`, e.g. `POST /v1/charges`. */
  readonly route: string;
  /** 0 for the first request to this route. */
  readonly index: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * How a route's requests meet faults:
 * - a list: the next requests take its faults in order, then `none`;
 * - `{ probability, seed }`: each request meets a fault with that probability,
 *   chosen (seeded, so reproducible) from `faults` (every fault when left out);
 * - a function of the request: its fault, or undefined for `none`.
 */
export type FaultSchedule =
  | readonly Fault[]
  | { readonly probability: number; readonly seed: number; readonly faults?: readonly Fault[] }
  | ((request: FaultRequest) => Fault | undefined);

/** The faults of every route of one fake, as its requests arrive. */
export interface FaultPlan {
  /** Replaces `route`'s schedule. */
  set(route: string, schedule: FaultSchedule): void;
  /** Appends faults to `route`'s queue (turning its schedule into a queue if it was not one). */
  enqueue(route: string, faults: readonly Fault[]): void;
  /** Drops every route's schedule, so one scenario's leftovers never strike the next. */
  clear(): void;
  /** The fault for this request; `none` when its route has no schedule. */
  next(request: Omit<FaultRequest, 'index'>): Fault;
}

type Compiled = { kind: 'queue'; faults: Fault[] } | { kind: 'pick'; pick: (r: FaultRequest) => Fault };

function compile(route: string, schedule: FaultSchedule): Compiled {
  if (typeof schedule === 'function') return { kind: 'pick', pick: (r) => schedule(r) ?? 'none' };
  if (Array.isArray(schedule)) return { kind: 'queue', faults: [...(schedule as readonly Fault[])] };
  const s = schedule as Exclude<FaultSchedule, readonly Fault[] | ((r: FaultRequest) => unknown)>;
  if (!(s.probability >= 0 && s.probability <= 1))
    throw new RangeError(`faults for ${route}: probability must be in [0, 1], got ${s.probability}`);
  const pool = (s.faults ?? FAULTS).filter((f) => f !== 'none');
  if (pool.length === 0 && s.probability > 0)
    throw new RangeError(`faults for ${route}: faults must name at least one fault other than none`);
  const random: Random = createSeededRandom(s.seed);
  return {
    kind: 'pick',
    pick: () => {
      // Two draws per request whatever the outcome, so one request's luck never shifts the next's.
      const hit = random() < s.probability;
      const which = random();
      return hit ? (pool[Math.floor(which * pool.length)] ?? 'none') : 'none';
    },
  };
}

export function createFaultPlan(): FaultPlan {
  const routes = new Map<string, Compiled>();
  const counts = new Map<string, number>();
  return {
    set(route, schedule) {
      routes.set(route, compile(route, schedule));
    },
    enqueue(route, faults) {
      const current = routes.get(route);
      if (current?.kind === 'queue') current.faults.push(...faults);
      else routes.set(route, { kind: 'queue', faults: [...faults] });
    },
    clear() {
      routes.clear();
    },
    next(request) {
      const index = counts.get(request.route) ?? 0;
      counts.set(request.route, index + 1);
      const plan = routes.get(request.route);
      if (plan === undefined) return 'none';
      if (plan.kind === 'queue') return plan.faults.shift() ?? 'none';
      return plan.pick({ ...request, index });
    },
  };
}
