import { GateRejectedError, isBreakwaterError } from '../failure/errors.js';
import { cancelledWhile, circuitOpen, deadlineBeforeAttempt, errorFor } from './failures.js';
import type { Admission, HealthPermit } from './health.js';
import type { Operation, PolicyParts } from './operation.js';

/**
 * Admission: the breaker, then the gate, then the breaker again for a call
 * that waited in the gate's queue (it may have opened meanwhile, and a queued
 * call must not go out to a dependency that just tripped).
 *
 * Synchronous on the happy path (breaker closed, a slot free): the permit.
 * Otherwise a promise of it, or a rejection with the typed error.
 */
export function admit<T>(
  parts: PolicyParts,
  op: Operation<T>,
  now: number,
): HealthPermit | Promise<HealthPermit> {
  const a = parts.health.admit(now);
  if (a instanceof Promise || !a.admitted) return admitAfterWaiting(parts, op, now, a);
  return enterGate(parts, op, a.permit, now);
}

function enterGate<T>(
  parts: PolicyParts,
  op: Operation<T>,
  permit: HealthPermit,
  now: number,
): HealthPermit | Promise<HealthPermit> {
  const gate = parts.gate;
  if (gate === undefined) return permit;
  // Another process's 429 pauses this gate too.
  const cooling = parts.health.cooldownUntil(now);
  if (cooling > now) gate.cooldown(cooling);
  if (gate.tryEnter(now)) return permit;
  return queue(parts, op, permit);
}

/** The breaker said no (or must ask its store): wait for it when the profile says so, else refuse. */
async function admitAfterWaiting<T>(
  parts: PolicyParts,
  op: Operation<T>,
  now: number,
  pending: Admission | Promise<Admission>,
): Promise<HealthPermit> {
  for (let a = await pending; ; a = await parts.health.admit(now)) {
    if (a.admitted) return enterGate(parts, op, a.permit, now);
    await waitForBreaker(parts, op, now, a.retryAfterMs);
    now = parts.clock.now();
    // The wait may have used up the deadline (a half-open breaker is waited for whatever the deadline).
    if (op.deadlineAt !== undefined && now >= op.deadlineAt)
      throw errorFor(deadlineBeforeAttempt(), { attempts: op.history ?? [], dependency: parts.dependency });
  }
}

/**
 * Waits for the breaker rather than fail, when asked to and the deadline
 * outlasts the open period (half-open: the probe's verdict, which wakes the
 * wait, comes before the deadline or never matters). Otherwise throws
 * `circuit_open` at once, so that a router fails over.
 */
async function waitForBreaker<T>(
  parts: PolicyParts,
  op: Operation<T>,
  now: number,
  retryAfterMs: number,
): Promise<void> {
  const { deadlineAt } = op;
  const halfOpen = parts.health.state === 'half_open';
  if (!parts.waitWhenOpen || (deadlineAt !== undefined && !halfOpen && now + retryAfterMs >= deadlineAt)) {
    parts.emit({ type: 'rejected', dependency: parts.dependency, reason: 'circuit_open' });
    throw errorFor(circuitOpen(retryAfterMs, 'before'), {
      attempts: op.history ?? [],
      dependency: parts.dependency,
    });
  }
  // At least 1 ms (no busy wait on a breaker about to change), never past the deadline.
  const wait = Math.max(1, retryAfterMs);
  const ms = deadlineAt === undefined ? wait : Math.min(wait, deadlineAt - now);
  try {
    await breakerChange(parts, ms, op.signal);
  } catch (reason) {
    throw errorFor(cancelledWhile('while waiting for the breaker', reason), {
      attempts: op.history ?? [],
      dependency: parts.dependency,
    });
  }
}

/** Resolves when the breaker changes state or `ms` passes, whichever is first; rejects when the caller aborts. */
function breakerChange(parts: PolicyParts, ms: number, signal: AbortSignal | undefined): Promise<void> {
  const { clock, health } = parts;
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
    const off = health.onTransition(() => {
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

/** No free slot: wait in the gate's queue, then check the breaker again. */
async function queue<T>(parts: PolicyParts, op: Operation<T>, permit: HealthPermit): Promise<HealthPermit> {
  const { gate, health, dependency, clock } = parts;
  const attempts = op.history ?? [];
  try {
    await gate!.enter({ signal: op.signal, deadlineAt: op.deadlineAt, dependency });
  } catch (err) {
    // Best effort, and never an unhandled rejection: health fails open.
    health.record(permit, 'neutral', 0, clock.now())?.catch(() => undefined);
    if (!isBreakwaterError(err)) throw err;
    const reason =
      err instanceof GateRejectedError ? err.reason : err.code === 'rate_limited' ? 'cooldown' : undefined;
    if (reason) parts.emit({ type: 'rejected', dependency, reason });
    throw errorFor(err.failure, { attempts, dependency });
  }
  const now = clock.now();
  if (health.stillAdmitted(permit, now)) return permit;
  gate!.leave();
  parts.emit({ type: 'rejected', dependency, reason: 'circuit_open' });
  throw errorFor(circuitOpen(health.retryAfterMs(now), 'queued'), { attempts, dependency });
}
