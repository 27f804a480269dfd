import type { BreakerPermit, BreakerSnapshot, BreakerState, BreakerTransition } from '../policy/breaker.js';
import type { Clock, TimerHandle } from '../policy/clock.js';
import {
  type Admission,
  cappedCooldown,
  type Health,
  type HealthPermit,
  type HealthVerdict,
} from '../policy/health.js';
import { LocalHealth } from '../policy/local-health.js';
import { reportObserverFailure } from '../policy/observers.js';
import type { Profile } from '../policy/profile.js';

/** What the script answers, durations relative to its own `now`. */
interface Answer {
  readonly state: BreakerState;
  readonly reason: BreakerTransition['reason'];
  readonly openForMs: number;
  readonly halfOpenForMs: number;
  readonly cooldownForMs: number;
  readonly admitted: 0 | 1;
  readonly probe: number;
  readonly retryOk: 0 | 1;
  readonly consecutive: number;
  readonly trips: number;
  readonly windowCalls: number;
  readonly windowFailures: number;
}

/** The answer placed on this process's clock. */
interface View extends Answer {
  readonly at: number;
  readonly openUntil: number;
  readonly halfOpenUntil: number;
  readonly cooldownUntil: number;
}

export type HealthAction =
  | 'view'
  | 'admit'
  | 'record'
  | 'cooldown'
  | 'retry'
  | 'isolate'
  | 'release'
  | 'disable'
  | 'reset';

export interface HealthTransport {
  /** How long a view may decide admissions without asking Redis again; 0 asks on every call. */
  readonly syncMs: number;
  /** After a Redis failure, how long to decide locally before asking Redis again. */
  readonly retryAfterMs: number;
  /** Runs the health script; rejects when Redis does not answer in time. */
  eval(action: HealthAction, config: string, arg: string): Promise<unknown>;
}

const ORDINARY: HealthPermit = Object.freeze({ probe: 0 });
const CLOSED_VIEW: View = Object.freeze({
  state: 'closed',
  reason: 'manual',
  openForMs: 0,
  halfOpenForMs: 0,
  cooldownForMs: 0,
  admitted: 0,
  probe: 0,
  retryOk: 0,
  consecutive: 0,
  trips: 0,
  windowCalls: 0,
  windowFailures: 0,
  at: 0,
  openUntil: 0,
  halfOpenUntil: 0,
  cooldownUntil: 0,
});
const ADMITTED: Admission = Object.freeze({ admitted: true, permit: ORDINARY });

/** A permit given by the local fallback while Redis was away; recorded locally. */
interface LocalPermit extends HealthPermit {
  readonly local: BreakerPermit;
}
const isLocal = (p: HealthPermit): p is LocalPermit => (p as { local?: unknown }).local !== undefined;

/**
 * One dependency's health shared through Redis: decided by the health script,
 * cached for `syncMs` so that the happy path costs no round trip, with a
 * process-local health to fall back on while Redis is away (fail open: a
 * breaker must never stop calls because Redis is down).
 *
 * One refresh at a time: when the view goes stale, the first caller asks
 * Redis and every other caller in this process waits for that answer, so a
 * process sends one `admit` per `syncMs` whatever its concurrency.
 */
export class RedisHealth implements Health {
  private view: View | undefined;
  private refreshing: Promise<View | undefined> | undefined;
  private degradedUntil = Number.NEGATIVE_INFINITY;
  private pendingFirsts = 0;
  private pendingSuccesses = 0;
  private pendingSlow = 0;
  private flushTimer: TimerHandle | undefined;
  private readonly config: string;
  private readonly local: LocalHealth;
  private localCooldown = 0;
  private readonly listeners = new Set<(t: BreakerTransition) => void>();
  private releaseLocal: (() => void) | undefined;

  constructor(
    private readonly profile: Profile,
    private readonly clock: Clock,
    private readonly transport: HealthTransport,
  ) {
    const b = profile.breaker;
    const budget = profile.retry.budget;
    const ttlMs = Math.max(
      b === false ? 0 : Math.max(b.windowMs, b.maxOpenMs, b.halfOpenMaxWaitMs),
      budget === false ? 0 : budget.windowMs,
      60_000,
    );
    this.config = JSON.stringify({
      breaker: b === false ? null : b,
      budget: budget === false ? null : budget,
      maxCooldownMs: cappedCooldown(Number.MAX_SAFE_INTEGER, profile),
      ttlMs: 2 * ttlMs,
    });
    this.local = new LocalHealth(profile, clock);
  }

  private degraded(now: number): boolean {
    return now < this.degradedUntil;
  }

  private fresh(now: number): View | undefined {
    const v = this.view;
    return v !== undefined && now - v.at < this.transport.syncMs ? v : undefined;
  }

  /** Sends one script call with the counts batched so far; on failure, decides locally for a while. Never rejects. */
  private async call(
    action: HealthAction,
    arg: Record<string, unknown>,
    now: number,
  ): Promise<View | undefined> {
    const batch = { firsts: this.pendingFirsts, successes: this.pendingSuccesses, slow: this.pendingSlow };
    this.pendingFirsts = this.pendingSuccesses = this.pendingSlow = 0;
    try {
      const raw = await this.transport.eval(action, this.config, JSON.stringify({ ...arg, ...batch }));
      return this.see(JSON.parse(String(raw)) as Answer);
    } catch {
      // Counts that did not reach Redis are dropped, not replayed: they are stale by the time it returns.
      this.degradedUntil = now + this.transport.retryAfterMs;
      return undefined;
    }
  }

  /** Takes an answer as the view, telling listeners when the shared breaker changed state. */
  private see(a: Answer): View {
    const at = this.clock.now();
    const before = this.view?.state ?? 'closed';
    const view: View = {
      ...a,
      at,
      openUntil: at + a.openForMs,
      halfOpenUntil: at + a.halfOpenForMs,
      cooldownUntil: at + a.cooldownForMs,
    };
    this.view = view;
    if (a.state !== before) this.tell({ from: before, to: a.state, at, reason: a.reason });
    return view;
  }

  private tell(t: BreakerTransition): void {
    for (const l of this.listeners) {
      try {
        l(t);
      } catch (err) {
        reportObserverFailure(l, 'breaker transition listener', err);
      }
    }
  }

  /** Asks Redis for the shared state now, so that `state` and `snapshot()` are exact (a test, a dashboard). */
  async sync(now = this.clock.now()): Promise<void> {
    await this.call('view', {}, now);
  }

  get state(): BreakerState {
    const now = this.clock.now();
    if (this.profile.breaker === false) return 'closed';
    if (this.degraded(now)) return this.local.state;
    const v = this.view;
    if (v === undefined) return 'closed';
    if (v.state === 'open' && now >= v.openUntil) return 'half_open';
    return v.state;
  }

  /** Asks Redis at most once per `syncMs` even without a breaker: the view also carries the shared pause. */
  admit(now: number): Admission | Promise<Admission> {
    if (this.degraded(now)) return this.admitLocally(now);
    const v = this.fresh(now);
    if (v !== undefined) {
      const decided = this.decide(v, now);
      if (decided !== undefined) return decided;
    } else if (this.refreshing !== undefined) {
      // Someone in this process is asking already: decide from their answer.
      return this.refreshing.then((view) => {
        const decided = view === undefined ? this.admitLocally(now) : this.decide(view, now);
        return decided ?? this.admitOnce(now);
      });
    }
    return this.refresh('admit', now).then((view) => {
      if (view === undefined) return this.admitLocally(now);
      if (view.admitted === 1)
        return view.probe > 0 ? { admitted: true, permit: { probe: view.probe } } : ADMITTED;
      return { admitted: false, retryAfterMs: this.retryAfterOf(view, now) };
    });
  }

  /** A call that refreshes the view; callers in this process that need a fresh view meanwhile wait for it. */
  private refresh(action: 'admit' | 'view', now: number): Promise<View | undefined> {
    const asking = this.call(action, {}, now);
    this.refreshing = asking;
    void asking.then(() => {
      if (this.refreshing === asking) this.refreshing = undefined;
    });
    return asking;
  }

  /** A decision from a view alone, or undefined when only Redis can decide (a probe must be taken atomically). */
  private decide(v: View, now: number): Admission | undefined {
    if (v.state === 'closed' || v.state === 'disabled') return ADMITTED;
    if (v.state === 'isolated') return { admitted: false, retryAfterMs: 0 };
    if (v.state === 'open' && now < v.openUntil) return { admitted: false, retryAfterMs: v.openUntil - now };
    return undefined;
  }

  private async admitOnce(now: number): Promise<Admission> {
    const view = await this.call('admit', {}, now);
    if (view === undefined) return this.admitLocally(now);
    if (view.admitted === 1)
      return view.probe > 0 ? { admitted: true, permit: { probe: view.probe } } : ADMITTED;
    return { admitted: false, retryAfterMs: this.retryAfterOf(view, now) };
  }

  private retryAfterOf(v: View, now: number): number {
    if (v.state === 'open') return Math.max(0, v.openUntil - now);
    if (v.state === 'half_open') return Math.max(0, v.halfOpenUntil - now);
    return 0;
  }

  private admitLocally(now: number): Admission {
    const a = this.local.admit(now);
    if (!a.admitted) return a;
    const permit: LocalPermit = { probe: 0, local: a.permit as BreakerPermit };
    return { admitted: true, permit };
  }

  stillAdmitted(permit: HealthPermit, now: number): boolean {
    if (isLocal(permit)) return this.local.stillAdmitted(permit.local, now);
    const s = this.state;
    if (s === 'closed' || s === 'disabled' || (s === 'half_open' && permit.probe !== 0)) return true;
    void this.record(permit, 'neutral', 0, now);
    return false;
  }

  record(
    permit: HealthPermit,
    verdict: HealthVerdict,
    durationMs: number,
    now: number,
  ): Promise<void> | undefined {
    if (isLocal(permit)) return this.local.record(permit.local, verdict, durationMs, now);
    if (this.profile.breaker === false || this.degraded(now)) return undefined;
    if (permit.probe === 0 && verdict === 'neutral') return undefined;
    if (permit.probe === 0 && verdict === 'success' && this.transport.syncMs > 0) {
      this.batchSuccess(durationMs);
      return undefined;
    }
    return this.call('record', { outcome: verdict, probe: permit.probe, durationMs }, now).then(
      () => undefined,
    );
  }

  /**
   * Successes on the happy path cost no round trip of their own: they are
   * counted here and travel with the next script call, or after `syncMs`.
   */
  private batchSuccess(durationMs: number): void {
    this.pendingSuccesses++;
    const slowMs = this.profile.breaker === false ? null : this.profile.breaker.slowCallMs;
    if (slowMs !== null && durationMs >= slowMs) this.pendingSlow++;
    this.flushLater();
  }

  private flushLater(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = this.clock.setTimeout(
      () => {
        this.flushTimer = undefined;
        if (this.pendingSuccesses > 0 || this.pendingFirsts > 0) void this.refresh('view', this.clock.now());
      },
      Math.max(1, this.transport.syncMs),
    );
    // A background flush must not hold the process open.
    this.clock.unref?.(this.flushTimer);
  }

  retryAfterMs(now: number): number {
    if (this.degraded(now)) return this.local.retryAfterMs(now);
    return this.view === undefined ? 0 : this.retryAfterOf(this.view, now);
  }

  cooldown(ms: number, now: number): { ms: number; recorded: Promise<void> | undefined } {
    const capped = cappedCooldown(ms, this.profile);
    if (now + capped > this.localCooldown) this.localCooldown = now + capped;
    if (this.degraded(now)) return { ms: capped, recorded: undefined };
    return { ms: capped, recorded: this.call('cooldown', { forMs: capped }, now).then(() => undefined) };
  }

  cooldownUntil(_now: number): number {
    return Math.max(this.localCooldown, this.view?.cooldownUntil ?? 0);
  }

  firstAttempt(now: number): void {
    this.local.firstAttempt(now);
    if (this.profile.retry.budget === false) return;
    this.pendingFirsts++;
    // Asking on every call means every count goes at once, so that Redis sees it when it happened.
    if (this.transport.syncMs === 0 && !this.degraded(now)) void this.call('view', {}, now);
    else this.flushLater();
  }

  tryRetry(now: number): boolean | Promise<boolean> {
    if (this.profile.retry.budget === false) return true;
    if (this.degraded(now)) return this.local.tryRetry(now);
    return this.call('retry', {}, now).then((view) =>
      view === undefined ? this.local.tryRetry(now) : view.retryOk === 1,
    );
  }

  onTransition(listener: (t: BreakerTransition) => void): () => void {
    this.listeners.add(listener);
    const off = this.local.onTransition(listener);
    return () => {
      this.listeners.delete(listener);
      off();
    };
  }

  snapshot(now = this.clock.now()): BreakerSnapshot {
    if (this.degraded(now)) return this.local.snapshot(now);
    const v = this.view;
    return {
      state: this.state,
      consecutiveFailures: v?.consecutive ?? 0,
      windowCalls: v?.windowCalls ?? 0,
      windowFailures: v?.windowFailures ?? 0,
      retryAfterMs: v?.state === 'open' ? Math.max(0, v.openUntil - now) : 0,
      trips: v?.trips ?? 0,
    };
  }

  /** Holds the breaker open in every process until the returned function is called. */
  isolate(): () => void {
    this.command('isolate');
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.command('release');
    };
  }

  disable(): void {
    this.command('disable');
  }

  reset(): void {
    this.command('reset');
  }

  failure(now = this.clock.now()): void {
    void this.record(ORDINARY, 'failure', 0, now);
  }

  /**
   * A manual command: sent at once (commands on one connection keep their
   * order, so the next admission sees it); the view is refreshed by its answer.
   */
  private command(action: 'isolate' | 'release' | 'disable' | 'reset'): void {
    const now = this.clock.now();
    if (this.profile.breaker === false) return;
    const v = this.view;
    const to: BreakerState = action === 'isolate' ? 'isolated' : action === 'disable' ? 'disabled' : 'closed';
    // Seen here at once; the script's answer confirms it (or corrects it: `release` of a breaker no longer isolated).
    if (action !== 'release' || v?.state === 'isolated') {
      const base: View = v ?? { ...CLOSED_VIEW, at: now };
      this.view = { ...base, state: to, at: now };
      if (base.state !== to) this.tell({ from: base.state, to, at: now, reason: 'manual' });
    }
    if (this.degraded(now)) this.commandLocally(action);
    else void this.call(action, {}, now);
  }

  private commandLocally(action: 'isolate' | 'release' | 'disable' | 'reset'): void {
    if (action === 'isolate') this.releaseLocal = this.local.isolate();
    else if (action === 'release') this.releaseLocal?.();
    else if (action === 'disable') this.local.disable();
    else this.local.reset();
  }
}
