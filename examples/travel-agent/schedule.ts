/**
 * The fault schedule of one run: which request to which endpoint fails, and
 * how. It is a pure function of `--chaos` and `--seed`, so a run that showed
 * something interesting can be replayed exactly, and the naive comparison
 * (`--naive`) meets the very same faults.
 */
import type { Fault as KitFault } from 'breakwater/testing';
import { describeFault, type Fault } from '../shared/faults.js';
import { fork, pick, type Random } from './random.js';

export const CHAOS_LEVELS = ['none', 'light', 'heavy'] as const;
export type Chaos = (typeof CHAOS_LEVELS)[number];

/** The model servers' faults, in `breakwater/testing`'s vocabulary: the statuses a provider fails with. */
export type ModelFault = Extract<KitFault, 'error_500' | 'error_503' | 'overloaded_529'>;

const MODEL_FAULT_STATUS: Readonly<Record<ModelFault, number>> = {
  error_500: 500,
  error_503: 503,
  overloaded_529: 529,
};

export interface ModelFaults {
  /** The primary's outage: every request from this one on (1-based) fails, until the run ends. */
  readonly openaiDownFrom: number | undefined;
  /** The faults it fails with, in turn. */
  readonly openaiFaults: readonly ModelFault[];
  /** A fault for each request to the secondary, in order; none once the list runs out. */
  readonly anthropic: readonly ModelFault[];
}

export interface FaultSchedule {
  readonly chaos: Chaos;
  readonly seed: number;
  /** One fault per request to each endpoint, in order; `ok` once a list runs out. */
  readonly searchFlights: readonly Fault[];
  readonly searchHotels: readonly Fault[];
  readonly bookFlight: readonly Fault[];
  readonly bookHotel: readonly Fault[];
  readonly charge: readonly Fault[];
  readonly imageCreate: readonly Fault[];
  readonly imageLookup: readonly Fault[];
  readonly model: ModelFaults;
}

const ok: Fault = { kind: 'ok' };
/** The kit's server errors: the fakes answer 500 and 503 (no 502). */
const SERVER_ERRORS: readonly ModelFault[] = ['error_500', 'error_503'];

function serverError(random: Random, after = false): Fault {
  return { kind: 'status', status: pick(random, [500, 502, 504]), after };
}

export function faultSchedule(chaos: Chaos, seed: number): FaultSchedule {
  const r = fork(seed, 0);
  if (chaos === 'none') {
    return {
      chaos,
      seed,
      searchFlights: [],
      searchHotels: [],
      bookFlight: [],
      bookHotel: [],
      charge: [],
      imageCreate: [],
      imageLookup: [],
      model: { openaiDownFrom: undefined, openaiFaults: [], anthropic: [] },
    };
  }
  const retryAfterMs = pick(r, chaos === 'light' ? [1_000, 1_200, 1_500] : [800, 1_200, 1_600]);
  const lostAnswer: Fault = pick(r, [
    { kind: 'reset', after: true } as const,
    { kind: 'status', status: 500, after: true } as const,
  ]);
  if (chaos === 'light') {
    return {
      chaos,
      seed,
      searchFlights: [serverError(r)],
      // Three hotel searches go out together; the first opens a window that refuses all three.
      searchHotels: [{ kind: 'rate_limit', windowMs: retryAfterMs }],
      bookFlight: [],
      bookHotel: [],
      charge: [lostAnswer],
      imageCreate: [{ kind: 'slow', delayMs: 3_000 }],
      imageLookup: [],
      model: {
        // After the searches and the bookings: the conversation is mid-way when the primary goes.
        openaiDownFrom: 3,
        openaiFaults: [pick(r, SERVER_ERRORS), pick(r, SERVER_ERRORS), pick(r, SERVER_ERRORS)],
        anthropic: [],
      },
    };
  }
  return {
    chaos,
    seed,
    searchFlights: [serverError(r), pick(r, [serverError(r), { kind: 'reset', after: false } as const, ok])],
    searchHotels: [{ kind: 'rate_limit', windowMs: retryAfterMs }, ok, ok, serverError(r)],
    // The airline says it did not act (503 + Retry-After): safe to repeat even without a key.
    bookFlight: [{ kind: 'status', status: 503, after: false, headers: { 'retry-after-ms': '300' } }],
    // The hotel did the booking, then its answer was too slow: the retry carries the same key.
    bookHotel: [pick(r, [{ kind: 'slow', delayMs: 2_000 } as const, serverError(r, true)])],
    charge: [lostAnswer, pick(r, [{ kind: 'reset', after: true } as const, ok])],
    imageCreate: [{ kind: 'slow', delayMs: 3_000 }],
    // Half the seeds lose the lookup too: then the image's outcome stays unknown, and says so.
    imageLookup: r() < 0.5 ? [{ kind: 'status', status: 503, after: false }] : [],
    model: {
      openaiDownFrom: pick(r, [2, 3, 4]),
      openaiFaults: [pick(r, SERVER_ERRORS), pick(r, SERVER_ERRORS), 'error_500'],
      anthropic: ['overloaded_529'],
    },
  };
}

/** The schedule in words, one line per endpoint with faults. */
export function describeSchedule(s: FaultSchedule): string[] {
  const lines: string[] = [];
  const list = (name: string, faults: readonly Fault[]) => {
    const bad = faults
      .map((f, i) => (f.kind === 'ok' ? undefined : `#${i + 1} ${describeFault(f)}`))
      .filter((x) => x !== undefined);
    if (bad.length > 0) lines.push(`${name}: ${bad.join('; ')}`);
  };
  list('flight search', s.searchFlights);
  list('hotel search', s.searchHotels);
  list('flight booking', s.bookFlight);
  list('hotel booking', s.bookHotel);
  list('payment', s.charge);
  list('image generation', s.imageCreate);
  list('image lookup', s.imageLookup);
  if (s.model.openaiDownFrom !== undefined)
    lines.push(
      `openai: down from its request #${s.model.openaiDownFrom} on (HTTP ${[...new Set(s.model.openaiFaults.map((f) => MODEL_FAULT_STATUS[f]))].join('/')})`,
    );
  const overloads = s.model.anthropic
    .map((f, i) => `#${i + 1} HTTP ${MODEL_FAULT_STATUS[f]}${f === 'overloaded_529' ? ' overloaded' : ''}`)
    .join('; ');
  if (overloads !== '') lines.push(`anthropic: ${overloads}`);
  if (lines.length === 0) lines.push('no faults');
  return lines;
}
