import type { Clock, TimerHandle } from './clock.js';
import { LatencyTracker } from './latency-tracker.js';
import { reportObserverFailure } from './observers.js';
import { RetryBudget } from './retry-budget.js';

/**
 * Hedging: when a request has not answered after a delay, a second one goes
 * to an alternative (another deployment, another replica), the first success
 * wins and the other is aborted. It cuts the tail a slow replica adds, at the
 * price of extra requests, so it is budgeted like retries. Only for calls that
 * are safe to run twice: both may reach the dependency.
 */
export interface HedgeOptions {
  /**
   * The fixed delay before the second request, in ms; with `percentile`, the
   * delay used until enough latencies are known. Default 2 000 (Polly's).
   */
  readonly afterMs?: number | undefined;
  /**
   * Hedge after this percentile (0 < p ≤ 1, e.g. 0.95) of recent latency
   * instead of a fixed delay: requests slower than nearly all recent ones are
   * the ones hedged, so the extra load follows from the percentile.
   */
  readonly percentile?: number | undefined;
  /** The share of calls that may hedge, over a sliding window (like the retry budget). Default 0.1. */
  readonly budget?: number | undefined;
  /** Hedges always allowed per second on top of `budget`, so a quiet dependency can still be hedged. Default 1. */
  readonly minPerSecond?: number | undefined;
}

export interface ResolvedHedgeOptions {
  readonly afterMs: number;
  readonly percentile: number | undefined;
  readonly budget: number;
  readonly minPerSecond: number;
  /** The budget's window. */
  readonly windowMs: number;
  /** Latencies needed before `percentile` replaces `afterMs`. */
  readonly minSamples: number;
}

export const HEDGE_DEFAULTS = {
  afterMs: 2_000,
  budget: 0.1,
  minPerSecond: 1,
  windowMs: 10_000,
  minSamples: 20,
} as const;

/** A problem with hedge options: the field (e.g. `hedge.afterMs`) and what was wrong. */
export interface HedgeOptionIssue {
  readonly path: string;
  readonly message: string;
}

/** Every problem with hedge options, each naming its field under `field` (e.g. `groups.smart.hedge`). */
export function hedgeOptionIssues(input: unknown, field = 'hedge'): HedgeOptionIssue[] {
  if (input === null || typeof input !== 'object')
    return [{ path: field, message: `expected an object, got ${input === null ? 'null' : typeof input}` }];
  const issues: HedgeOptionIssue[] = [];
  const rules: Record<string, [(v: number) => boolean, string]> = {
    afterMs: [(v) => v >= 0, 'a non-negative number of milliseconds'],
    percentile: [(v) => v > 0 && v <= 1, 'a number in (0, 1], e.g. 0.95'],
    budget: [(v) => v >= 0 && v <= 1, 'a share of calls in [0, 1]'],
    minPerSecond: [(v) => v >= 0, 'a non-negative number of hedges per second'],
  };
  for (const [k, v] of Object.entries(input)) {
    const rule = rules[k];
    if (!rule) {
      issues.push({
        path: `${field}.${k}`,
        message: 'unknown option (afterMs, percentile, budget, minPerSecond)',
      });
      continue;
    }
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || !rule[0](v))
      issues.push({
        path: `${field}.${k}`,
        message: `expected ${rule[1]}, got ${typeof v === 'number' ? v : typeof v}`,
      });
  }
  return issues;
}

/** Checks hedge options (a `RangeError` naming the field and what was wrong) and fills in the defaults. */
export function resolveHedgeOptions(input: HedgeOptions, field = 'hedge'): ResolvedHedgeOptions {
  const issue = hedgeOptionIssues(input, field)[0];
  if (issue) throw new RangeError(`${issue.path}: ${issue.message}`);
  return {
    afterMs: input.afterMs ?? HEDGE_DEFAULTS.afterMs,
    percentile: input.percentile,
    budget: input.budget ?? HEDGE_DEFAULTS.budget,
    minPerSecond: input.minPerSecond ?? HEDGE_DEFAULTS.minPerSecond,
    windowMs: HEDGE_DEFAULTS.windowMs,
    minSamples: HEDGE_DEFAULTS.minSamples,
  };
}

/** What a hedger does, as data, for telemetry. No request content. */
export type HedgeEvent =
  /** The delay passed with no answer, and a second request was sent. */
  | { readonly type: 'hedge'; readonly delayMs: number }
  /** The second request answered first; the first was aborted. */
  | { readonly type: 'hedge.won'; readonly delayMs: number; readonly elapsedMs: number }
  /** The delay passed with no answer, but no second request was sent. */
  | { readonly type: 'hedge.skipped'; readonly reason: 'budget' | 'no_alternative' };

export type HedgeObserver = (event: HedgeEvent) => void;

/** One request of a hedged call. Pass `signal` on: it fires when the other request won. */
export type HedgeTask<T> = (signal: AbortSignal) => Promise<T>;

export interface HedgeRunOptions<T> {
  /** Aborting it aborts both requests. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Asked once, when the delay has passed with no answer: the second request,
   * or undefined when there is nowhere else to send it (no hedge, no budget spent).
   */
  readonly alternative: () => HedgeTask<T> | undefined;
  /** Told about this call, besides the hedger's own observer. */
  readonly observer?: HedgeObserver | undefined;
  /**
   * False when this run continues a call already counted (a router's call failing over to the
   * next deployment of the group): the budget is a share of calls, not of turns. Default true.
   */
  readonly newCall?: boolean | undefined;
}

export interface HedgeStats {
  readonly calls: number;
  /** Second requests sent. */
  readonly hedges: number;
  /** Second requests that answered first. */
  readonly won: number;
  /** Delays that passed with no hedge sent because the budget was spent. */
  readonly denied: number;
}

export interface Hedger {
  readonly options: ResolvedHedgeOptions;
  /** The delay a call started now would wait before hedging. */
  delayMs(): number;
  /**
   * Runs `primary`; if it has not answered after the delay, runs the
   * alternative too. The first success is returned and the other request is
   * aborted (its later result or rejection is swallowed). A failure is not an
   * answer: the other request is awaited, and when both fail the primary's
   * error is thrown. A primary that fails before the delay fails the call (retries
   * are the policy's business, not the hedge's).
   */
  run<T>(primary: HedgeTask<T>, options: HedgeRunOptions<T>): Promise<T>;
  stats(): HedgeStats;
}

export interface HedgerDeps {
  readonly clock: Clock;
  readonly observer?: HedgeObserver | undefined;
  /** Latencies shared with another hedger (e.g. all the deployments of a group); default its own. */
  readonly latencies?: LatencyTracker | undefined;
  /** Where the options came from, for the errors that name a bad one; default `hedge`. */
  readonly field?: string | undefined;
}

/** The abort reason a losing request sees. */
export class HedgeLostError extends Error {
  constructor() {
    super('another request of the same hedged call answered first');
    // The name fetch and the SDKs give an abort, so code that tells aborts apart sees one.
    this.name = 'AbortError';
  }
}

function emit(observers: readonly (HedgeObserver | undefined)[], event: HedgeEvent): void {
  // An observer watches; one that throws is reported once and never changes the outcome of the call.
  for (const o of observers) {
    if (o === undefined) continue;
    try {
      o(event);
    } catch (err) {
      reportObserverFailure(o, 'hedge observer', err);
    }
  }
}

interface Running {
  readonly controller: AbortController;
  readonly startedAt: number;
  readonly hedge: boolean;
  done: boolean;
}

export function createHedger(input: HedgeOptions, deps: HedgerDeps): Hedger {
  const options = resolveHedgeOptions(input, deps.field);
  const { clock } = deps;
  const latencies = deps.latencies ?? new LatencyTracker();
  const budget = new RetryBudget(
    { ratio: options.budget, minPerSecond: options.minPerSecond, windowMs: options.windowMs },
    clock,
  );
  let calls = 0;
  let hedges = 0;
  let won = 0;
  let denied = 0;

  function delayMs(): number {
    if (options.percentile === undefined || latencies.count < options.minSamples) return options.afterMs;
    return latencies.percentile(options.percentile) ?? options.afterMs;
  }

  function run<T>(primary: HedgeTask<T>, o: HedgeRunOptions<T>): Promise<T> {
    const start = clock.now();
    if (o.newCall !== false) {
      calls++;
      budget.recordFirstAttempt(start);
    }
    const delay = delayMs();
    const observers = [deps.observer, o.observer];
    const outer = o.signal;
    return new Promise<T>((resolve, reject) => {
      const running: Running[] = [];
      let settled = false;
      let timer: TimerHandle | undefined;
      let primaryError: { readonly error: unknown } | undefined;

      const finish = () => {
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        outer?.removeEventListener('abort', onAbort);
      };
      function onAbort() {
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        for (const r of running) r.controller.abort(outer?.reason);
      }

      const launch = (task: HedgeTask<T>, hedge: boolean) => {
        const r: Running = { controller: new AbortController(), startedAt: clock.now(), hedge, done: false };
        if (outer?.aborted) r.controller.abort(outer.reason);
        running.push(r);
        let p: Promise<T>;
        try {
          p = Promise.resolve(task(r.controller.signal));
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(
          (value) => {
            r.done = true;
            if (settled) return; // the loser, after its abort: swallowed
            const now = clock.now();
            latencies.record(now - r.startedAt);
            finish();
            for (const other of running) {
              if (other === r || other.done) continue;
              other.controller.abort(new HedgeLostError());
              // A lower bound of the loser's latency: it keeps the slow tail in the percentile.
              latencies.record(now - other.startedAt);
            }
            if (hedge) {
              won++;
              emit(observers, { type: 'hedge.won', delayMs: delay, elapsedMs: now - start });
            }
            resolve(value);
          },
          (error: unknown) => {
            r.done = true;
            if (settled) return;
            if (!hedge) primaryError = { error };
            // A failure is not an answer: wait for the other request while one runs.
            if (running.some((x) => !x.done)) return;
            finish();
            reject(primaryError ? primaryError.error : error);
          },
        );
      };

      outer?.addEventListener('abort', onAbort, { once: true });
      launch(primary, false);
      if (settled || outer?.aborted) return;
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (settled || outer?.aborted) return;
        let alternative: HedgeTask<T> | undefined;
        try {
          alternative = o.alternative();
        } catch (err) {
          // A bug in the caller's picking: surfaced, not hidden behind the primary's answer.
          finish();
          for (const r of running) r.controller.abort(new HedgeLostError());
          reject(err);
          return;
        }
        if (alternative === undefined) {
          emit(observers, { type: 'hedge.skipped', reason: 'no_alternative' });
          return;
        }
        if (!budget.tryAcquireRetry(clock.now())) {
          denied++;
          emit(observers, { type: 'hedge.skipped', reason: 'budget' });
          return;
        }
        hedges++;
        emit(observers, { type: 'hedge', delayMs: delay });
        launch(alternative, true);
      }, delay);
    });
  }

  return {
    options,
    delayMs,
    run,
    stats: () => ({ calls, hedges, won, denied }),
  };
}
