import {
  type BreakerPermit,
  type BreakerSnapshot,
  type BreakerTransition,
  CircuitBreaker,
} from './breaker.js';
import type { Clock } from './clock.js';
import {
  type Admission,
  cappedCooldown,
  type Health,
  type HealthPermit,
  type HealthVerdict,
} from './health.js';
import type { Profile } from './profile.js';
import { RetryBudget } from './retry-budget.js';

const ORDINARY: HealthPermit = Object.freeze({ probe: 0 });
const ADMITTED: Admission = Object.freeze({ admitted: true, permit: ORDINARY });
const CLOSED: BreakerSnapshot = Object.freeze({
  state: 'closed',
  consecutiveFailures: 0,
  windowCalls: 0,
  windowFailures: 0,
  retryAfterMs: 0,
  trips: 0,
});

/**
 * One dependency's health in this process: the breaker, the budget and the
 * cooldown, each optional as the profile says. Also the fallback a shared
 * health decides on while its store is away.
 */
export class LocalHealth implements Health {
  readonly breaker: CircuitBreaker | undefined;
  private readonly budget: RetryBudget | undefined;
  private pausedUntil = 0;

  constructor(
    private readonly profile: Profile,
    clock: Clock,
  ) {
    this.breaker = profile.breaker === false ? undefined : new CircuitBreaker(profile.breaker, clock);
    this.budget = profile.retry.budget === false ? undefined : new RetryBudget(profile.retry.budget, clock);
  }

  get state() {
    return this.breaker?.state ?? 'closed';
  }

  admit(now: number): Admission {
    const b = this.breaker;
    if (b === undefined) return ADMITTED;
    const permit = b.tryAcquire(now);
    if (permit === undefined) return { admitted: false, retryAfterMs: b.retryAfterMs(now) };
    return permit.probe === 0 ? ADMITTED : { admitted: true, permit };
  }

  stillAdmitted(permit: HealthPermit, _now: number): boolean {
    const b = this.breaker;
    if (b === undefined) return true;
    const s = b.state;
    if (s === 'closed' || s === 'disabled' || (s === 'half_open' && permit.probe !== 0)) return true;
    b.release(permit as BreakerPermit);
    return false;
  }

  record(permit: HealthPermit, verdict: HealthVerdict, durationMs: number, now: number): undefined {
    const b = this.breaker;
    if (b === undefined) return undefined;
    if (verdict === 'success') b.success(permit as BreakerPermit, durationMs, now);
    else if (verdict === 'failure') b.failure(permit as BreakerPermit, now);
    else b.release(permit as BreakerPermit);
    return undefined;
  }

  retryAfterMs(now: number): number {
    return this.breaker?.retryAfterMs(now) ?? 0;
  }

  cooldown(ms: number, now: number): { ms: number; recorded: undefined } {
    const capped = cappedCooldown(ms, this.profile);
    if (now + capped > this.pausedUntil) this.pausedUntil = now + capped;
    return { ms: capped, recorded: undefined };
  }

  cooldownUntil(_now: number): number {
    return this.pausedUntil;
  }

  firstAttempt(now: number): void {
    this.budget?.recordFirstAttempt(now);
  }

  tryRetry(now: number): boolean {
    return this.budget?.tryAcquireRetry(now) ?? true;
  }

  onTransition(listener: (t: BreakerTransition) => void): () => void {
    return this.breaker?.onTransition(listener) ?? (() => {});
  }

  snapshot(now?: number): BreakerSnapshot {
    return this.breaker?.snapshot(now) ?? CLOSED;
  }

  isolate(): () => void {
    return this.breaker?.isolate() ?? (() => {});
  }

  disable(): void {
    this.breaker?.disable();
  }

  reset(): void {
    this.breaker?.reset();
  }

  failure(now?: number): void {
    this.breaker?.failure(ORDINARY, now);
  }
}
