import type { Clock, TimerHandle } from './clock.js';
import { Concurrency } from './gate/concurrency.js';
import { Cooldown } from './gate/cooldown.js';
import { LONGEST_TIMER_MS } from './gate/longest-timer.js';
import type { GateOutcome } from './gate/outcome.js';
import { Pacer } from './gate/pacer.js';
import { cancelled, deadlineInQueue, queueFull, queueTimeout, unreachable } from './gate/refusals.js';
import { TokenBucket } from './gate/token-bucket.js';

export { type GateOutcome, gateOutcomeOf } from './gate/outcome.js';

export interface GateOptions {
  /** Calls in flight at once; `null` for no limit. */
  readonly concurrency: number | null;
  /** Callers allowed to wait for a slot; beyond it a call is rejected at once. */
  readonly maxQueue: number;
  /** Longest wait for a slot; `null` to wait until the deadline. */
  readonly queueTimeoutMs: number | null;
  /** At most `limit` calls per `intervalMs`, as a token bucket (bursts up to `limit`). */
  readonly rate: { readonly limit: number; readonly intervalMs: number } | null;
}

export interface GateEnterOptions {
  readonly signal?: AbortSignal | undefined;
  readonly deadlineAt?: number | undefined;
  readonly dependency?: string | undefined;
}

/** A caller in line, with what it takes to let it in or send it away. */
interface Waiter {
  /** When this caller gives up waiting anyway: its deadline or its queue timeout. */
  readonly givesUpAt: number;
  readonly dependency: string | undefined;
  readonly admit: () => void;
  readonly refuse: (error: Error) => void;
}

/** The pacer's ramp ends at the concurrency limit; without one, at this many in flight. */
const UNLIMITED_RAMP_END = 64;

/**
 * What stands in front of one dependency, in four parts: a concurrency
 * limit with its bounded queue, a configured token bucket, the cooldown a
 * Retry-After imposes, and a pacer that learns the dependency's pace from
 * its 429s. A call goes when all four let it; the head of the line waits for
 * a slot (woken by `leave`) or for the next moment one of the others changes
 * (one timer). A caller the gate cannot admit before it gives up is let go
 * at once, rate limited, so that a router can move on.
 */
export class Gate {
  private readonly slots: Concurrency<Waiter>;
  private readonly cooling = new Cooldown();
  private readonly bucket: TokenBucket | undefined;
  private readonly pacer: Pacer;
  private headTimer: TimerHandle | undefined;

  constructor(
    readonly options: GateOptions,
    private readonly clock: Clock,
  ) {
    this.slots = new Concurrency(options.concurrency, options.maxQueue);
    this.bucket = options.rate
      ? new TokenBucket(options.rate.limit, options.rate.intervalMs, clock.now())
      : undefined;
    this.pacer = new Pacer(options.concurrency ?? UNLIMITED_RAMP_END);
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.slots.inFlight;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.slots.waiting;
  }

  /** The pace learned from 429s, in calls per second; undefined while unknown or not binding. */
  get pacedRatePerSecond(): number | undefined {
    const r = this.pacer.ratePerMs;
    return r === undefined ? undefined : r * 1000;
  }

  /** How long every caller is paused for, from now. */
  cooldownRemaining(now = this.clock.now()): number {
    return this.cooling.remaining(now);
  }

  /**
   * Pauses every caller until `until` (never shortens a longer pause).
   * Waiters whose deadline comes first are released at once, rate limited,
   * so that they can go elsewhere instead of sleeping into their deadline.
   */
  cooldown(until: number): void {
    if (this.cooling.extend(until)) this.releaseUnreachable(this.clock.now());
  }

  /**
   * The dependency answered 429 and asked for `retryAfterMs`: cool down, and
   * let the pacer learn from it. A 429 while a cooldown is on was in flight
   * with the one that began it: the same exhaustion, nothing new to learn.
   */
  rateLimited(retryAfterMs: number, now = this.clock.now()): void {
    if (!this.cooling.active(now)) this.pacer.exhausted(retryAfterMs, now, this.slots.inFlight);
    this.cooling.extend(now + retryAfterMs);
    this.releaseUnreachable(now);
  }

  /** Takes a slot if one is free and nobody is waiting for it. */
  tryEnter(now: number): boolean {
    return this.slots.waiting === 0 && this.take(now);
  }

  /**
   * Gives the slot back, saying how the call ended when it is known (a call
   * given back unanswered teaches nothing). Call it after any `rateLimited`
   * for the same call, so that the waiter it wakes sees the cooldown.
   * `now`, when the caller has just read the clock, saves reading it again.
   */
  leave(outcome?: GateOutcome, now = this.clock.now()): void {
    this.slots.give();
    const pace = this.pacer.ratePerMs;
    this.pacer.answered(outcome, this.slots.inFlight, this.slots.waiting, now);
    // The ramp found the pace: callers in line it cannot serve in time go now, not at their deadline.
    if (this.pacer.ratePerMs !== pace) this.releaseUnreachable(now);
    this.pump();
  }

  /** Waits for a slot. Rejects with a typed error: rejected, rate limited, timed out or cancelled. */
  enter(options: GateEnterOptions = {}): Promise<void> {
    const now = this.clock.now();
    const { signal, deadlineAt, dependency } = options;
    if (signal?.aborted) return Promise.reject(cancelled(signal.reason, dependency));
    let limitMs = this.options.queueTimeoutMs ?? Number.POSITIVE_INFINITY;
    const byDeadline = deadlineAt !== undefined && deadlineAt - now < limitMs;
    if (byDeadline) limitMs = Math.max(0, deadlineAt - now);
    const wait = this.earliestWait(this.slots.waiting, now);
    // Waiting longer than this caller may wait helps nobody; say so now so a router can fall back.
    if (wait.ms > limitMs) return Promise.reject(unreachable(wait.ms, wait.why, dependency));
    if (!this.slots.hasRoom()) return Promise.reject(queueFull(this.options.maxQueue, dependency));
    const givingUp = () =>
      byDeadline ? deadlineInQueue(dependency) : queueTimeout(this.options.queueTimeoutMs, dependency);
    return this.waitInLine(now, limitMs, givingUp, options);
  }

  /**
   * Stands in line until let in, sent away, timed out (`givingUp` after
   * `limitMs`) or aborted; whichever comes first clears the others.
   */
  private waitInLine(
    now: number,
    limitMs: number,
    givingUp: () => Error,
    { signal, dependency }: GateEnterOptions,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.slots.leaveLine(waiter);
        if (this.slots.waiting === 0) this.lineEmptied();
      };
      const waiter: Waiter = {
        givesUpAt: now + limitMs,
        dependency,
        admit: () => {
          done();
          resolve();
        },
        refuse: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = () => waiter.refuse(cancelled(signal?.reason, dependency));
      // A wait longer than the longest timer is armed in legs, each re-checking what is left.
      const arm = (ms: number): TimerHandle =>
        this.clock.setTimeout(
          () => {
            const left = waiter.givesUpAt - this.clock.now();
            if (left > 0) timer = arm(left);
            else waiter.refuse(givingUp());
          },
          Math.min(LONGEST_TIMER_MS, ms),
        );
      let timer: TimerHandle | undefined = Number.isFinite(limitMs) ? arm(limitMs) : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.slots.join(waiter);
      if (this.slots.waiting === 1) this.pacer.waiting(true, now);
      this.pump();
    });
  }

  /** A call goes if every part lets it: cooldown, concurrency, configured rate, learned pace. */
  private take(now: number): boolean {
    if (this.cooling.active(now) || !this.slots.hasFreeSlot()) return false;
    if (!this.pacer.admits(this.slots.inFlight, now)) return false;
    if (this.bucket && !this.bucket.allows(now)) return false;
    this.pacer.admit();
    this.bucket?.take();
    this.slots.take();
    return true;
  }

  /** Lets in the head of the line while it can go; otherwise wakes it when the next part changes. */
  private pump(): void {
    this.clearHeadTimer();
    let head = this.slots.head();
    // Nobody in line (the happy path): no clock reading.
    if (head === undefined) return;
    const now = this.clock.now();
    for (; head !== undefined; head = this.slots.head()) {
      if (!this.take(now)) {
        const ms = this.nextChangeIn(now);
        if (ms !== undefined)
          this.headTimer = this.clock.setTimeout(
            () => this.pump(),
            Math.min(LONGEST_TIMER_MS, Math.max(1, ms)),
          );
        return;
      }
      head.admit();
    }
  }

  /** When the head could next be admitted, if not by a slot freeing up (which `leave` reports). */
  private nextChangeIn(now: number): number | undefined {
    if (this.cooling.active(now)) return this.cooling.remaining(now);
    if (!this.slots.hasFreeSlot()) return undefined;
    const bucketMs = this.bucket?.msUntil(1, now) ?? 0;
    if (bucketMs > 0) return bucketMs;
    return this.pacer.msUntilNext();
  }

  /**
   * The soonest the caller at `position` in line (0 at the head) can go: a
   * lower bound from the cooldown, the configured rate and the learned pace
   * (slots freeing up can only make it later), and which of them sets it.
   */
  private earliestWait(position: number, now: number): { ms: number; why: string } {
    let ms = this.cooling.remaining(now);
    let why = 'cooling down';
    const bucketMs = this.bucket?.msUntil(position + 1, now) ?? 0;
    if (bucketMs > ms) [ms, why] = [bucketMs, 'at the configured rate, no slot'];
    const pacedMs = this.pacer.msUntil(position + 1, now) ?? 0;
    if (pacedMs > ms) [ms, why] = [pacedMs, "at the dependency's learned pace, no slot"];
    return { ms, why };
  }

  /** Sends away, rate limited, every waiter the gate can no longer admit before it gives up. */
  private releaseUnreachable(now: number): void {
    let position = 0;
    for (const [w] of [...this.slots.inLine()]) {
      const wait = this.earliestWait(position, now);
      if (now + wait.ms > w.givesUpAt) w.refuse(unreachable(wait.ms, wait.why, w.dependency));
      else position++;
    }
  }

  private lineEmptied(): void {
    this.clearHeadTimer();
    this.pacer.waiting(false, this.clock.now());
  }

  private clearHeadTimer(): void {
    if (this.headTimer === undefined) return;
    this.clock.clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }
}
