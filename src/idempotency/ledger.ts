import { randomUUID } from 'node:crypto';
import { CancelledError } from '../failure/errors.js';
import { type Clock, systemClock } from '../policy/clock.js';
import { sleep } from '../policy/sleep.js';
import type { StateStore } from '../state/store.js';
import {
  IdempotencyKeyReusedError,
  LedgerUnavailableError,
  OperationInFlightError,
  PreviousOutcomeUnknownError,
  ReplayUnavailableError,
} from './errors.js';

export interface LedgerOptions {
  readonly store: StateStore;
  readonly clock?: Clock;
  /** How long a record is kept, and so how long a key replays its result. Default: 24 hours. */
  readonly ttlMs?: number;
  /** How often a twin polls for an operation owned by another process. Default: 50 ms. */
  readonly pollMs?: number;
  /** Namespaces the ledger's keys in a shared store. Default: `bw:ledger:`. */
  readonly prefix?: string;
}

export interface LedgerRunOptions {
  /** The operation's idempotency key; the caller scopes it (by tool) as needed. */
  readonly key: string;
  /** A stable fingerprint of the operation's input: the same key with another one is refused. */
  readonly fingerprint: string;
  /** Ends the wait for a twin; the operation itself watches its own signal. */
  readonly signal?: AbortSignal | undefined;
  /** When to stop waiting for a twin, on the ledger's clock. */
  readonly deadlineAt?: number | undefined;
  /**
   * How long the owner may hold the key before others treat it as abandoned
   * (its process died mid-operation). Make it longer than the operation's deadline.
   */
  readonly leaseMs: number;
  /**
   * Whether an abandoned operation may be run again. Only when repeating it is
   * safe (idempotent, or the dependency honors the key); otherwise it is
   * recorded as outcome unknown.
   */
  readonly takeOver: boolean;
  /** Whether an error leaves the operation possibly done and unsafe to repeat: the key is then refused from now on. */
  readonly recordUnknown: (err: unknown) => boolean;
  /** Named in errors. */
  readonly dependency?: string | undefined;
}

/** How this call got its value: ran it, replayed a recorded result, or waited for a twin. */
export type LedgerSource = 'executed' | 'replayed' | 'joined';

export interface LedgerResult<T> {
  readonly value: T;
  readonly source: LedgerSource;
}

export interface Ledger {
  /**
   * Runs `fn` at most once per key: a recorded result is replayed, a twin in
   * flight is joined, a key reused with other input or whose earlier outcome
   * is unknown is refused.
   */
  run<T>(options: LedgerRunOptions, fn: () => Promise<T>): Promise<LedgerResult<T>>;
}

type LedgerRecord =
  | { readonly state: 'pending'; readonly fp: string; readonly owner: string; readonly until: number }
  | { readonly state: 'done'; readonly fp: string; readonly result?: unknown; readonly opaque?: true }
  | { readonly state: 'unknown'; readonly fp: string; readonly reason: string };

interface Local {
  readonly fp: string;
  readonly promise: Promise<LedgerResult<unknown>>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function parse(text: string): LedgerRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<Record<string, unknown>> | null;
    if (r === null || typeof r !== 'object' || typeof r.fp !== 'string') return undefined;
    if (r.state === 'pending' && typeof r.owner === 'string' && typeof r.until === 'number')
      return r as LedgerRecord;
    if (r.state === 'done') return r as LedgerRecord;
    if (r.state === 'unknown' && typeof r.reason === 'string') return r as LedgerRecord;
    return undefined;
  } catch {
    return undefined;
  }
}

function reasonOf(err: unknown): string {
  const failure = (err as { failure?: { message?: unknown } } | null)?.failure;
  return typeof failure?.message === 'string'
    ? failure.message
    : 'the operation failed after it may have started';
}

function cancelled(reason: unknown, dependency: string | undefined): CancelledError {
  return new CancelledError({
    failure: { kind: 'cancelled', delivery: 'not_sent', message: 'cancelled before running', cause: reason },
    dependency,
  });
}

/**
 * The idempotency ledger on a `StateStore`. One caller per key and process
 * talks to the store; its in-process twins share its promise, so a burst of
 * duplicates costs one store round trip. Twins in other processes see the
 * pending record and poll until it settles.
 */
export function createLedger(options: LedgerOptions): Ledger {
  const store = options.store;
  const clock = options.clock ?? systemClock;
  const ttlMs = options.ttlMs ?? DAY_MS;
  const pollMs = options.pollMs ?? 50;
  const prefix = options.prefix ?? 'bw:ledger:';
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`ttlMs: expected a positive number, got ${ttlMs}`);
  if (!Number.isFinite(pollMs) || pollMs <= 0)
    throw new RangeError(`pollMs: expected a positive number, got ${pollMs}`);
  const inFlight = new Map<string, Local>();

  /** Waits for a twin's promise, for no longer than this caller is willing to. */
  function join<T>(promise: Promise<T>, o: LedgerRunOptions): Promise<T> {
    if (o.signal === undefined && o.deadlineAt === undefined) return promise;
    return new Promise<T>((resolve, reject) => {
      if (o.signal?.aborted) {
        reject(new OperationInFlightError(o.dependency, 'cancelled'));
        return;
      }
      let timer: unknown;
      const done = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(new OperationInFlightError(o.dependency, 'cancelled'));
      };
      if (o.deadlineAt !== undefined) {
        timer = clock.setTimeout(
          () => {
            done();
            reject(new OperationInFlightError(o.dependency, 'deadline'));
          },
          Math.max(0, o.deadlineAt - clock.now()),
        );
      }
      o.signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (v) => {
          done();
          resolve(v);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }

  async function storeCall<T>(o: LedgerRunOptions, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new LedgerUnavailableError(o.dependency, err);
    }
  }

  async function own<T>(o: LedgerRunOptions, key: string, claim: string, fn: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      const next = o.recordUnknown(err)
        ? store.compareAndSet(
            key,
            claim,
            JSON.stringify({ state: 'unknown', fp: o.fingerprint, reason: reasonOf(err) }),
            ttlMs,
          )
        : // Nothing took effect: free the key, so a later call may try again.
          store.compareAndDelete(key, claim);
      // A store that fails here leaves the claim pending; once its lease ends it reads as abandoned.
      await next.catch(() => false);
      throw err;
    }
    let done: string;
    try {
      done = JSON.stringify({ state: 'done', fp: o.fingerprint, result: value });
    } catch {
      done = JSON.stringify({ state: 'done', fp: o.fingerprint, opaque: true });
    }
    // The operation succeeded: a store failure now must not turn that into an error.
    await store.compareAndSet(key, claim, done, ttlMs).catch(() => false);
    return value;
  }

  async function settle<T>(o: LedgerRunOptions, fn: () => Promise<T>): Promise<LedgerResult<T>> {
    const key = prefix + o.key;
    const newClaim = () =>
      JSON.stringify({
        state: 'pending',
        fp: o.fingerprint,
        owner: randomUUID(),
        until: clock.now() + o.leaseMs,
      });
    for (;;) {
      if (o.signal?.aborted) throw cancelled(o.signal.reason, o.dependency);
      const claim = newClaim();
      const got = await storeCall(o, () => store.setIfAbsent(key, claim, ttlMs));
      if (got.written) return { value: await own(o, key, claim, fn), source: 'executed' };

      const record = parse(got.current);
      if (record === undefined)
        throw new PreviousOutcomeUnknownError(o.dependency, 'its ledger record is unreadable');
      if (record.fp !== o.fingerprint) throw new IdempotencyKeyReusedError(o.dependency);
      if (record.state === 'done') {
        if (record.opaque) throw new ReplayUnavailableError(o.dependency);
        return { value: record.result as T, source: 'replayed' };
      }
      if (record.state === 'unknown') throw new PreviousOutcomeUnknownError(o.dependency, record.reason);

      const now = clock.now();
      if (record.until <= now) {
        // The owner did not report back within its lease: its process most likely died mid-operation.
        if (o.takeOver) {
          const taken = newClaim();
          if (await storeCall(o, () => store.compareAndSet(key, got.current, taken, ttlMs))) {
            return { value: await own(o, key, taken, fn), source: 'executed' };
          }
          continue;
        }
        const reason = 'an earlier call did not report back before its lease ended';
        const unknown = JSON.stringify({ state: 'unknown', fp: o.fingerprint, reason });
        await storeCall(o, () => store.compareAndSet(key, got.current, unknown, ttlMs));
        continue;
      }
      if (o.deadlineAt !== undefined && now >= o.deadlineAt)
        throw new OperationInFlightError(o.dependency, 'deadline');
      const wait = o.deadlineAt === undefined ? pollMs : Math.min(pollMs, o.deadlineAt - now);
      try {
        await sleep(clock, wait, o.signal);
      } catch {
        throw new OperationInFlightError(o.dependency, 'cancelled');
      }
    }
  }

  return {
    async run<T>(o: LedgerRunOptions, fn: () => Promise<T>): Promise<LedgerResult<T>> {
      for (;;) {
        const local = inFlight.get(o.key);
        if (local === undefined) break;
        if (local.fp !== o.fingerprint) throw new IdempotencyKeyReusedError(o.dependency);
        try {
          const r = await join(local.promise, o);
          return { value: r.value as T, source: 'joined' };
        } catch (err) {
          // The owner's caller gave up, not this one: take the key over rather than inherit the cancel.
          const ownerCancelled = (err as { code?: unknown } | null)?.code === 'cancelled';
          if (!ownerCancelled || o.signal?.aborted) throw err;
        }
      }
      const promise = settle(o, fn);
      const entry: Local = { fp: o.fingerprint, promise };
      inFlight.set(o.key, entry);
      const forget = () => {
        if (inFlight.get(o.key) === entry) inFlight.delete(o.key);
      };
      promise.then(forget, forget);
      return promise;
    },
  };
}
