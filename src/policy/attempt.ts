import { classify } from '../failure/classify.js';
import type { Failure } from '../failure/failure.js';
import type { AttemptOutcome } from './events.js';
import { gateOutcomeOf } from './gate.js';
import type { HealthPermit } from './health.js';
import { type Operation, type PolicyParts, verdictOf } from './operation.js';
import type { TimerEntry, TimerQueue } from './timer-queue.js';

/** What `fn` receives on every attempt. */
export interface AttemptContext {
  /** Aborts when this attempt times out, the deadline passes, or the caller aborts. Pass it on. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The operation's deadline on the policy's clock, if it has one. */
  readonly deadline: number | undefined;
  /** The operation's key: the same on every attempt. */
  readonly idempotencyKey: string | undefined;
}

/** Per-operation state shared by its attempts and waits. */
export interface Run<T = unknown> {
  readonly signal: AbortSignal | undefined;
  /** Set while an attempt is in flight: ends it at once when the caller aborts. */
  onCallerAbort: (() => void) | undefined;
  /**
   * The result predicate, applied inside the attempt so that a bad answer is
   * a failed attempt everywhere: for health, the gate, telemetry's span.
   */
  readonly judge: ((value: T) => Failure | undefined) | undefined;
}

const TIMED_OUT = Symbol('timed-out');

/**
 * One attempt: the context `fn` receives, the entry in the policy's timer
 * queue, and the race between `fn`, the timeout and the caller's abort, in one
 * object, because the happy path pays for every allocation.
 */
export class Attempt<T> implements AttemptContext, TimerEntry {
  due = 0;
  prev: TimerEntry | undefined = undefined;
  next: TimerEntry | undefined = undefined;
  queued = false;
  aborted = false;
  resolve: ((o: AttemptOutcome<T>) => void) | undefined = undefined;
  private done = false;
  private controller: AbortController | undefined = undefined;
  private reason: unknown = undefined;

  constructor(
    readonly attempt: number,
    readonly deadline: number | undefined,
    readonly idempotencyKey: string | undefined,
    readonly run: Run<T>,
    private readonly timers: TimerQueue,
    private readonly timeoutScope: 'attempt' | 'deadline',
  ) {}

  /** Lazily made: most functions never look at the signal, and an AbortController is not free. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  readonly onValue = (value: T): void => {
    const judge = this.run.judge;
    const failure = judge === undefined || this.done ? undefined : judge(value);
    this.finish(failure === undefined ? { ok: true, value } : { ok: false, failure });
  };

  readonly onError = (err: unknown): void => {
    if (this.done) return;
    this.finish({
      ok: false,
      failure: classify(err, { cancelled: this.run.signal?.aborted === true && this.aborted }),
    });
  };

  /** The attempt timeout, fired by the timer queue. */
  fire(): void {
    this.abort(TIMED_OUT);
    this.finish({ ok: false, failure: classify(undefined, { timedOut: this.timeoutScope }) });
  }

  callerAborted(): void {
    const reason = this.run.signal?.reason;
    this.abort(reason);
    this.finish({ ok: false, failure: classify(reason, { cancelled: true }) });
  }

  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  private finish(outcome: AttemptOutcome<T>): void {
    if (this.done) return;
    this.done = true;
    this.timers.remove(this);
    this.run.onCallerAbort = undefined;
    this.resolve?.(outcome);
  }
}

/**
 * Starts one attempt, raced against its timeout and the caller's abort: its
 * ending goes to `a.resolve`, exactly once. Never throws.
 */
export function startAttempt<T>(
  fn: (ctx: AttemptContext) => Promise<T> | T,
  a: Attempt<T>,
  timers: TimerQueue,
  timeoutMs: number | undefined,
  startedAt: number,
): void {
  if (timeoutMs !== undefined) timers.add(a, timeoutMs, startedAt);
  const run = a.run;
  if (run.signal) run.onCallerAbort = () => a.callerAborted();
  let result: Promise<T> | T;
  try {
    result = fn(a);
  } catch (err) {
    a.onError(err);
    return;
  }
  if (result instanceof Promise) result.then(a.onValue, a.onError);
  else Promise.resolve(result).then(a.onValue, a.onError);
}

/** One attempt as a promise of its outcome. Never rejects. */
export function attemptOnce<T>(
  fn: (ctx: AttemptContext) => Promise<T> | T,
  a: Attempt<T>,
  timers: TimerQueue,
  timeoutMs: number | undefined,
  startedAt: number,
): Promise<AttemptOutcome<T>> {
  const outcome = new Promise<AttemptOutcome<T>>((resolve) => {
    a.resolve = resolve;
  });
  startAttempt(fn, a, timers, timeoutMs, startedAt);
  return outcome;
}

/** The attempt's timeout: its own, or what is left of the deadline when that is shorter. */
export function attemptTimeoutMs<T>(parts: PolicyParts, op: Operation<T>, begun: number): number | undefined {
  const attemptMs = parts.profile.timeout.attemptMs;
  const deadlineAt = op.deadlineAt;
  return byDeadline(attemptMs, deadlineAt, begun)
    ? Math.max(0, deadlineAt! - begun)
    : (attemptMs ?? undefined);
}

function byDeadline(attemptMs: number | null, deadlineAt: number | undefined, begun: number): boolean {
  return deadlineAt !== undefined && (attemptMs === null || deadlineAt - begun < attemptMs);
}

/** The attempt numbered `attempt` of `op`, begun at `begun` (not started). */
export function newAttempt<T>(
  parts: PolicyParts,
  op: Operation<T>,
  attempt: number,
  begun: number,
): Attempt<T> {
  const scope = byDeadline(parts.profile.timeout.attemptMs, op.deadlineAt, begun) ? 'deadline' : 'attempt';
  return new Attempt<T>(attempt, op.deadlineAt, op.idempotencyKey, op, parts.timers, scope);
}

/**
 * The attempt stage, first half: run `fn` once under its timeout (through the
 * observers' wrappers when there are any). Never rejects. Not an async
 * function: on the happy path every promise layer costs.
 */
export function tryOnce<T>(
  parts: PolicyParts,
  op: Operation<T>,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  attempt: number,
  begun: number,
  admittedAt: number,
): Promise<AttemptOutcome<T>> {
  const { timers, observers } = parts;
  const ms = attemptTimeoutMs(parts, op, begun);
  const a = newAttempt(parts, op, attempt, begun);
  if (!observers.hasAttempt) return attemptOnce(fn, a, timers, ms, begun);
  return observers.attempt(
    { dependency: parts.dependency, attempt, waitedMs: op.waitedMs, queuedMs: begun - admittedAt },
    () => attemptOnce(fn, a, timers, ms, begun),
  );
}

/**
 * The attempt stage, second half: tell health how the attempt went, then free
 * the gate's slot, in that order (a trip or a 429's cooldown must be in place
 * before the freed slot lets the next queued call out). Returns a promise
 * only when health must be awaited (a shared record).
 */
export function settle(
  parts: PolicyParts,
  permit: HealthPermit,
  failure: Failure | undefined,
  durationMs: number,
  now: number,
): Promise<void> | undefined {
  const recording = settleHealth(parts, permit, failure, durationMs, now);
  const outcome = gateOutcomeOf(failure);
  if (recording === undefined) {
    parts.gate?.leave(outcome, now);
    return undefined;
  }
  return recording.then(() => parts.gate?.leave(outcome));
}

/**
 * Records the attempt's ending with health, and a 429's pause (capped) with
 * health and the gate. A failure's record is returned to be awaited, so that
 * a trip is visible to other processes before this call reports its failure.
 */
function settleHealth(
  parts: PolicyParts,
  permit: HealthPermit,
  failure: Failure | undefined,
  durationMs: number,
  now: number,
): Promise<unknown> | undefined {
  // Health fails open: a record that rejects (a store not breakwater's own may) changes neither the
  // call's outcome nor its slot, and is never left as an unhandled rejection.
  const recorded = parts.health.record(permit, verdictOf(parts, failure), durationMs, now)?.catch(ignore);
  // A probe's success closes a shared breaker: others must see it closed once this call has returned.
  if (failure === undefined) return permit.probe === 0 ? undefined : recorded;
  // A rate limit on a request never sent is a local refusal (a deployment's quota holding a retry past
  // its deadline), not the dependency's 429: it must not pause every other caller, nor teach the pacer.
  if (failure.kind !== 'rate_limited' || failure.delivery === 'not_sent') return recorded;
  // A 429 that names no usable wait (none, 0, unparsable) still says "too many": pause every caller
  // for the first backoff step, so that the gate's pacer learns and the others do not hammer.
  const asked = failure.retryAfterMs;
  const retryAfterMs = asked !== undefined && asked > 0 ? asked : parts.profile.retry.backoff.initialMs;
  if (retryAfterMs <= 0) return recorded;
  const paused = parts.health.cooldown(retryAfterMs, now);
  if (parts.gate) {
    parts.gate.rateLimited(paused.ms, now);
    parts.emit({
      type: 'cooldown_started',
      dependency: parts.dependency,
      untilMs: now + paused.ms,
      retryAfterMs,
    });
  }
  return recorded === undefined && paused.recorded === undefined
    ? undefined
    : Promise.all([recorded, paused.recorded?.catch(ignore)]);
}

function ignore(): void {}
