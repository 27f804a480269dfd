import { classify } from '../failure/classify.js';
import {
  type BreakwaterError,
  CancelledError,
  CircuitOpenError,
  DependencyFailedError,
  GateRejectedError,
  isBreakwaterError,
  OutcomeUnknownError,
  RateLimitedError,
  RetryBudgetExhaustedError,
  TimeoutError,
} from '../failure/errors.js';
import type { AttemptRecord, Failure } from '../failure/failure.js';
import { backoffDelay } from './backoff.js';
import { type BreakerPermit, CircuitBreaker } from './breaker.js';
import { type Clock, type Random, systemClock } from './clock.js';
import { decideRetry, type Effect } from './decision.js';
import type { AttemptOutcome, PolicyEvent, PolicyObserver } from './events.js';
import { Gate, gateOutcomeOf } from './gate.js';
import { type BuiltinProfileName, type Profile, type ProfileInput, resolveProfile } from './profile.js';
import { RetryBudget } from './retry-budget.js';
import type { SharedHealthSource, SharedPermit } from './shared.js';
import { sleep } from './sleep.js';
import { type TimerEntry, TimerQueue } from './timer-queue.js';

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

export type Reconciliation<T> = { readonly found: true; readonly value: T } | { readonly found: false };

export interface RetryInfo {
  readonly attempt: number;
  readonly delayMs: number;
  readonly failure: Failure;
}

export interface RunOptions<T> {
  /** The caller's signal: aborting it ends the operation at once as `cancelled`. */
  readonly signal?: AbortSignal | undefined;
  /** A time budget for the whole operation, from now; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number | undefined;
  /** Overrides the profile's effect for this call. */
  readonly effect?: Effect | undefined;
  readonly idempotencyKey?: string | undefined;
  /** The dependency de-duplicates by `idempotencyKey`, so a repeat under it is safe. */
  readonly keyHonored?: boolean | undefined;
  /**
   * Asked when a non-idempotent attempt may have taken effect: found → its
   * result ends the operation; not found → it is safe to try again.
   */
  readonly reconcile?:
    | ((failure: Failure, signal: AbortSignal | undefined) => Promise<Reconciliation<T>>)
    | undefined;
  /** A veto on retries (tenacity's `retry_if_exception_type`): false stops. It cannot make an unsafe retry safe. */
  readonly retryIf?: ((failure: Failure, error: unknown) => boolean) | undefined;
  /** A result that should be tried again (tenacity's `retry_if_result`); only for safe effects. */
  readonly retryOnResult?: ((value: T) => boolean) | undefined;
  readonly onRetry?: ((info: RetryInfo) => void) | undefined;
}

export interface PolicyOptions {
  /** The dependency this policy guards (a tool; a provider and model), used in errors and telemetry. */
  readonly dependency?: string;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly observer?: PolicyObserver;
  /**
   * Breaker, cooldown and retry budget shared with other processes (a Redis
   * store). Without it, all three are process-local.
   */
  readonly shared?: SharedHealthSource | undefined;
}

export interface Policy {
  readonly profile: Profile;
  readonly dependency: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly gate: Gate | undefined;
  run<T>(fn: (ctx: AttemptContext) => Promise<T> | T, options?: RunOptions<T>): Promise<T>;
}

const TIMED_OUT = Symbol('timed-out');

/**
 * One attempt: the context `fn` receives, the entry in the policy's timer
 * queue, and the race between `fn`, the timeout and the caller's abort, in one
 * object, because the happy path pays for every allocation.
 */
class Attempt<T> implements AttemptContext, TimerEntry {
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
    readonly run: Run,
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
    this.finish({ ok: true, value });
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

/** Per-operation state shared by its attempts and waits. */
interface Run {
  readonly signal: AbortSignal | undefined;
  /** Set while an attempt is in flight: ends it at once when the caller aborts. */
  onCallerAbort: (() => void) | undefined;
}

/**
 * One policy per dependency: caller's signal and deadline → retry (with
 * budget) → circuit breaker → gate → attempt timeout → the call.
 */
export function createPolicy(
  profileInput: BuiltinProfileName | ProfileInput | Profile,
  options: PolicyOptions = {},
): Policy {
  const profile = resolveProfile(profileInput);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const observer = options.observer;
  const dependency = options.dependency ?? profile.name;
  const emit = observer?.event ? (e: PolicyEvent) => observer.event?.(e) : undefined;

  const health = options.shared?.health(dependency, profile, clock);
  // With shared health the store's breaker decides (it keeps its own local fallback).
  const breaker =
    profile.breaker === false || health !== undefined
      ? undefined
      : new CircuitBreaker(profile.breaker, clock);
  const countKinds = profile.breaker === false ? undefined : new Set(profile.breaker.countKinds);
  if (breaker && emit) breaker.onTransition((t) => emit({ type: 'breaker_transition', dependency, ...t }));
  const gate = profile.gate === false ? undefined : new Gate(profile.gate, clock);
  const budget = profile.retry.budget === false ? undefined : new RetryBudget(profile.retry.budget, clock);
  const attemptMs = profile.timeout.attemptMs;
  const timers = new TimerQueue(clock);
  const maxAttempts = profile.retry.maxAttempts;
  const waitWhenOpen = profile.breaker !== false && profile.breaker.waitWhenOpen === true;

  /** Resolves when the breaker changes state or `ms` passes, whichever is first; rejects when the caller aborts. */
  function breakerChange(b: CircuitBreaker, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const done = () => {
        clock.clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const off = b.onTransition(() => {
        done();
        resolve();
      });
      const timer = clock.setTimeout(() => {
        done();
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function fail(
    failure: Failure,
    attempts: readonly AttemptRecord[],
    effectUnknown = false,
  ): BreakwaterError {
    const o = { failure, attempts, dependency };
    if (effectUnknown) return new OutcomeUnknownError(o);
    switch (failure.kind) {
      case 'timeout':
        return new TimeoutError({ ...o, scope: failure.code === 'deadline' ? 'deadline' : 'attempt' });
      case 'cancelled':
        return new CancelledError(o);
      case 'rate_limited':
        return new RateLimitedError(o);
      case 'circuit_open':
        return new CircuitOpenError(o);
      case 'gate_rejected':
        return new GateRejectedError({
          ...o,
          reason: failure.code === 'queue_timeout' ? 'queue_timeout' : 'queue_full',
        });
      default:
        return new DependencyFailedError(o);
    }
  }

  /** Whether a failure says the dependency is unwell, well, or nothing at all. */
  function healthOf(failure: Failure): 'failure' | 'success' | 'neutral' {
    if (countKinds?.has(failure.kind)) return 'failure';
    // The dependency answered, and answered sanely: it is healthy.
    if (failure.kind === 'client_error' || failure.kind === 'auth' || failure.kind === 'conflict')
      return 'success';
    return 'neutral';
  }

  /**
   * Records one attempt's ending with the breaker and the gate's cooldown.
   * With shared health, a failure's record is returned to be awaited, so that
   * a trip is visible to other processes before this call reports its
   * failure; a success is recorded without waiting.
   */
  function settleHealth(
    permit: BreakerPermit | undefined,
    shared: SharedPermit | undefined,
    failure: Failure | undefined,
    durationMs: number,
    now: number,
  ): Promise<unknown> | undefined {
    if (health && shared) {
      const verdict = failure === undefined ? 'success' : healthOf(failure);
      const recorded = health.record(shared, verdict, durationMs, now);
      let cooled: Promise<void> | undefined;
      if (
        failure?.kind === 'rate_limited' &&
        failure.retryAfterMs !== undefined &&
        failure.retryAfterMs > 0
      ) {
        cooled = health.cooldown(now + failure.retryAfterMs, now);
      }
      if (failure === undefined) return undefined;
      if (recorded !== undefined || cooled !== undefined) {
        coolLocally(failure, now);
        return Promise.all([recorded, cooled]);
      }
    }
    if (failure === undefined) {
      if (permit) breaker?.success(permit, durationMs, now);
      return undefined;
    }
    if (permit && breaker) {
      const verdict = healthOf(failure);
      if (verdict === 'failure') breaker.failure(permit, now);
      else if (verdict === 'success') breaker.success(permit, durationMs, now);
      else breaker.release(permit);
    }
    coolLocally(failure, now);
    return undefined;
  }

  function coolLocally(failure: Failure, now: number): void {
    if (
      gate &&
      failure.kind === 'rate_limited' &&
      failure.retryAfterMs !== undefined &&
      failure.retryAfterMs > 0
    ) {
      gate.rateLimited(failure.retryAfterMs, now);
      emit?.({
        type: 'cooldown_started',
        dependency,
        untilMs: now + failure.retryAfterMs,
        retryAfterMs: failure.retryAfterMs,
      });
    }
  }

  /**
   * Ends the operation with `error`, unless an earlier attempt of a
   * non-idempotent call may have taken effect (a timeout after the request
   * went out, say, retried under an honored key until the attempts ran out):
   * then the truth is that the outcome is unknown. Ask `reconcile` first; only
   * its "not found" makes the failure definite. (Outside `execute`, so the
   * happy path does not allocate it.)
   */
  async function giveUp<T>(
    error: BreakwaterError,
    effect: Effect,
    history: readonly AttemptRecord[],
    opts: RunOptions<T>,
  ): Promise<T> {
    const mayHaveActed =
      effect === 'non-idempotent' && history.some((h) => h.failure?.delivery === 'unknown');
    // A cancel stays a cancel: the caller asked for it, and the registry reports its outcome itself.
    if (!mayHaveActed || error.code === 'outcome_unknown' || error.code === 'cancelled') throw error;
    if (opts.reconcile) {
      let found: Reconciliation<T> | undefined;
      try {
        found = await opts.reconcile(error.failure, opts.signal);
      } catch {
        found = undefined;
      }
      if (found) {
        emit?.({ type: 'reconciled', dependency, found: found.found });
        if (found.found) return found.value;
        throw error;
      }
    }
    emit?.({ type: 'outcome_unknown', dependency, failure: error.failure });
    throw fail(error.failure, history, true);
  }

  /** One attempt, raced against its timeout and the caller's abort. Never throws. */
  function attemptOnce<T>(
    fn: (ctx: AttemptContext) => Promise<T> | T,
    a: Attempt<T>,
    timeoutMs: number | undefined,
    startedAt: number,
  ): Promise<AttemptOutcome<T>> {
    const outcome = new Promise<AttemptOutcome<T>>((resolve) => {
      a.resolve = resolve;
    });
    if (timeoutMs !== undefined) timers.add(a, timeoutMs, startedAt);
    const run = a.run;
    if (run.signal) run.onCallerAbort = () => a.callerAborted();
    let result: Promise<T> | T;
    try {
      result = fn(a);
    } catch (err) {
      a.onError(err);
      return outcome;
    }
    if (result instanceof Promise) result.then(a.onValue, a.onError);
    else Promise.resolve(result).then(a.onValue, a.onError);
    return outcome;
  }

  async function execute<T>(fn: (ctx: AttemptContext) => Promise<T> | T, opts: RunOptions<T>): Promise<T> {
    const start = clock.now();
    let total = profile.timeout.totalMs;
    if (opts.deadlineMs !== undefined) {
      if (!Number.isFinite(opts.deadlineMs) || opts.deadlineMs < 0) {
        throw new RangeError(
          `deadlineMs: expected a non-negative number of milliseconds, got ${opts.deadlineMs}`,
        );
      }
      total = total === null ? opts.deadlineMs : Math.min(total, opts.deadlineMs);
    }
    const deadlineAt = total === null ? undefined : start + total;
    const effect = opts.effect ?? profile.effect;
    const keyHonored = opts.keyHonored === true && opts.idempotencyKey !== undefined;
    const signal = opts.signal;
    const run: Run = { signal, onCallerAbort: undefined };
    const onAbort = signal ? () => run.onCallerAbort?.() : undefined;
    if (signal) {
      if (signal.aborted) {
        throw fail(
          {
            kind: 'cancelled',
            delivery: 'not_sent',
            message: 'cancelled before the first attempt',
            cause: signal.reason,
          },
          [],
        );
      }
      signal.addEventListener('abort', onAbort!, { once: true });
    }

    let history: AttemptRecord[] | undefined;

    let waitedMs = 0;
    let previousDelay = 0;
    try {
      let waitedForBreaker = false;
      for (let attempt = 1; ; attempt++) {
        const now = attempt === 1 && !waitedForBreaker ? start : clock.now();
        if (deadlineAt !== undefined && now >= deadlineAt) {
          throw fail(
            {
              kind: 'timeout',
              delivery: 'not_sent',
              code: 'deadline',
              message: 'deadline reached before the attempt',
              cause: undefined,
            },
            history ?? [],
          );
        }

        const permit = breaker?.tryAcquire(now);
        let shared: SharedPermit | undefined;
        let sharedRetryAfterMs: number | undefined;
        if (health) {
          let admission = health.admit(now);
          if (admission instanceof Promise) admission = await admission;
          if (admission.admitted) shared = admission.permit;
          else sharedRetryAfterMs = admission.retryAfterMs;
          const cooling = health.cooldownUntil(now);
          if (gate && cooling > now) gate.cooldown(cooling);
        }
        if ((breaker && permit === undefined) || sharedRetryAfterMs !== undefined) {
          const retryAfterMs = sharedRetryAfterMs ?? breaker?.retryAfterMs(now) ?? 0;
          // Wait for the breaker rather than fail, when asked to and the deadline outlasts the open period
          // (half-open: the probe's verdict, which wakes the wait, comes before the deadline or never matters).
          if (
            waitWhenOpen &&
            breaker &&
            sharedRetryAfterMs === undefined &&
            (deadlineAt === undefined || breaker.state === 'half_open' || now + retryAfterMs < deadlineAt)
          ) {
            const ms = deadlineAt === undefined ? retryAfterMs : Math.min(retryAfterMs, deadlineAt - now);
            try {
              await breakerChange(breaker, Math.max(1, ms), signal);
            } catch (reason) {
              throw fail(
                {
                  kind: 'cancelled',
                  delivery: 'not_sent',
                  message: 'cancelled while waiting for the breaker',
                  cause: reason,
                },
                history ?? [],
              );
            }
            waitedForBreaker = true;
            // The same attempt again: the wait was not an attempt.
            attempt--;
            continue;
          }
          emit?.({ type: 'rejected', dependency, reason: 'circuit_open' });
          throw fail(
            {
              kind: 'circuit_open',
              delivery: 'not_sent',
              retryAfterMs,
              message: `breaker open for another ${retryAfterMs} ms`,
              cause: undefined,
            },
            history ?? [],
          );
        }

        if (gate && !gate.tryEnter(now)) {
          try {
            await gate.enter({ signal, deadlineAt, dependency });
          } catch (err) {
            if (permit) breaker?.release(permit);
            if (shared) health?.record(shared, 'neutral', 0, clock.now());
            if (isBreakwaterError(err)) {
              const reason =
                err instanceof GateRejectedError
                  ? err.reason
                  : err.code === 'rate_limited'
                    ? 'cooldown'
                    : undefined;
              if (reason) emit?.({ type: 'rejected', dependency, reason });
              throw fail(err.failure, history ?? []);
            }
            throw err;
          }
          // The breaker may have opened while this call waited for a slot: a queued call must not go out now.
          if (breaker && permit) {
            const waitedNow = clock.now();
            const state = breaker.state;
            if (state === 'open' || state === 'isolated' || (state === 'half_open' && permit.probe === 0)) {
              breaker.release(permit);
              gate.leave();
              emit?.({ type: 'rejected', dependency, reason: 'circuit_open' });
              const retryAfterMs = breaker.retryAfterMs(waitedNow);
              throw fail(
                {
                  kind: 'circuit_open',
                  delivery: 'not_sent',
                  retryAfterMs,
                  message: `breaker opened while queued; open for another ${retryAfterMs} ms`,
                  cause: undefined,
                },
                history ?? [],
              );
            }
          }
        }

        if (attempt === 1) {
          if (health) health.firstAttempt(now);
          else budget?.recordFirstAttempt(now);
        }
        const begun = attempt === 1 && gate === undefined ? now : clock.now();
        let timeoutMs: number | undefined = attemptMs ?? undefined;
        let scope: 'attempt' | 'deadline' = 'attempt';
        if (deadlineAt !== undefined && (timeoutMs === undefined || deadlineAt - begun < timeoutMs)) {
          timeoutMs = Math.max(0, deadlineAt - begun);
          scope = 'deadline';
        }
        const ctx = new Attempt<T>(attempt, deadlineAt, opts.idempotencyKey, run, timers, scope);
        let outcome: AttemptOutcome<T>;
        try {
          outcome = observer?.attempt
            ? await observer.attempt({ dependency, attempt, waitedMs, queuedMs: begun - now }, () =>
                attemptOnce(fn, ctx, timeoutMs, begun),
              )
            : await attemptOnce(fn, ctx, timeoutMs, begun);
        } catch (err) {
          gate?.leave();
          if (shared) health?.record(shared, 'neutral', 0, clock.now());
          throw err;
        }
        const ended = clock.now();
        // Health first: a 429's cooldown must be in place before the freed slot wakes the next waiter.
        const recording = settleHealth(
          permit,
          shared,
          outcome.ok ? undefined : outcome.failure,
          ended - begun,
          ended,
        );
        gate?.leave(gateOutcomeOf(outcome.ok ? undefined : outcome.failure));
        if (recording) await recording;

        let failure: Failure;
        if (outcome.ok) {
          const safe = effect === 'idempotent' || keyHonored;
          if (!(opts.retryOnResult && safe && opts.retryOnResult(outcome.value))) return outcome.value;
          if (attempt >= maxAttempts) return outcome.value;
          failure = {
            kind: 'unknown',
            delivery: 'processed',
            code: 'result_rejected',
            message: 'result rejected by retryOnResult',
            cause: undefined,
          };
        } else {
          failure = outcome.failure;
        }
        history ??= [];
        history.push({ attempt, startedAt: begun, durationMs: ended - begun, waitedMs, failure });

        let verdict = failure.code === 'result_rejected' ? 'retry' : decideRetry(failure, effect, keyHonored);
        if (verdict === 'reconcile') {
          if (!opts.reconcile) {
            emit?.({ type: 'outcome_unknown', dependency, failure });
            throw fail(failure, history, true);
          }
          let found: Reconciliation<T>;
          try {
            found = await opts.reconcile(failure, signal);
          } catch {
            emit?.({ type: 'outcome_unknown', dependency, failure });
            throw fail(failure, history, true);
          }
          emit?.({ type: 'reconciled', dependency, found: found.found });
          if (found.found) return found.value;
          verdict = 'retry';
        }
        // After reconciliation: a veto on retrying must not hide that the outcome is unknown.
        if (verdict === 'retry' && opts.retryIf && !opts.retryIf(failure, failure.cause)) verdict = 'stop';
        if (verdict === 'stop' || attempt >= maxAttempts)
          return await giveUp(fail(failure, history), effect, history, opts);

        const fromRetryAfter = failure.retryAfterMs !== undefined;
        if (fromRetryAfter && failure.retryAfterMs! > profile.retry.maxRetryAfterMs) {
          return await giveUp(
            fail(
              {
                ...failure,
                kind: 'rate_limited',
                message: `asked to wait ${failure.retryAfterMs} ms, beyond retry.maxRetryAfterMs`,
              },
              history,
            ),
            effect,
            history,
            opts,
          );
        }
        const backoff = backoffDelay(profile.retry.backoff, attempt, previousDelay, random);
        const delay = fromRetryAfter ? Math.max(failure.retryAfterMs!, backoff) : backoff;
        const after = clock.now();
        if (deadlineAt !== undefined && after + delay >= deadlineAt) {
          // A wait that would cross the deadline is not started.
          return await giveUp(
            fail(fromRetryAfter ? { ...failure, kind: 'rate_limited' } : failure, history),
            effect,
            history,
            opts,
          );
        }
        // An open breaker stops the retry loop now, not after a backoff spent finding out (docs/policies.md), so that
        // a router fails over at once. (A policy that waits for its breaker sleeps, then waits for it.)
        if (breaker && !waitWhenOpen && breaker.state === 'open' && breaker.retryAfterMs(after) > delay) {
          emit?.({ type: 'rejected', dependency, reason: 'circuit_open' });
          const retryAfterMs = breaker.retryAfterMs(after);
          return await giveUp(
            fail(
              {
                kind: 'circuit_open',
                delivery: 'not_sent',
                retryAfterMs,
                message: `breaker open for another ${retryAfterMs} ms: not retrying`,
                cause: failure.cause,
              },
              history,
            ),
            effect,
            history,
            opts,
          );
        }
        let retryAllowed = true;
        if (health) {
          const r = health.tryRetry(after);
          retryAllowed = r instanceof Promise ? await r : r;
        } else if (budget) retryAllowed = budget.tryAcquireRetry(after);
        if (!retryAllowed) {
          emit?.({ type: 'budget_exhausted', dependency, failure });
          return await giveUp(
            new RetryBudgetExhaustedError({ failure, attempts: history, dependency }),
            effect,
            history,
            opts,
          );
        }
        opts.onRetry?.({ attempt: attempt + 1, delayMs: delay, failure });
        emit?.({
          type: 'retry_scheduled',
          dependency,
          attempt: attempt + 1,
          delayMs: delay,
          fromRetryAfter,
          failure,
        });
        try {
          await sleep(clock, delay, signal);
        } catch (reason) {
          return await giveUp(
            fail(
              { kind: 'cancelled', delivery: 'not_sent', message: 'cancelled during backoff', cause: reason },
              history,
            ),
            effect,
            history,
            opts,
          );
        }
        previousDelay = delay;
        waitedMs = delay;
      }
    } finally {
      if (signal) signal.removeEventListener('abort', onAbort!);
    }
  }

  return {
    profile,
    dependency,
    breaker,
    gate,
    run<T>(fn: (ctx: AttemptContext) => Promise<T> | T, opts: RunOptions<T> = {}): Promise<T> {
      if (observer?.operation) {
        return observer.operation(
          { dependency, profile: profile.name, effect: opts.effect ?? profile.effect },
          () => execute(fn, opts),
        );
      }
      return execute(fn, opts);
    },
  };
}
