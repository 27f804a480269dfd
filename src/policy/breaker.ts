import type { Clock } from './clock.js';
import { reportObserverFailure } from './observers.js';
import { SlidingWindow } from './sliding-window.js';

export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated' | 'disabled';

export interface BreakerOptions {
  /** `consecutive`: trip on N failures in a row (pybreaker's `fail_max`). `window`: on a failure ratio over a sliding window. */
  readonly mode: 'consecutive' | 'window';
  readonly consecutiveFailures: number;
  readonly failureRatio: number;
  /** Calls the window must hold before its ratio means anything (opossum's low-volume trips are what this prevents). */
  readonly minimumThroughput: number;
  readonly windowMs: number;
  readonly buckets: number;
  /** A call slower than this is a slow call; `null` turns slow-call tracking off. */
  readonly slowCallMs: number | null;
  readonly slowCallRatio: number;
  readonly openMs: number;
  /** Each trip in a row without recovery multiplies the open period, up to `maxOpenMs`. */
  readonly openMultiplier: number;
  readonly maxOpenMs: number;
  /** Probes admitted in half-open; all must succeed to close. */
  readonly halfOpenProbes: number;
  /** A probe that has not answered by then counts as failed, so the breaker never sticks half-open. */
  readonly halfOpenMaxWaitMs: number;
}

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly at: number;
  readonly reason:
    | 'failures'
    | 'failure_ratio'
    | 'slow_calls'
    | 'open_elapsed'
    | 'probe_failed'
    | 'probe_timeout'
    | 'probes_succeeded'
    | 'manual';
}

/** A permit to call; hand it back with exactly one of success / failure / release. */
export interface BreakerPermit {
  /** 0 for a call admitted while closed; the half-open generation for a probe. */
  readonly probe: number;
}

const CLOSED_PERMIT: BreakerPermit = Object.freeze({ probe: 0 });

export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
  readonly windowCalls: number;
  readonly windowFailures: number;
  /** When an open breaker will admit a probe, from now; 0 when not open. */
  readonly retryAfterMs: number;
  readonly trips: number;
}

/**
 * Closed → open → half-open → closed, as a small state machine driven by the
 * clock it is given. Transitions out of open happen lazily, when someone asks:
 * the breaker owns no timer.
 */
export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private consecutive = 0;
  private readonly window: SlidingWindow<'calls' | 'failures' | 'slow'> | undefined;
  private openUntil = 0;
  private tripsInARow = 0;
  private generation = 0;
  private halfOpenSince = 0;
  private probesOut = 0;
  private probesOk = 0;
  private readonly listeners = new Set<(t: BreakerTransition) => void>();

  constructor(
    readonly options: BreakerOptions,
    private readonly clock: Clock,
  ) {
    this.window =
      options.mode === 'window'
        ? new SlidingWindow(options.windowMs, options.buckets, ['calls', 'failures', 'slow'], clock.now())
        : undefined;
  }

  get state(): BreakerState {
    this.refresh(this.clock.now());
    return this.stateValue;
  }

  onTransition(listener: (t: BreakerTransition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A permit, or undefined when the call must not reach the dependency. */
  tryAcquire(now = this.clock.now()): BreakerPermit | undefined {
    const s = this.stateValue;
    if (s === 'closed' || s === 'disabled') return CLOSED_PERMIT;
    this.refresh(now);
    switch (this.stateValue) {
      case 'closed':
      case 'disabled':
        return CLOSED_PERMIT;
      case 'half_open':
        if (this.probesOut + this.probesOk >= this.options.halfOpenProbes) return undefined;
        this.probesOut++;
        return { probe: this.generation };
      default:
        return undefined;
    }
  }

  /** How long until a probe may be admitted. */
  retryAfterMs(now = this.clock.now()): number {
    this.refresh(now);
    if (this.stateValue === 'open') return Math.max(0, this.openUntil - now);
    if (this.stateValue === 'half_open')
      return Math.max(0, this.halfOpenSince + this.options.halfOpenMaxWaitMs - now);
    return 0;
  }

  success(permit: BreakerPermit, durationMs: number, now = this.clock.now()): void {
    if (permit.probe !== 0) {
      if (permit.probe !== this.generation || this.stateValue !== 'half_open') return;
      this.probesOut--;
      this.probesOk++;
      if (this.probesOk >= this.options.halfOpenProbes) this.close(now, 'probes_succeeded');
      return;
    }
    if (this.stateValue !== 'closed') return;
    this.consecutive = 0;
    const w = this.window;
    if (!w) return;
    w.add('calls', now);
    const slowMs = this.options.slowCallMs;
    if (slowMs !== null && durationMs >= slowMs) {
      w.add('slow', now);
      this.evaluate(now);
    }
  }

  failure(permit: BreakerPermit, now = this.clock.now()): void {
    if (permit.probe !== 0) {
      if (permit.probe !== this.generation || this.stateValue !== 'half_open') return;
      this.probesOut--;
      this.trip(now, 'probe_failed');
      return;
    }
    if (this.stateValue !== 'closed') return;
    this.consecutive++;
    const w = this.window;
    if (w) {
      w.add('calls', now);
      w.add('failures', now);
    }
    this.evaluate(now);
  }

  /** The call ended in a way that says nothing about health (a 4xx, a cancel): free the permit. */
  release(permit: BreakerPermit): void {
    if (permit.probe !== 0 && permit.probe === this.generation && this.stateValue === 'half_open')
      this.probesOut--;
  }

  /** Holds the breaker open until the returned function is called (cockatiel's `isolate`). */
  isolate(): () => void {
    const now = this.clock.now();
    this.transition('isolated', now, 'manual');
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.stateValue === 'isolated') this.close(this.clock.now(), 'manual');
    };
  }

  /** Stops the breaker from ever opening (Resilience4j's DISABLED); `reset()` re-arms it. */
  disable(): void {
    this.transition('disabled', this.clock.now(), 'manual');
  }

  reset(): void {
    this.close(this.clock.now(), 'manual');
  }

  snapshot(now = this.clock.now()): BreakerSnapshot {
    this.refresh(now);
    return {
      state: this.stateValue,
      consecutiveFailures: this.consecutive,
      windowCalls: this.window?.sum('calls', now) ?? 0,
      windowFailures: this.window?.sum('failures', now) ?? 0,
      retryAfterMs: this.stateValue === 'open' ? Math.max(0, this.openUntil - now) : 0,
      trips: this.tripsInARow,
    };
  }

  private evaluate(now: number): void {
    const o = this.options;
    if (o.mode === 'consecutive') {
      if (this.consecutive >= o.consecutiveFailures) this.trip(now, 'failures');
      return;
    }
    const w = this.window!;
    const calls = w.sum('calls', now);
    if (calls < o.minimumThroughput || calls === 0) return;
    if (w.sum('failures', now) / calls >= o.failureRatio) this.trip(now, 'failure_ratio');
    else if (o.slowCallMs !== null && w.sum('slow', now) / calls >= o.slowCallRatio)
      this.trip(now, 'slow_calls');
  }

  private refresh(now: number): void {
    if (this.stateValue === 'open' && now >= this.openUntil) {
      this.generation++;
      this.halfOpenSince = now;
      this.probesOut = 0;
      this.probesOk = 0;
      this.transition('half_open', now, 'open_elapsed');
    } else if (
      this.stateValue === 'half_open' &&
      now - this.halfOpenSince >= this.options.halfOpenMaxWaitMs
    ) {
      this.trip(now, 'probe_timeout');
    }
  }

  private trip(now: number, reason: BreakerTransition['reason']): void {
    const o = this.options;
    this.tripsInARow++;
    const ms = Math.min(o.maxOpenMs, o.openMs * o.openMultiplier ** (this.tripsInARow - 1));
    this.openUntil = now + ms;
    this.generation++;
    this.probesOut = 0;
    this.probesOk = 0;
    this.transition('open', now, reason);
  }

  private close(now: number, reason: BreakerTransition['reason']): void {
    this.consecutive = 0;
    this.tripsInARow = 0;
    this.generation++;
    this.window?.reset(now);
    this.transition('closed', now, reason);
  }

  private transition(to: BreakerState, at: number, reason: BreakerTransition['reason']): void {
    const from = this.stateValue;
    this.stateValue = to;
    if (from === to) return;
    for (const l of this.listeners) {
      // A listener that throws must not leave the breaker half-way through a transition, nor its caller.
      try {
        l({ from, to, at, reason });
      } catch (err) {
        reportObserverFailure(l, 'breaker transition listener', err);
      }
    }
  }
}
