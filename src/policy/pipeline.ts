import { isBreakwaterError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import { admit } from './admission.js';
import {
  type AttemptContext,
  attemptTimeoutMs,
  newAttempt,
  settle,
  startAttempt,
  tryOnce,
} from './attempt.js';
import { type ChaosOptions, type ChaosStage, createChaosStage } from './chaos.js';
import { type Clock, type Random, systemClock } from './clock.js';
import type { Effect } from './decision.js';
import type { AttemptOutcome, PolicyEvent, PolicyObserver } from './events.js';
import { cancelledWhile, deadlineBeforeAttempt, errorFor, RESULT_REJECTED } from './failures.js';
import { type Fallback, fallbackIssues, withFallback } from './fallback.js';
import { Gate } from './gate.js';
import type { Health, HealthPermit, HealthSource } from './health.js';
import { LocalHealth } from './local-health.js';
import { Observers } from './observers.js';
import type { Operation, PolicyParts } from './operation.js';
import {
  type BuiltinProfileName,
  type Profile,
  ProfileError,
  type ProfileInput,
  resolveProfile,
} from './profile.js';
import type { Reconcile } from './reconcile.js';
import { type FailOnResult, judgeResult } from './result-failure.js';
import { afterFailure, giveUp, RETRY } from './retry-decision.js';
import { TimerQueue } from './timer-queue.js';

export type { AttemptContext } from './attempt.js';
export type { Reconciliation } from './reconcile.js';

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
   * result ends the operation; `{ found: false }` → it is safe to try again.
   * It runs under the operation's deadline and the caller's abort, with a
   * signal of its own; any other answer, a throw or a hang is outcome unknown.
   */
  readonly reconcile?: Reconcile<T> | undefined;
  /** A veto on retries (tenacity's `retry_if_exception_type`): false stops. It cannot make an unsafe retry safe. */
  readonly retryIf?: ((failure: Failure, error: unknown) => boolean) | undefined;
  /** A result that should be tried again (tenacity's `retry_if_result`); only for safe effects. */
  readonly retryOnResult?: ((value: T) => boolean) | undefined;
  /**
   * Says an answer is a failure (Polly's `ShouldHandle` on results): `true`,
   * or `{ kind, message }` to choose the kind it counts as (default
   * `unknown`). It is then a failed attempt: counted by the breaker as that
   * kind, retried only when the effect is safe (idempotent, or a key the
   * dependency honors), and otherwise ended with `ResultRejectedError`
   * carrying the answer (outcome `unknown` for a non-idempotent call: it
   * happened).
   */
  readonly failOnResult?: FailOnResult<T> | undefined;
  /** Answers the failures it covers with a value or a function's answer, after retries and the breaker. */
  readonly fallback?: Fallback<T> | undefined;
  readonly onRetry?: ((info: RetryInfo) => void) | undefined;
}

export interface PolicyOptions {
  /** The dependency this policy guards (a tool; a provider and model), used in errors and telemetry. */
  readonly dependency?: string;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Watchers (telemetry, your own): one or several, side by side; more can be added with `policy.observe`. */
  readonly observer?: PolicyObserver | readonly (PolicyObserver | undefined)[] | undefined;
  /**
   * Breaker, cooldown and retry budget shared with other processes (a Redis
   * store). Without it, all three are process-local.
   */
  readonly shared?: HealthSource | undefined;
  /**
   * Latency, fault and outcome injection for staging. Inert unless
   * `chaos.enabled` AND `BREAKWATER_CHAOS=1`, and refused where
   * `NODE_ENV=production` (docs/policies.md, "Chaos").
   */
  readonly chaos?: ChaosOptions | undefined;
}

export interface Policy {
  readonly profile: Profile;
  readonly dependency: string;
  /** The breaker's state and controls (isolate, disable, snapshot, transitions), whatever the store; undefined without one. */
  readonly breaker: Health | undefined;
  /** Breaker, cooldown and budget, in this process or shared: the one contract the pipeline uses. */
  readonly health: Health;
  readonly gate: Gate | undefined;
  /** Adds an observer beside the others; the returned function removes it. */
  observe(observer: PolicyObserver): () => void;
  run<T>(fn: (ctx: AttemptContext) => Promise<T> | T, options?: RunOptions<T>): Promise<T>;
}

/** Shared by calls without options, so they allocate none. */
const NO_OPTIONS: Readonly<Record<never, never>> = Object.freeze({});

function observerList(o: PolicyOptions['observer']): readonly (PolicyObserver | undefined)[] {
  return o === undefined ? [] : Array.isArray(o) ? o : [o as PolicyObserver];
}

function healthFor(profile: Profile, options: PolicyOptions, clock: Clock): Health {
  if (options.shared === undefined) return new LocalHealth(profile, clock);
  if (options.dependency === undefined) {
    // Named by default after the profile, two services on one profile would share one breaker.
    throw new ProfileError(profile.name, [
      {
        path: 'dependency',
        message:
          'health shared through a store needs the dependency named: createPolicy(profile, { shared, dependency: "billing-api" }); policies share health only when they name the same dependency',
      },
    ]);
  }
  return options.shared.health(options.dependency, profile, clock);
}

/**
 * One policy per dependency, in stages: the caller's signal and deadline →
 * retry (with budget) → breaker → gate → attempt timeout → the call.
 */
export function createPolicy(
  profileInput: BuiltinProfileName | ProfileInput | Profile,
  options: PolicyOptions = {},
): Policy {
  const profile = resolveProfile(profileInput);
  const clock = options.clock ?? systemClock;
  const observers = new Observers(observerList(options.observer));
  const dependency = options.dependency ?? profile.name;
  const health = healthFor(profile, options, clock);
  // Checked on each call, so an observer added later is heard.
  const emit = (e: PolicyEvent): void => {
    if (observers.hasEvent) observers.event(e);
  };
  health.onTransition((t) => emit({ type: 'breaker_transition', dependency, ...t }));
  const b = profile.breaker;
  const parts: PolicyParts = {
    profile,
    dependency,
    clock,
    random: options.random ?? Math.random,
    health,
    gate: profile.gate === false ? undefined : new Gate(profile.gate, clock),
    timers: new TimerQueue(clock),
    observers,
    emit,
    countKinds: b === false ? undefined : new Set(b.countKinds),
    waitWhenOpen: b !== false && b.waitWhenOpen === true,
  };
  const chaos: ChaosStage | undefined = createChaosStage(options.chaos, {
    dependency,
    clock,
    random: parts.random,
    emit,
  });
  const run = <T>(
    fn: (ctx: AttemptContext) => Promise<T> | T,
    opts: RunOptions<T> = NO_OPTIONS,
  ): Promise<T> => {
    const call = chaos === undefined ? fn : chaos(fn);
    const fallback = opts.fallback;
    if (fallback !== undefined) return runWithFallback(parts, call, opts, fallback);
    // No fallback (the usual case): no closure beyond what the observers need.
    return observers.hasOperation
      ? observers.operation(
          { dependency, profile: profile.name, effect: opts.effect ?? profile.effect },
          () => execute(parts, call, opts),
        )
      : execute(parts, call, opts);
  };
  return {
    profile,
    dependency,
    breaker: b === false ? undefined : health,
    health,
    gate: parts.gate,
    observe: (observer) => observers.add(observer),
    run,
  };
}

/** An operation with a fallback, checked before anything runs; the fallback inside the operation's observers, so its event is the operation's. */
function runWithFallback<T>(
  parts: PolicyParts,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
  fallback: Fallback<T>,
): Promise<T> {
  const issues = fallbackIssues(fallback);
  if (issues.length > 0)
    return Promise.reject(
      new TypeError(`invalid run options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`),
    );
  const body = () => withFallback(parts, execute(parts, fn, opts), fallback, opts.signal);
  const { observers, profile, dependency } = parts;
  return observers.hasOperation
    ? observers.operation({ dependency, profile: profile.name, effect: opts.effect ?? profile.effect }, body)
    : body();
}

/** The deadline of one operation: the profile's total, or the caller's, whichever is sooner. */
function deadlineOf(profile: Profile, deadlineMs: number | undefined, start: number): number | undefined {
  let total = profile.timeout.totalMs;
  if (deadlineMs !== undefined) {
    if (!Number.isFinite(deadlineMs) || deadlineMs < 0)
      throw new RangeError(`deadlineMs: expected a non-negative number of milliseconds, got ${deadlineMs}`);
    total = total === null ? deadlineMs : Math.min(total, deadlineMs);
  }
  return total === null ? undefined : start + total;
}

/** The result predicate bound to the call's effect, or undefined (the happy path's usual case). */
function judgeOf<T>(opts: RunOptions<T>, effect: Effect) {
  const predicate = opts.failOnResult;
  if (predicate === undefined) return undefined;
  if (typeof predicate !== 'function')
    throw new TypeError(`failOnResult: expected a function, got ${typeof predicate}`);
  return (value: T) => judgeResult(predicate, value, effect);
}

function begin<T>(parts: PolicyParts, opts: RunOptions<T>, start: number): Operation<T> {
  const signal = opts.signal;
  const effect = opts.effect ?? parts.profile.effect;
  const op: Operation<T> = {
    signal,
    onCallerAbort: undefined,
    start,
    deadlineAt: deadlineOf(parts.profile, opts.deadlineMs, start),
    effect,
    keyHonored: opts.keyHonored === true && opts.idempotencyKey !== undefined,
    idempotencyKey: opts.idempotencyKey,
    reconcile: opts.reconcile,
    retryIf: opts.retryIf,
    judge: judgeOf(opts, effect),
    history: undefined,
    waitedMs: 0,
  };
  if (signal?.aborted)
    throw errorFor(cancelledWhile('before the first attempt', signal.reason), {
      attempts: [],
      dependency: parts.dependency,
    });
  return op;
}

/**
 * One operation. The first attempt of a call without a signal or attempt
 * observers, admitted at once, takes the fast path; everything else, and
 * whatever follows a first attempt that failed, is the retry loop.
 */
function execute<T>(
  parts: PolicyParts,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
): Promise<T> {
  const start = parts.clock.now();
  try {
    const op = begin(parts, opts, start);
    const deadlinePassed = op.deadlineAt !== undefined && start >= op.deadlineAt;
    if (op.signal !== undefined || parts.observers.hasAttempt || deadlinePassed)
      return retryLoop(parts, op, fn, opts, 1);
    const permit = admit(parts, op, start);
    if (permit instanceof Promise) return retryLoop(parts, op, fn, opts, 1, permit);
    parts.health.firstAttempt(start);
    return firstAttempt(parts, op, fn, opts, permit);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The fast path: the first attempt, admitted at once, whose ending settles
 * the operation directly (no async frame, no promise of its outcome: one
 * microtask fewer). A failure, or health to await, goes on asynchronously.
 */
function firstAttempt<T>(
  parts: PolicyParts,
  op: Operation<T>,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
  permit: HealthPermit,
): Promise<T> {
  const begun = op.start;
  const a = newAttempt(parts, op, 1, begun);
  const ms = attemptTimeoutMs(parts, op, begun);
  return new Promise<T>((resolve, reject) => {
    a.resolve = (outcome) => {
      try {
        const ended = parts.clock.now();
        const recording = settle(
          parts,
          permit,
          outcome.ok ? undefined : outcome.failure,
          ended - begun,
          ended,
        );
        if (recording !== undefined) {
          resolve(afterRecording(parts, op, fn, opts, outcome, recording, begun, ended));
          return;
        }
        const failure = failureOf(parts, op, opts, outcome, 1);
        if (failure === undefined) resolve((outcome as { readonly value: T }).value);
        else resolve(afterFirstFailure(parts, op, fn, opts, failure, begun, ended));
      } catch (err) {
        reject(err);
      }
    };
    startAttempt(fn, a, parts.timers, ms, begun);
  });
}

async function afterRecording<T>(
  parts: PolicyParts,
  op: Operation<T>,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
  outcome: AttemptOutcome<T>,
  recording: Promise<void>,
  begun: number,
  ended: number,
): Promise<T> {
  await recording;
  const failure = failureOf(parts, op, opts, outcome, 1);
  if (failure === undefined) return (outcome as { readonly value: T }).value;
  return afterFirstFailure(parts, op, fn, opts, failure, begun, ended);
}

/** The first attempt failed: the retry decision, then the loop from the second attempt. */
async function afterFirstFailure<T>(
  parts: PolicyParts,
  op: Operation<T>,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
  failure: Failure,
  begun: number,
  ended: number,
): Promise<T> {
  remember(op, 1, begun, ended, failure);
  const next = await afterFailure(parts, op, 1, failure, opts);
  if (next !== RETRY) return next.value;
  return retryLoop(parts, op, fn, opts, 2);
}

function remember<T>(
  op: Operation<T>,
  attempt: number,
  begun: number,
  ended: number,
  failure: Failure,
): void {
  op.history ??= [];
  op.history.push({ attempt, startedAt: begun, durationMs: ended - begun, waitedMs: op.waitedMs, failure });
}

/**
 * The retry loop from attempt `from`: each turn is admission, one attempt,
 * and the retry decision. `admitting`: the first turn's admission, already
 * asked for.
 */
async function retryLoop<T>(
  parts: PolicyParts,
  op: Operation<T>,
  fn: (ctx: AttemptContext) => Promise<T> | T,
  opts: RunOptions<T>,
  from: number,
  admitting?: Promise<HealthPermit>,
): Promise<T> {
  const signal = op.signal;
  const onAbort = signal ? () => op.onCallerAbort?.() : undefined;
  if (signal) signal.addEventListener('abort', onAbort!, { once: true });
  try {
    for (let attempt = from; ; attempt++) {
      const now = attempt === 1 ? op.start : parts.clock.now();
      if (op.deadlineAt !== undefined && now >= op.deadlineAt)
        return (await giveUpOn(parts, op, errorFor(deadlineBeforeAttempt(), contextOf(parts, op)))).value;
      let permit = admitting ?? admit(parts, op, now);
      admitting = undefined;
      // Admitted at once, the attempt begins now: no second clock reading on the happy path.
      let begun = now;
      if (permit instanceof Promise) {
        const admitted = await permit.then(undefined, (err: unknown) => giveUpOn(parts, op, err));
        if ('value' in admitted) return admitted.value;
        permit = admitted;
        begun = parts.clock.now();
      }
      if (attempt === 1) parts.health.firstAttempt(now);
      const outcome = await tryOnce(parts, op, fn, attempt, begun, now);
      const ended = parts.clock.now();
      const recording = settle(parts, permit, outcome.ok ? undefined : outcome.failure, ended - begun, ended);
      if (recording) await recording;
      const failure = failureOf(parts, op, opts, outcome, attempt);
      if (failure === undefined) return (outcome as { readonly value: T }).value;
      remember(op, attempt, begun, ended, failure);
      const next = await afterFailure(parts, op, attempt, failure, opts);
      if (next !== RETRY) return next.value;
    }
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort!);
  }
}

/** An end before an attempt (a refusal, the deadline) after an earlier attempt may still have to be reconciled. */
async function giveUpOn<T>(parts: PolicyParts, op: Operation<T>, err: unknown): Promise<{ value: T }> {
  if (op.history === undefined || !isBreakwaterError(err)) throw err;
  return giveUp(parts, op, err);
}

function contextOf<T>(parts: PolicyParts, op: Operation<T>) {
  return { attempts: op.history ?? [], dependency: parts.dependency };
}

/** Undefined when the attempt's value ends the operation; else why it did not. */
function failureOf<T>(
  parts: PolicyParts,
  op: Operation<T>,
  opts: RunOptions<T>,
  outcome: AttemptOutcome<T>,
  attempt: number,
): Failure | undefined {
  if (!outcome.ok) return outcome.failure;
  // Only a safe effect may be tried again for its result, and the last attempt's result stands.
  const safe = op.effect === 'idempotent' || op.keyHonored;
  if (!opts.retryOnResult || !safe || attempt >= parts.profile.retry.maxAttempts) return undefined;
  return opts.retryOnResult(outcome.value) ? RESULT_REJECTED : undefined;
}
