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

  /** Pauses every caller until `until` (never shortens a longer pause). */
  cooldown(until: number): void {
    if (until > this.cooldownUntil) this.cooldownUntil = until;
  }

  /** Takes a slot if one is free and nobody is waiting for it. */
  tryEnter(now: number): boolean {
    if (this.waiting.size !== 0 || this.waiting.pending !== 0) return false;
    return this.take(now);
  }

  leave(): void {
    this.active--;
    this.wakeHead?.();
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
    const timer: TimerHandle | undefined = Number.isFinite(limitMs)
      ? this.clock.setTimeout(() => ctrl.abort(byDeadline ? DEADLINE : QUEUE_TIMEOUT), limitMs)
      : undefined;
    const grant = { granted: false };
    try {
      await this.waiting.add(({ signal: s }) => this.waitAtHead(grant, s), { signal: ctrl.signal });
    } catch (err) {
      // Aborted in the same tick the slot was granted: give the slot back.
      if (grant.granted) this.leave();
      const why = ctrl.signal.aborted ? ctrl.signal.reason : err;
      if (why === CALLER) throw cancelled(signal?.reason, dependency);
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
    }
  }

  private take(now: number): boolean {
    if (this.cooldownUntil !== 0) {
      if (now < this.cooldownUntil) return false;
      this.cooldownUntil = 0;
    }
    const limit = this.options.concurrency;
    if (limit !== null && this.active >= limit) return false;
    const rate = this.options.rate;
    if (rate !== null) {
      this.refill(now, rate);
      if (this.tokens < 1) return false;
      this.tokens -= 1;
    }
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
