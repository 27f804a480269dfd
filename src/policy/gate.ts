import PQueue from 'p-queue';
import { CancelledError, GateRejectedError, RateLimitedError, TimeoutError } from '../failure/errors.js';
import type { Clock, TimerHandle } from './clock.js';

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

/**
 * How a call that held a slot ended, for what the gate learns of the
 * dependency's rate limit: it answered, or it refused with a 429. A string,
 * not an object, because every call on the happy path says it.
 */
export type GateOutcome = 'answered' | 'rate_limited';

/**
 * What the gate has learned of a dependency's rate limit from its 429s. A
 * cycle runs from one exhaustion (the first 429 after a cooldown) to the next:
 * the dependency's allowance was empty at both ends, so the calls it accepted
 * in between, over the time between, is the rate it grants.
 */
interface Pacing {
  cycleStart: number;
  /** Answers in this cycle that were not 429s. */
  accepted: number;
  /** Time in this cycle with callers waiting, closed intervals only (see `busyIn`). */
  busyMs: number;
  /** Calls per ms the dependency grants; undefined until a cycle has measured it. */
  rate: number | undefined;
  /** Accepted calls and elapsed ms of past saturated cycles, each cycle's weight halving at the next. */
  sumAccepted: number;
  sumElapsed: number;
  /** The Retry-After that began this cycle: the scale of the dependency's window. */
  retryAfterMs: number;
  /** Calls accepted over the last saturated cycle: no burst after a cooldown can safely be larger. */
  lastAccepted: number;
  /** A mirror of the dependency's allowance, refilled at `rate`, spent by each admission. */
  tokens: number;
  tokensAt: number;
  /**
   * Calls still in flight when the mirror was emptied. Each is charged to it
   * at once (it may reach the dependency after the allowance ran out, and
   * spend what the dependency regains) and refunded if it comes back 429.
   */
  unreserved: number;
  /** While the rate is unknown, how many calls may be in flight (a slow start); undefined when not ramping. */
  ramp: number | undefined;
  /** Half the calls in flight when the limit was met: the ramp doubles up to here, then grows by one per round trip. */
  rampThreshold: number;
  /**
   * Calls the dependency accepted in the burst that met its first 429: its
   * allowance. A ramp that gets as many accepted again within one cooldown
   * has found the pace (that allowance per Retry-After) without a second 429.
   */
  allowance: number;
  /** Pacing held a caller back since the rate last grew. */
  held: boolean;
  lastGrowth: number;
}

/** A cycle measures the dependency only if callers waited through most of it; otherwise it measured our load. */
const SATURATED = 0.9;
/** The paced rate grows by this factor per quiet period, so a limit that rises is found again. */
const GROWTH = 1.05;

/**
 * What stands in front of one dependency: a concurrency limit, a rate limit,
 * a bounded queue, and a cooldown that pauses every caller when the
 * dependency answers with Retry-After.
 *
 * A free slot is taken synchronously (p-queue costs about 2 µs a call, too
 * much for the happy path); only callers that must wait go through a p-queue
 * used as an abortable FIFO waiting room, so a caller that gives up leaves
 * the queue at once.
 */
export class Gate {
  private active = 0;
  private cooldownUntil = 0;
  private tokens: number;
  private lastRefill: number;
  private readonly waiting = new PQueue({ concurrency: 1 });
  private wakeHead: (() => void) | undefined;
  /** Callers inside `enter`, with what it takes to release them when a cooldown outlasts their wait. */
  private readonly waiters = new Set<{
    /** When this caller gives up waiting anyway: its deadline or its queue timeout. */
    readonly givesUpAt: number;
    readonly release: () => void;
  }>();
  private busySince: number | undefined;
  private pacing: Pacing | undefined;
  /** Calls accepted since the gate was last idle, before any 429: the size of the current burst. */
  private acceptedSinceIdle = 0;

  constructor(
    readonly options: GateOptions,
    private readonly clock: Clock,
  ) {
    this.tokens = options.rate?.limit ?? 0;
    this.lastRefill = clock.now();
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.size + this.waiting.pending;
  }

  /** How long every caller is paused for, from now. */
  cooldownRemaining(now = this.clock.now()): number {
    return this.cooldownUntil > now ? this.cooldownUntil - now : 0;
  }

  /**
   * Pauses every caller until `until` (never shortens a longer pause).
   * Waiters whose deadline comes first are released at once, rate limited,
   * so that they can go elsewhere instead of sleeping into their deadline.
   */
  cooldown(until: number): void {
    if (until <= this.cooldownUntil) return;
    this.cooldownUntil = until;
    for (const w of this.waiters) if (w.givesUpAt < until) w.release();
  }

  /**
   * The dependency answered 429 and asked for `retryAfterMs`: cool down, and
   * learn its pace. When the cooldown ends, waiters are not all let go at
   * once (they would meet an allowance of one and come back as a second
   * wave): they are admitted at the rate the dependency was measured to
   * grant, or, until that is known, one more in flight per call it accepts.
   */
  rateLimited(retryAfterMs: number, now = this.clock.now()): void {
    const until = now + retryAfterMs;
    const p = this.pacing;
    // A 429 while a cooldown is on was in flight with the one that began it: same exhaustion.
    if (now >= this.cooldownUntil) {
      if (p === undefined) {
        this.pacing = {
          cycleStart: now,
          accepted: 0,
          busyMs: 0,
          rate: undefined,
          sumAccepted: 0,
          sumElapsed: 0,
          lastAccepted: 0,
          retryAfterMs,
          tokens: -this.active,
          tokensAt: now,
          unreserved: this.active,
          ramp: 1,
          rampThreshold: Math.max(1, Math.floor(this.active / 2)),
          allowance: this.acceptedSinceIdle,
          held: false,
          lastGrowth: now,
        };
      } else {
        const elapsed = now - p.cycleStart;
        if (elapsed > 0 && this.busyIn(p, now) >= SATURATED * elapsed) {
          // Each 429 says how far the allowance was from one more call: (1 − waitMs × rate). Over the
          // cycle the dependency granted accepted + (1 − endWait·rate) − (1 − startWait·rate), so
          // rate = accepted / (elapsed + endWait − startWait), exact when the waits are in ms. Waits in
          // whole seconds (or dates) are too coarse for that; then the cycle's own length stands.
          const skew = retryAfterMs - p.retryAfterMs;
          const exact = Math.abs(skew) < elapsed / 2;
          const span = exact ? elapsed + skew : elapsed;
          // Without that correction the cycle ended somewhere within one call of the next: count half of one.
          p.sumAccepted = p.sumAccepted / 2 + p.accepted + (exact && skew !== 0 ? 0 : 0.5);
          p.sumElapsed = p.sumElapsed / 2 + span;
          p.rate = p.sumAccepted / p.sumElapsed;
          p.lastAccepted = p.accepted;
        }
        // An unsaturated cycle measured our load, not the dependency: what was learned stands.
        p.cycleStart = now;
        p.accepted = 0;
        p.busyMs = 0;
        p.retryAfterMs = retryAfterMs;
        // The dependency's allowance is spent: the mirror starts empty, less what is still in flight.
        p.tokens = -this.active;
        p.tokensAt = now;
        p.unreserved = this.active;
        p.ramp = p.rate === undefined ? 1 : undefined;
        p.rampThreshold = Math.max(1, Math.floor(this.active / 2));
        p.held = false;
        p.lastGrowth = now;
      }
    }
    this.cooldown(until);
  }

  /** The pace learned from 429s, in calls per second; undefined while unknown. */
  get pacedRatePerSecond(): number | undefined {
    const r = this.pacing?.rate;
    return r === undefined ? undefined : r * 1000;
  }

  /** Takes a slot if one is free and nobody is waiting for it. */
  tryEnter(now: number): boolean {
    if (this.waiting.size !== 0 || this.waiting.pending !== 0) return false;
    return this.take(now);
  }

  /**
   * Gives the slot back, saying how the call ended when it is known (a call
   * given back unanswered teaches nothing). Call it after any `rateLimited`
   * for the same call, so that the waiter it wakes sees the cooldown.
   */
  leave(outcome?: GateOutcome): void {
    this.active--;
    const p = this.pacing;
    const accepted = outcome === 'answered';
    if (p === undefined) {
      if (accepted) this.acceptedSinceIdle++;
      if (this.active === 0 && this.waiters.size === 0) this.acceptedSinceIdle = 0;
    } else if (outcome !== undefined) {
      if (p.unreserved > 0) {
        p.unreserved--;
        if (!accepted) p.tokens += 1;
      }
      // Counted when answered, not when admitted: a straggler admitted long ago still spent this cycle's allowance.
      if (accepted) {
        p.accepted++;
        if (p.ramp !== undefined) {
          if (p.allowance > 0 && p.accepted >= p.allowance) this.paceAtAllowance(p);
          else {
            // TCP's slow start: double per round trip up to the threshold, then one more per round trip,
            // so that meeting the limit again costs a few 429s, not a wave.
            p.ramp += p.ramp < p.rampThreshold ? 1 : 1 / p.ramp;
            if (p.ramp >= (this.options.concurrency ?? 64)) p.ramp = undefined;
          }
        }
      }
    }
    this.wakeHead?.();
  }

  /** The ramp got the whole allowance accepted again within a cooldown: pace at one allowance per Retry-After. */
  private paceAtAllowance(p: Pacing): void {
    const now = this.clock.now();
    p.rate = p.allowance / p.retryAfterMs;
    p.sumAccepted = p.allowance;
    p.sumElapsed = p.retryAfterMs;
    p.lastAccepted = p.allowance;
    p.ramp = undefined;
    // The allowance is spent, and calls still in flight will spend more.
    p.tokens = -this.active;
    p.tokensAt = now;
    p.unreserved = this.active;
    p.held = false;
    p.lastGrowth = now;
  }

  /** Waits for a slot. Rejects with a typed error: rejected, rate limited, timed out or cancelled. */
  async enter(options: GateEnterOptions = {}): Promise<void> {
    const now = this.clock.now();
    const { signal, deadlineAt, dependency } = options;
    if (signal?.aborted) throw cancelled(signal.reason, dependency);
    let limitMs = this.options.queueTimeoutMs ?? Number.POSITIVE_INFINITY;
    let byDeadline = false;
    if (deadlineAt !== undefined && deadlineAt - now < limitMs) {
      limitMs = Math.max(0, deadlineAt - now);
      byDeadline = true;
    }
    const cooling = this.cooldownRemaining(now);
    if (cooling > limitMs) {
      // Waiting longer than this caller may wait helps nobody; say so now so a router can fall back.
      throw new RateLimitedError({
        failure: {
          kind: 'rate_limited',
          delivery: 'not_sent',
          retryAfterMs: cooling,
          message: `cooling down for ${cooling} ms, longer than this call may wait`,
          cause: undefined,
        },
        dependency,
      });
    }
    if (this.queued >= this.options.maxQueue) {
      throw new GateRejectedError({
        reason: 'queue_full',
        failure: gateFailure(`queue full (${this.options.maxQueue} waiting)`),
        dependency,
      });
    }

    const ctrl = new AbortController();
    const onCallerAbort = () => ctrl.abort(CALLER);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const waiter = { givesUpAt: now + limitMs, release: () => ctrl.abort(COOLING) };
    this.waiters.add(waiter);
    if (this.waiters.size === 1) this.busySince = now;
    const timer: TimerHandle | undefined = Number.isFinite(limitMs)
      ? this.clock.setTimeout(() => ctrl.abort(byDeadline ? DEADLINE : QUEUE_TIMEOUT), limitMs)
      : undefined;
    const grant = { granted: false };
    try {
      await this.waiting.add(({ signal: s }) => this.waitAtHead(grant, s), { signal: ctrl.signal });
    } catch (err) {
      // Aborted in the same tick the slot was granted: give the slot back, unused.
      if (grant.granted) this.leave();
      const why = ctrl.signal.aborted ? ctrl.signal.reason : err;
      if (why === CALLER) throw cancelled(signal?.reason, dependency);
      if (why === COOLING) {
        const left = this.cooldownRemaining();
        throw new RateLimitedError({
          failure: {
            kind: 'rate_limited',
            delivery: 'not_sent',
            retryAfterMs: left,
            message: `cooling down for ${left} ms, longer than this call may wait`,
            cause: undefined,
          },
          dependency,
        });
      }
      if (why === DEADLINE) {
        throw new TimeoutError({
          scope: 'deadline',
          failure: {
            kind: 'timeout',
            delivery: 'not_sent',
            code: 'deadline',
            message: 'deadline reached while waiting in the gate queue',
            cause: undefined,
          },
          dependency,
        });
      }
      if (why === QUEUE_TIMEOUT) {
        throw new GateRejectedError({
          reason: 'queue_timeout',
          failure: gateFailure(`no slot within ${this.options.queueTimeoutMs} ms`),
          dependency,
        });
      }
      throw err;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      this.waiters.delete(waiter);
      if (this.waiters.size === 0 && this.busySince !== undefined) {
        const p = this.pacing;
        if (p) p.busyMs += this.clock.now() - Math.max(this.busySince, p.cycleStart);
        this.busySince = undefined;
      }
    }
  }

  /** Time in the current cycle during which callers were waiting. */
  private busyIn(p: Pacing, now: number): number {
    return p.busyMs + (this.busySince === undefined ? 0 : now - Math.max(this.busySince, p.cycleStart));
  }

  /** Refills the mirror of the dependency's allowance, and lets the pace creep up while it is what holds callers back. */
  private refillPacing(p: Pacing & { rate: number }, now: number): void {
    const every = Math.max(1_000, 10 * p.retryAfterMs);
    if (now - p.lastGrowth >= every) {
      if (p.held) p.rate *= GROWTH;
      p.held = false;
      p.lastGrowth = now;
    }
    // A full mirror holds what the dependency regains in one Retry-After (the burst it will take after a
    // cooldown), never more than it accepted in a whole cycle (its allowance may hold less), and one call
    // short of that: a burst that empties the allowance exactly leaves the next call a 429 away.
    const cap = Math.max(1, Math.min(p.rate * p.retryAfterMs, p.lastAccepted) - 1);
    if (now > p.tokensAt) {
      p.tokens = Math.min(cap, p.tokens + (now - p.tokensAt) * p.rate);
      p.tokensAt = now;
    }
  }

  private take(now: number): boolean {
    if (this.cooldownUntil !== 0) {
      if (now < this.cooldownUntil) return false;
      this.cooldownUntil = 0;
    }
    const limit = this.options.concurrency;
    if (limit !== null && this.active >= limit) return false;
    const p = this.pacing;
    if (p?.ramp !== undefined) {
      if (this.active >= Math.floor(p.ramp)) return false;
      // Never more in flight than what is left of the allowance: the ramp stops short of a second 429.
      if (p.allowance > 0 && this.active >= p.allowance - p.accepted) return false;
    }
    const rate = this.options.rate;
    if (rate !== null) {
      this.refill(now, rate);
      if (this.tokens < 1) return false;
    }
    if (p?.rate !== undefined) {
      this.refillPacing(p as Pacing & { rate: number }, now);
      if (p.tokens < 1) {
        p.held = true;
        return false;
      }
      p.tokens -= 1;
    }
    if (rate !== null) this.tokens -= 1;
    this.active++;
    return true;
  }

  private refill(now: number, rate: { limit: number; intervalMs: number }): void {
    const elapsed = now - this.lastRefill;
    if (elapsed > 0) {
      this.tokens = Math.min(rate.limit, this.tokens + (elapsed * rate.limit) / rate.intervalMs);
      this.lastRefill = now;
    }
  }

  /** When the head of the queue could next be admitted, if not by a slot freeing up. */
  private nextChangeIn(now: number): number | undefined {
    if (this.cooldownUntil > now) return this.cooldownUntil - now;
    const rate = this.options.rate;
    if (rate !== null && this.tokens < 1)
      return Math.ceil(((1 - this.tokens) * rate.intervalMs) / rate.limit);
    const p = this.pacing;
    if (p?.rate !== undefined && p.tokens < 1) return Math.ceil((1 - p.tokens) / p.rate);
    return undefined;
  }

  /** The head waiter: parked until a slot frees, the cooldown ends, or a token arrives. */
  private waitAtHead(grant: { granted: boolean }, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const stop = () => {
        this.wakeHead = undefined;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      // Rejecting (not resolving) on abort: this listener may run before p-queue's own,
      // and a resolved task would count as admitted.
      const onAbort = () => {
        stop();
        reject(signal?.reason);
      };
      const check = () => {
        if (timer !== undefined) {
          this.clock.clearTimeout(timer);
          timer = undefined;
        }
        if (signal?.aborted) return onAbort();
        const now = this.clock.now();
        if (this.take(now)) {
          grant.granted = true;
          stop();
          return resolve();
        }
        const wait = this.nextChangeIn(now);
        if (wait !== undefined) timer = this.clock.setTimeout(check, Math.max(1, wait));
      };
      this.wakeHead = check;
      signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }
}

const CALLER = Symbol('caller');
const DEADLINE = Symbol('deadline');
const QUEUE_TIMEOUT = Symbol('queue-timeout');
const COOLING = Symbol('cooling');

function gateFailure(message: string) {
  return { kind: 'gate_rejected', delivery: 'not_sent', message, cause: undefined } as const;
}

function cancelled(reason: unknown, dependency: string | undefined): CancelledError {
  return new CancelledError({
    failure: {
      kind: 'cancelled',
      delivery: 'not_sent',
      message: 'cancelled while waiting for the gate',
      cause: reason,
    },
    dependency,
  });
}
