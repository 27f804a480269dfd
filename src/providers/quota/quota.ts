import { RateLimitedError } from '../../failure/errors.js';
import type { Failure } from '../../failure/failure.js';
import { type Clock, systemClock, type TimerHandle } from '../../policy/clock.js';
import type { RateLimitReading } from './headers.js';
import {
  admit,
  createQuotaState,
  type Fit,
  fitOf,
  headroom,
  observe,
  type QuotaEntry,
  settle,
  unadmit,
} from './state.js';

/** One admitted request; hand it back to `settle` when the request ends, however it ends. */
export interface QuotaReservation {
  readonly tokens: number;
}

export interface QuotaAcquireOptions {
  /** Aborting rejects the wait with the signal's reason; nothing was admitted. */
  readonly signal?: AbortSignal | undefined;
  /** On the quota's clock: a request that cannot fit before it is rejected at once instead of held. */
  readonly deadline?: number | undefined;
}

/**
 * A deployment's requests and tokens windows: requests wait here, before
 * anything is sent, until they fit under both the configured limits and
 * what the provider's headers last said.
 */
export interface Quota {
  /**
   * Waits (on the injected clock, abortable) until `tokens` fit, in order of
   * arrival (a later, smaller request goes first only into room the first
   * one could not use); rejects at once with a `not_sent` `RateLimitedError` when they
   * cannot fit before `deadline`, or ever (more than the whole limit).
   */
  acquire(tokens: number, opts?: QuotaAcquireOptions): Promise<QuotaReservation>;
  /**
   * What the provider said (its headers) — call on every response, success
   * or error. Pass the reservation the response answers when at hand: other
   * requests still in flight then count against the reading (the provider
   * may not have counted them yet), and this one does not count twice.
   */
  observe(reading: RateLimitReading | undefined, answers?: QuotaReservation): void;
  /**
   * The request ended; its real usage, when known, corrects the estimate. Call exactly once per reservation.
   * `counted: false` when the provider certainly did not count it (it answered 429, or the request was
   * never sent): a reading must not give it back as if the provider had let it go. Unsure (a timeout), leave it.
   */
  settle(
    reservation: QuotaReservation,
    actualTokens?: number | undefined,
    how?: { readonly counted?: boolean | undefined },
  ): void;
  /** The share (0..1) of the tightest known window still free; undefined when no limit is known. */
  headroom(): number | undefined;
  /** How long `tokens` would wait if asked now (0: at once; `Infinity`: never), requests already waiting included. */
  delayFor(tokens: number): number;
}

export interface QuotaOptions {
  /** Requests per window (a minute) before any header is seen, and after as the stricter of the two. */
  readonly rpm?: number | undefined;
  /** Tokens per window (a minute), counted by estimate (`estimateTokens`) until the real usage is known. */
  readonly tpm?: number | undefined;
  /** Default: the system's monotonic clock. */
  readonly clock?: Clock | undefined;
  /** The window `rpm` and `tpm` count over. Default 60 000 ms; shorter only to compress time in tests and benchmarks. */
  readonly windowMs?: number | undefined;
  /** Named in errors (the deployment's id). Default `quota`. */
  readonly name?: string | undefined;
}

interface Waiter {
  readonly tokens: number;
  readonly deadline: number | undefined;
  readonly resolve: (r: QuotaReservation) => void;
  readonly reject: (e: unknown) => void;
  readonly cleanup: () => void;
}

function positive(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`createQuota: ${field} must be a positive finite number, got ${String(value)}`);
  return value;
}

function heldPastDeadline(dependency: string, tokens: number, waitMs: number): RateLimitedError {
  const failure: Failure = {
    kind: 'rate_limited',
    delivery: 'not_sent',
    code: 'quota_held',
    retryAfterMs: Math.ceil(waitMs),
    message: `${tokens} tokens do not fit the quota before the deadline${waitMs > 0 ? ` (room in ${Math.ceil(waitMs)} ms at the earliest)` : ''}: not sent`,
    cause: undefined,
  };
  return new RateLimitedError({ failure, dependency });
}

function tooLarge(dependency: string, f: Extract<Fit, { kind: 'never' }>, tokens: number): RateLimitedError {
  const failure: Failure = {
    kind: 'rate_limited',
    delivery: 'not_sent',
    code: 'quota_exceeds_limit',
    // Never worth repeating here: another deployment with a larger limit may take it.
    shouldRetry: false,
    message:
      f.unit === 'tokens'
        ? `${tokens} tokens exceed the whole limit of ${f.limit} tokens per window: not sent`
        : `the limit of ${f.limit} requests per window admits none: not sent`,
    cause: undefined,
  };
  return new RateLimitedError({ failure, dependency });
}

/**
 * A quota for one deployment. Requests wait in order of arrival (a large one
 * is not held back by small ones: they may use only room it leaves over); each admitted request holds its
 * estimate until `settle`, so twenty concurrent callers see twenty
 * reservations, not the same `remaining` twenty times.
 */
export function createQuota(options: QuotaOptions = {}): Quota {
  const rpm = positive(options.rpm, 'rpm');
  const tpm = positive(options.tpm, 'tpm');
  const windowMs = positive(options.windowMs, 'windowMs') ?? 60_000;
  const clock = options.clock ?? systemClock;
  const dependency = options.name ?? 'quota';
  const state = createQuotaState(rpm, tpm, windowMs);
  const entries = new WeakMap<QuotaReservation, QuotaEntry>();
  const queue: Waiter[] = [];
  let timer: TimerHandle | undefined;

  const checkTokens = (tokens: number): void => {
    if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0)
      throw new RangeError(`quota.acquire: tokens must be a finite number ≥ 0, got ${String(tokens)}`);
  };

  const reserve = (tokens: number): QuotaReservation => {
    const entry = admit(state, tokens, clock.now());
    const reservation: QuotaReservation = Object.freeze({ tokens });
    entries.set(reservation, entry);
    return reservation;
  };

  const drop = (w: Waiter): void => {
    const i = queue.indexOf(w);
    if (i >= 0) queue.splice(i, 1);
    w.cleanup();
  };

  /**
   * While the head waits for room, a caller behind it whose request fits
   * now goes ahead — only when the head would still fit at the same moment
   * with it admitted: the room left over beside the head, not the head's.
   */
  const backfill = (head: Waiter, headWaitMs: number, now: number): void => {
    for (const w of queue.slice(1)) {
      if (fitOf(state, w.tokens, now).kind !== 'now') continue;
      const entry = admit(state, w.tokens, now);
      const after = fitOf(state, head.tokens, now);
      if (after.kind === 'later' && after.exact && after.waitMs <= headWaitMs) {
        drop(w);
        const reservation: QuotaReservation = Object.freeze({ tokens: w.tokens });
        entries.set(reservation, entry);
        w.resolve(reservation);
      } else unadmit(state, entry);
    }
  };

  /** Admits waiters from the head while they fit; sets one timer for the head otherwise. */
  const pump = (): void => {
    if (timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
    while (queue.length > 0) {
      const head = queue[0]!;
      const now = clock.now();
      const f = fitOf(state, head.tokens, now);
      if (f.kind === 'now') {
        drop(head);
        head.resolve(reserve(head.tokens));
        continue;
      }
      if (f.kind === 'never') {
        drop(head);
        head.reject(tooLarge(dependency, f, head.tokens));
        continue;
      }
      if (head.deadline !== undefined && now + f.waitMs > head.deadline) {
        drop(head);
        head.reject(heldPastDeadline(dependency, head.tokens, f.waitMs));
        continue;
      }
      if (f.exact) backfill(head, f.waitMs, now);
      // A wait that needs a request in flight to end is woken by `settle` or `observe`, not by a timer.
      if (f.exact || f.waitMs > 0) timer = clock.setTimeout(pump, Math.max(1, f.waitMs));
      return;
    }
  };

  const quota: Quota = {
    acquire(tokens, opts = {}) {
      checkTokens(tokens);
      const { signal, deadline } = opts;
      if (signal?.aborted) return Promise.reject(signal.reason);
      const now = clock.now();
      const f = fitOf(state, tokens, now);
      if (f.kind === 'never') return Promise.reject(tooLarge(dependency, f, tokens));
      if (queue.length === 0 && f.kind === 'now') return Promise.resolve(reserve(tokens));
      if (f.kind === 'later' && deadline !== undefined && now + f.waitMs > deadline)
        return Promise.reject(heldPastDeadline(dependency, tokens, f.waitMs));
      return new Promise<QuotaReservation>((resolve, reject) => {
        let deadlineTimer: TimerHandle | undefined;
        const onAbort = () => {
          drop(waiter);
          reject(signal?.reason);
          // The head may have been the one holding the others back.
          pump();
        };
        const waiter: Waiter = {
          tokens,
          deadline,
          resolve,
          reject,
          cleanup() {
            signal?.removeEventListener('abort', onAbort);
            if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        if (deadline !== undefined)
          deadlineTimer = clock.setTimeout(
            () => {
              // Room that frees at the deadline itself still counts: admit first, then give up.
              pump();
              if (!queue.includes(waiter)) return;
              drop(waiter);
              const left = fitOf(state, tokens, clock.now());
              reject(heldPastDeadline(dependency, tokens, left.kind === 'later' ? left.waitMs : 0));
              pump();
            },
            Math.max(0, deadline - now),
          );
        queue.push(waiter);
        // Alone, it is the head; behind others, it may fit beside the head.
        pump();
      });
    },

    observe(reading, answers) {
      observe(state, reading, clock.now(), answers === undefined ? undefined : entries.get(answers));
      if (queue.length > 0) pump();
    },

    settle(reservation, actualTokens, how) {
      const entry = entries.get(reservation);
      if (entry === undefined) return;
      entries.delete(reservation);
      settle(state, entry, actualTokens, clock.now(), how?.counted !== false);
      if (queue.length > 0) pump();
    },

    headroom: () => headroom(state, clock.now()),

    delayFor(tokens) {
      checkTokens(tokens);
      const now = clock.now();
      const f = fitOf(state, tokens, now);
      const own = f.kind === 'now' ? 0 : f.kind === 'never' ? Number.POSITIVE_INFINITY : f.waitMs;
      // Callers already waiting go first: at least as long as the head's wait.
      const head = queue[0];
      if (head === undefined) return own;
      const h = fitOf(state, head.tokens, now);
      return Math.max(own, h.kind === 'later' ? h.waitMs : 0);
    },
  };
  return quota;
}
