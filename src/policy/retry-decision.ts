import { type BreakwaterError, CancelledError, RetryBudgetExhaustedError } from '../failure/errors.js';
import type { AttemptRecord, Failure } from '../failure/failure.js';
import { backoffDelay } from './backoff.js';
import { decideRetry } from './decision.js';
import { cancelledWhile, circuitOpen, errorFor } from './failures.js';
import type { Operation, PolicyParts } from './operation.js';
import { type ReconcileVerdict, reconcileUnder } from './reconcile.js';
import { RESULT_REJECTED_CODE } from './result-failure.js';
import { sleep } from './sleep.js';

/** The operation goes on: the wait before the next attempt has been taken. */
export const RETRY = Symbol('retry');
/** How an operation that is not retried ends when reconcile found its effect: with that value. */
export interface Found<T> {
  readonly value: T;
}

export interface RetryHooks<T> {
  readonly onRetry?: ((info: { attempt: number; delayMs: number; failure: Failure }) => void) | undefined;
  readonly retryOnResult?: ((value: T) => boolean) | undefined;
}

/**
 * The retry decision after an attempt that failed (or whose result
 * `retryOnResult` turned down): the decision table, reconcile for a call that
 * may have acted, the `retryIf` veto, the attempt limit; then the wait, within
 * the deadline, the open breaker and the retry budget. Returns RETRY once the
 * wait is over, or the value reconcile found; throws the error that ends it.
 */
export async function afterFailure<T>(
  parts: PolicyParts,
  op: Operation<T>,
  attempt: number,
  failure: Failure,
  hooks: RetryHooks<T>,
): Promise<typeof RETRY | Found<T>> {
  const history = op.history!;
  let verdict = decideRetry(failure, op.effect, op.keyHonored);
  if (verdict === 'reconcile') {
    const found = await reconcile(parts, op, failure);
    if (found !== NOT_FOUND) return found;
    verdict = 'retry';
  }
  // After reconciliation: a veto on retrying must not hide that the outcome is unknown.
  if (verdict === 'retry' && op.retryIf && !op.retryIf(failure, failure.cause)) verdict = 'stop';
  if (verdict === 'stop' || attempt >= parts.profile.retry.maxAttempts)
    return giveUp(parts, op, errorFor(failure, { attempts: history, dependency: parts.dependency }));
  return waitToRetry(parts, op, attempt, failure, hooks);
}

/** The wait before the next attempt, unless the deadline, an open breaker or the budget says no. */
async function waitToRetry<T>(
  parts: PolicyParts,
  op: Operation<T>,
  attempt: number,
  failure: Failure,
  hooks: RetryHooks<T>,
): Promise<typeof RETRY | Found<T>> {
  const { profile, clock, health, dependency } = parts;
  const end = (f: Failure) => giveUp(parts, op, errorFor(f, { attempts: op.history!, dependency }));
  const asked = failure.retryAfterMs;
  if (asked !== undefined && asked > profile.retry.maxRetryAfterMs)
    return end({
      ...failure,
      kind: 'rate_limited',
      message: `asked to wait ${asked} ms, beyond retry.maxRetryAfterMs`,
    });
  const backoff = backoffDelay(profile.retry.backoff, attempt, op.waitedMs, parts.random);
  const delay = asked !== undefined ? Math.max(asked, backoff) : backoff;
  const now = clock.now();
  // A wait that would cross the deadline is not started.
  if (op.deadlineAt !== undefined && now + delay >= op.deadlineAt)
    return end(asked !== undefined ? { ...failure, kind: 'rate_limited' } : failure);
  // An open breaker stops the retry loop now, not after a backoff spent finding out, so that a router
  // fails over at once. (A policy that waits for its breaker sleeps, then waits for it.)
  if (!parts.waitWhenOpen && health.state === 'open' && health.retryAfterMs(now) > delay) {
    parts.emit({ type: 'rejected', dependency, reason: 'circuit_open' });
    return end(circuitOpen(health.retryAfterMs(now), 'retrying', failure.cause));
  }
  const allowed = health.tryRetry(now);
  if (!(allowed instanceof Promise ? await allowed : allowed)) {
    parts.emit({ type: 'budget_exhausted', dependency, failure });
    return giveUp(parts, op, new RetryBudgetExhaustedError({ failure, attempts: op.history!, dependency }));
  }
  hooks.onRetry?.({ attempt: attempt + 1, delayMs: delay, failure });
  parts.emit({
    type: 'retry_scheduled',
    dependency,
    attempt: attempt + 1,
    delayMs: delay,
    fromRetryAfter: asked !== undefined,
    failure,
  });
  try {
    await sleep(clock, delay, op.signal);
  } catch (reason) {
    return end(cancelledWhile('during backoff', reason));
  }
  op.waitedMs = delay;
  return RETRY;
}

/**
 * Ends the operation with `error`, unless an earlier attempt of a
 * non-idempotent call may have taken effect (a timeout after the request went
 * out, say, retried under an honored key until the attempts ran out): then
 * the truth is that the outcome is unknown. Ask `reconcile` first; only its
 * "not found" makes the failure definite.
 */
export async function giveUp<T>(
  parts: PolicyParts,
  op: Operation<T>,
  error: BreakwaterError,
): Promise<Found<T>> {
  const history = op.history ?? [];
  // A rejected answer (`failOnResult`, `retryOnResult`) is `processed`, not `unknown`, yet a non-idempotent call
  // that answered did act: a retry of it refused later (budget, breaker, gate) must not end as "failed".
  const mayHaveActed =
    op.effect === 'non-idempotent' &&
    history.some((h) => h.failure?.delivery === 'unknown' || h.failure?.code === RESULT_REJECTED_CODE);
  if (!mayHaveActed || error.outcome === 'unknown') throw error;
  // A cancel stays a cancel (the caller asked for it), but it says what the ledger says: unknown.
  if (error.code === 'cancelled') throw cancelledUnknown(parts, error.failure, history);
  const found = await reconcile(parts, op, error.failure);
  if (found !== NOT_FOUND) return found;
  throw error;
}

const NOT_FOUND = Symbol('not-found');

/**
 * Asks `reconcile` (under the deadline and the caller's abort) whether a call
 * that may have acted did: its value when found; NOT_FOUND, the one answer
 * that lets the call run again; else throws outcome unknown with the reason.
 */
async function reconcile<T>(
  parts: PolicyParts,
  op: Operation<T>,
  failure: Failure,
): Promise<Found<T> | typeof NOT_FOUND> {
  const history = op.history ?? [];
  if (!op.reconcile) throw unknownOutcome(parts, failure, history);
  const bounds = { clock: parts.clock, deadlineAt: op.deadlineAt, signal: op.signal };
  const verdict = await reconcileUnder(op.reconcile, failure, bounds);
  if (verdict.kind === 'unknown') throw unsettled(parts, verdict, failure, history);
  parts.emit({ type: 'reconciled', dependency: parts.dependency, found: verdict.kind === 'found' });
  return verdict.kind === 'found' ? { value: verdict.value } : NOT_FOUND;
}

function unknownOutcome(
  parts: PolicyParts,
  failure: Failure,
  attempts: readonly AttemptRecord[],
): BreakwaterError {
  parts.emit({ type: 'outcome_unknown', dependency: parts.dependency, failure });
  return errorFor(failure, { attempts, dependency: parts.dependency, unknown: true });
}

function cancelledUnknown(
  parts: PolicyParts,
  failure: Failure,
  attempts: readonly AttemptRecord[],
): BreakwaterError {
  return new CancelledError({ failure, attempts, dependency: parts.dependency, outcome: 'unknown' });
}

/** A reconcile that settled nothing: the outcome is unknown, and the error says why. */
function unsettled(
  parts: PolicyParts,
  verdict: Extract<ReconcileVerdict<unknown>, { kind: 'unknown' }>,
  failure: Failure,
  attempts: readonly AttemptRecord[],
): BreakwaterError {
  const because = { ...failure, message: `${failure.message}; ${verdict.reason}` };
  if (verdict.cancelled) {
    parts.emit({ type: 'outcome_unknown', dependency: parts.dependency, failure });
    return cancelledUnknown(parts, because, attempts);
  }
  return unknownOutcome(parts, because, attempts);
}
