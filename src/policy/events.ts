import type { Outcome } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import type { BreakerTransition } from './breaker.js';
import type { ChaosInjection } from './chaos.js';
import type { Effect } from './decision.js';

/** Everything a policy decides, as data, for telemetry and logs. No request content. */
export type PolicyEvent =
  | {
      readonly type: 'retry_scheduled';
      readonly dependency: string;
      /** The attempt that will run after the wait. */
      readonly attempt: number;
      readonly delayMs: number;
      readonly fromRetryAfter: boolean;
      readonly failure: Failure;
    }
  | ({ readonly type: 'breaker_transition'; readonly dependency: string } & BreakerTransition)
  | {
      readonly type: 'rejected';
      readonly dependency: string;
      readonly reason: 'circuit_open' | 'queue_full' | 'queue_timeout' | 'cooldown';
    }
  | {
      readonly type: 'cooldown_started';
      readonly dependency: string;
      readonly untilMs: number;
      readonly retryAfterMs: number;
    }
  | { readonly type: 'budget_exhausted'; readonly dependency: string; readonly failure: Failure }
  | { readonly type: 'outcome_unknown'; readonly dependency: string; readonly failure: Failure }
  | { readonly type: 'reconciled'; readonly dependency: string; readonly found: boolean }
  | {
      /** The fallback answered instead of the failure (it runs after this event). */
      readonly type: 'fallback_used';
      readonly dependency: string;
      readonly failure: Failure;
      /** The failed operation's outcome: `unknown` only when the fallback was allowed to answer one. */
      readonly outcome: Outcome;
    }
  | ChaosInjection
  | GroupHedgeEvent;

/**
 * A hedged call in a router group (docs/providers.md, "Hedging in groups").
 * `dependency` is the deployment of the first request, the one that was slow;
 * `deployment` the one the second request went to (or, declined by the
 * budget, would have gone to).
 */
export type GroupHedgeEvent =
  | {
      /** The delay passed with no answer, and a second request was sent to `deployment`. */
      readonly type: 'hedge_sent';
      readonly dependency: string;
      readonly group: string;
      readonly deployment: string;
      readonly delayMs: number;
    }
  | {
      /** The second request answered first; the first was aborted. */
      readonly type: 'hedge_won';
      readonly dependency: string;
      readonly group: string;
      readonly deployment: string;
      readonly delayMs: number;
      /** From the call's start on the group to the winning answer. */
      readonly elapsedMs: number;
    }
  | {
      /**
       * The delay passed with no answer, but no second request was sent: the
       * group's hedge budget was spent (`deployment` names the one it would
       * have gone to), or no other deployment could take it.
       */
      readonly type: 'hedge_skipped';
      readonly dependency: string;
      readonly group: string;
      readonly reason: 'budget' | 'no_alternative';
      readonly deployment?: string | undefined;
    };

export interface OperationInfo {
  readonly dependency: string;
  readonly profile: string;
  readonly effect: Effect;
}

export interface AttemptInfo {
  readonly dependency: string;
  readonly attempt: number;
  /** The backoff or Retry-After wait that preceded this attempt. */
  readonly waitedMs: number;
  /** Time spent waiting in the gate's queue (cooldown, concurrency, rate) before this attempt. */
  readonly queuedMs: number;
}

export type AttemptOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failure: Failure };

/**
 * How telemetry (or anything else) watches a policy. Wrappers must call `run`
 * exactly once and return what it returns; they may open a span around it.
 * Every member is optional and costs nothing when absent. An observer that
 * throws, or breaks the wrapper contract, is reported once by name and
 * otherwise ignored: it never changes an outcome.
 */
export interface PolicyObserver {
  /** Names this observer in the warning given if it throws (telemetry's is `telemetry`). */
  readonly name?: string;
  operation?<T>(info: OperationInfo, run: () => Promise<T>): Promise<T>;
  attempt?<T>(info: AttemptInfo, run: () => Promise<AttemptOutcome<T>>): Promise<AttemptOutcome<T>>;
  event?(event: PolicyEvent): void;
}
