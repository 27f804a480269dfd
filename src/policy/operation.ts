import type { AttemptRecord, Failure, FailureKind } from '../failure/failure.js';
import type { Run } from './attempt.js';
import type { Clock, Random } from './clock.js';
import type { Effect } from './decision.js';
import type { PolicyEvent } from './events.js';
import type { Gate } from './gate.js';
import type { Health, HealthVerdict } from './health.js';
import type { Observers } from './observers.js';
import type { Profile } from './profile.js';
import type { Reconcile } from './reconcile.js';
import type { TimerQueue } from './timer-queue.js';

/** What every stage of one policy reads: its parts, built once by `createPolicy`. */
export interface PolicyParts {
  readonly profile: Profile;
  readonly dependency: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly health: Health;
  readonly gate: Gate | undefined;
  readonly timers: TimerQueue;
  readonly observers: Observers;
  readonly emit: (e: PolicyEvent) => void;
  /** Failure kinds that count against the breaker; undefined without one. */
  readonly countKinds: ReadonlySet<FailureKind> | undefined;
  readonly waitWhenOpen: boolean;
}

/** The options of one operation that the stages need, resolved once; also what its attempts share (one object: the happy path pays for each). */
export interface Operation<T> extends Run<T> {
  readonly start: number;
  readonly deadlineAt: number | undefined;
  readonly effect: Effect;
  readonly keyHonored: boolean;
  readonly idempotencyKey: string | undefined;
  readonly reconcile: Reconcile<T> | undefined;
  readonly retryIf: ((failure: Failure, error: unknown) => boolean) | undefined;
  /** Attempts so far; allocated at the first failure, so the happy path does not. */
  history: AttemptRecord[] | undefined;
  /** The wait before the next attempt, and the one before it (decorrelated jitter reads it). */
  waitedMs: number;
}

/** Whether a failure says the dependency is unwell, well, or nothing at all. */
export function verdictOf(parts: PolicyParts, failure: Failure | undefined): HealthVerdict {
  if (failure === undefined) return 'success';
  if (parts.countKinds?.has(failure.kind)) return 'failure';
  // The dependency answered, and answered sanely: it is healthy. A refused credential is not a
  // sign of health (the next caller with the same key is refused too), so unless the profile
  // counts it as a failure it says nothing.
  if (failure.kind === 'client_error' || failure.kind === 'conflict') return 'success';
  return 'neutral';
}
