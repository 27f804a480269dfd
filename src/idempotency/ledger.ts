import { randomUUID } from 'node:crypto';
import { CancelledError } from '../failure/errors.js';
import { type Clock, systemClock } from '../policy/clock.js';
import { sleep } from '../policy/sleep.js';
import { type StateStore, StoreFullError, type WriteOptions } from '../state/store.js';
import { judgeAbandoned } from './abandoned.js';
import {
  IdempotencyKeyReusedError,
  LedgerFullError,
  LedgerUnavailableError,
  OperationInFlightError,
  PreviousOutcomeUnknownError,
  ReplayUnavailableError,
} from './errors.js';
import { holdLease, replaceClaim, type SentAt, sentNow } from './lease.js';

export interface LedgerOptions {
  readonly store: StateStore;
  readonly clock?: Clock;
  /** How long a record is kept, and so how long a key replays its result. Default: 24 hours. */
  readonly ttlMs?: number;
  /** How often a twin polls for an operation owned by another process. Default: 50 ms. */
  readonly pollMs?: number;
  /**
   * Namespaces the ledger's keys inside its store. Default: `ledger:`. The
   * store adds its own namespace in front (the Redis store's `prefix`, `bw:`
   * by default), so keys read `bw:ledger:…`.
   */
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
   * The claim is a lease: how long the owner holds the key without a word
   * before others treat it as abandoned (its process died mid-operation).
   * The owner renews it every third of this while the operation runs, so an
   * operation may outlast it; the claim is kept at least as long as the
   * record TTL either way, so an abandoned one is seen as such, not as free.
   */
  readonly leaseMs: number;
  /**
   * Whether an abandoned operation may be run again. Only when repeating it is
   * safe (idempotent, or the dependency honors the key); otherwise it is
   * reconciled when `reconcile` is given, and recorded as outcome unknown when not.
   */
  readonly takeOver: boolean;
  /**
   * Asked when a claim was abandoned and repeating is unsafe: did the
   * abandoned operation take effect? `{ found: true, value }` is recorded
   * and answered; only an explicit `{ found: false }` lets it run again;
   * anything else (a throw, a malformed answer) records outcome unknown.
   * The caller bounds it in time (deadline, abort).
   */
  readonly reconcile?: (() => Promise<LedgerReconciliation<unknown>>) | undefined;
  /** Whether an error leaves the operation possibly done and unsafe to repeat: the key is then refused from now on. */
  readonly recordUnknown: (err: unknown) => boolean;
  /** Named in errors. */
  readonly dependency?: string | undefined;
}

/** How this call got its value: ran it, replayed a recorded result, waited for a twin, or found an abandoned one's. */
export type LedgerSource = 'executed' | 'replayed' | 'joined' | 'reconciled';

export type LedgerReconciliation<T> = { readonly found: true; readonly value: T } | { readonly found: false };

export interface LedgerResult<T> {
  readonly value: T;
  readonly source: LedgerSource;
}

/**
 * Whether this call still holds its key, asked by the operation before each
 * attempt, the first too (it may wait for admission after the ledger's own check): false means
 * the claim lapsed and another call took the key over, so nothing more may
 * be sent. Answered at once while the lease is fresh.
 */
export type ClaimCheck = () => Promise<boolean>;

export interface Ledger {
  /**
   * Runs `fn` at most once per key: a recorded result is replayed, a twin in
   * flight is joined, a key reused with other input or whose earlier outcome
   * is unknown is refused.
   */
  run<T>(options: LedgerRunOptions, fn: (stillOurs: ClaimCheck) => Promise<T>): Promise<LedgerResult<T>>;
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
/** Claims in flight, unknown outcomes and results of unsafe operations are what the ledger exists to remember. */
const PIN: WriteOptions = { pin: true };

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
  const prefix = options.prefix ?? 'ledger:';
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`ttlMs: expected a positive number up to ${Number.MAX_SAFE_INTEGER}, got ${ttlMs}`);
  if (!Number.isFinite(pollMs) || pollMs <= 0)
    throw new RangeError(`pollMs: expected a positive number, got ${pollMs}`);
  const checkLease = (o: LedgerRunOptions) => {
    if (!Number.isFinite(o.leaseMs) || o.leaseMs <= 0)
      throw new RangeError(`leaseMs: expected a positive number of milliseconds, got ${o.leaseMs}`);
  };
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

  function unavailable(o: LedgerRunOptions, err: unknown): LedgerUnavailableError {
    return err instanceof StoreFullError
      ? new LedgerFullError(o.dependency, err)
      : new LedgerUnavailableError(o.dependency, err);
  }

  async function storeCall<T>(o: LedgerRunOptions, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw unavailable(o, err);
    }
  }

  /**
   * A write that claims the key. When it fails the caller is told nothing
   * ran, so the claim must not survive: the store promises a rejected write
   * never lands, and `undo` (sent after it, in order on the same connection)
   * removes it should it have landed before the answer was lost.
   */
  async function claimWrite<T>(o: LedgerRunOptions, op: () => Promise<T>, undo: () => Promise<unknown>) {
    try {
      return await op();
    } catch (err) {
      undo().catch(() => {});
      throw unavailable(o, err);
    }
  }

  /**
   * A result is pinned when repeating the operation is unsafe: forgetting it
   * would let a re-delivered call run again. When repeating is safe (an
   * idempotent tool, a key the dependency honors) it may be evicted early.
   */
  const doneWrite = (o: LedgerRunOptions): WriteOptions | undefined =>
    bounded(o, o.takeOver ? undefined : PIN);

  /**
   * Write options carrying what is left of the caller's deadline: a store
   * over a network answers by then and refuses the write if it lands later,
   * so a stalled store cannot hold the call past its deadline, nor leave a
   * record the caller was told was not written.
   */
  function bounded(o: LedgerRunOptions, base: WriteOptions | undefined): WriteOptions | undefined {
    if (o.deadlineAt === undefined) return base;
    return { ...base, timeoutMs: Math.max(0, o.deadlineAt - clock.now()) };
  }

  /**
   * Waits for the write that settles a finished operation, but not past its
   * deadline: the caller has its answer. The write goes on; landing late is
   * harmless for a final record (it is not a claim), and if it never lands
   * the claim reads as abandoned once its lease ends.
   */
  function untilDeadline(o: LedgerRunOptions, write: Promise<unknown>): Promise<unknown> {
    const settled = write.catch(() => false);
    if (o.deadlineAt === undefined) return settled;
    const left = o.deadlineAt - clock.now();
    if (left <= 0) return Promise.resolve();
    let timer: unknown;
    const expired = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, left);
    });
    return Promise.race([settled, expired]).finally(() => clock.clearTimeout(timer));
  }

  /** Kept at least as long as a record: an abandoned claim must read as abandoned, never expire into "free". */
  const claimTtl = (o: LedgerRunOptions) => Math.max(ttlMs, o.leaseMs);

  /**
   * Lease ends are compared across processes, so they are read and written on
   * the store's clock, never this process's: hosts whose clocks are apart by
   * more than the lease grace would otherwise take a live claim for abandoned
   * (and, with a `reconcile` that finds nothing yet, run it a second time).
   */
  const storeNow: () => Promise<number> = store.now?.bind(store) ?? (async () => clock.now());

  const claimText = async (o: LedgerRunOptions, owner: string) =>
    JSON.stringify({ state: 'pending', fp: o.fingerprint, owner, until: (await storeNow()) + o.leaseMs });

  /**
   * Replaces this call's claim with its final record (a result, an unknown
   * outcome). When the claim is not there at all, the store forgot it (a Redis
   * restarted without persistence: nobody else deletes a claim they do not
   * own), and a re-delivered call would find the key free and run again; so
   * the record is written back if the key is still free. (A twin that claimed
   * it in between is not stopped: only a store that persists can prevent that.)
   */
  async function settleClaim(
    key: string,
    claims: readonly string[],
    value: string,
    write: WriteOptions | undefined,
  ): Promise<boolean> {
    if (await replaceClaim(store, key, claims, value, ttlMs, write)) return true;
    if ((await store.get(key)) !== undefined) return false;
    return (await store.setIfAbsent(key, value, ttlMs, write)).written;
  }

  async function own<T>(
    o: LedgerRunOptions,
    key: string,
    owner: string,
    claim: string,
    sentAt: SentAt,
    fn: (stillOurs: ClaimCheck) => Promise<T>,
  ): Promise<T> {
    const lease = holdLease({
      store,
      clock,
      key,
      first: claim,
      sentAt,
      leaseMs: o.leaseMs,
      renewed: () => claimText(o, owner),
      ttlMs: claimTtl(o),
      write: () => bounded(o, PIN),
    });
    let value: T;
    try {
      // A process paused between its claim and this point (a long GC, SIGSTOP) may have outlived its
      // lease, and another may have taken the key over: acting now would do the operation twice.
      if (!(await lease.confirm())) throw new OperationInFlightError(o.dependency, 'taken_over');
      // The same pause may come between two attempts (a backoff overslept): the operation asks again before each.
      value = await fn(() => lease.confirm());
    } catch (err) {
      const claims = await lease.stop();
      const next = o.recordUnknown(err)
        ? settleClaim(
            key,
            claims,
            JSON.stringify({ state: 'unknown', fp: o.fingerprint, reason: reasonOf(err) }),
            PIN,
          )
        : // Nothing took effect: free the key, so a later call may try again.
          replaceClaim(store, key, claims, undefined, ttlMs, undefined);
      // A store that fails here leaves the claim pending; once its lease ends it reads as abandoned.
      await untilDeadline(o, next);
      throw err;
    }
    const claims = await lease.stop();
    let done: string;
    try {
      done = JSON.stringify({ state: 'done', fp: o.fingerprint, result: value });
    } catch {
      done = JSON.stringify({ state: 'done', fp: o.fingerprint, opaque: true });
    }
    // The operation succeeded: a store failure now must not turn that into an error.
    await untilDeadline(o, settleClaim(key, claims, done, o.takeOver ? undefined : PIN));
    return value;
  }

  async function settle<T>(
    o: LedgerRunOptions,
    fn: (stillOurs: ClaimCheck) => Promise<T>,
  ): Promise<LedgerResult<T>> {
    const key = prefix + o.key;
    for (;;) {
      if (o.signal?.aborted) throw cancelled(o.signal.reason, o.dependency);
      const owner = randomUUID();
      const sentAt = sentNow(clock, store);
      const claim = await storeCall(o, () => claimText(o, owner));
      const got = await claimWrite(
        o,
        () => store.setIfAbsent(key, claim, claimTtl(o), bounded(o, PIN)),
        () => store.compareAndDelete(key, claim),
      );
      if (got.written) return { value: await own(o, key, owner, claim, sentAt, fn), source: 'executed' };

      const record = parse(got.current);
      if (record === undefined)
        throw new PreviousOutcomeUnknownError(o.dependency, 'its ledger record is unreadable');
      if (record.fp !== o.fingerprint) throw new IdempotencyKeyReusedError(o.dependency);
      if (record.state === 'done') {
        if (record.opaque) throw new ReplayUnavailableError(o.dependency);
        return { value: record.result as T, source: 'replayed' };
      }
      if (record.state === 'unknown') throw new PreviousOutcomeUnknownError(o.dependency, record.reason);

      if (record.until <= (await storeCall(o, storeNow))) {
        // The owner did not report back within its lease: its process most likely died mid-operation.
        const verdict = o.takeOver ? ({ run: true } as const) : await judgeAbandoned(o.reconcile);
        if (verdict.run) {
          const takenBy = randomUUID();
          const takenAt = sentNow(clock, store);
          const taken = await storeCall(o, () => claimText(o, takenBy));
          const ok = await claimWrite(
            o,
            () => store.compareAndSet(key, got.current, taken, claimTtl(o), bounded(o, PIN)),
            () => store.compareAndSet(key, taken, got.current, claimTtl(o), PIN),
          );
          if (ok) return { value: await own(o, key, takenBy, taken, takenAt, fn), source: 'executed' };
          continue;
        }
        if (verdict.found) {
          let done: string | undefined;
          try {
            done = JSON.stringify({ state: 'done', fp: o.fingerprint, result: verdict.value });
          } catch {
            done = undefined;
          }
          if (done === undefined) return { value: verdict.value as T, source: 'reconciled' };
          if (await storeCall(o, () => store.compareAndSet(key, got.current, done, ttlMs, doneWrite(o))))
            return { value: verdict.value as T, source: 'reconciled' };
          continue;
        }
        const unknown = JSON.stringify({ state: 'unknown', fp: o.fingerprint, reason: verdict.reason });
        await storeCall(o, () => store.compareAndSet(key, got.current, unknown, ttlMs, bounded(o, PIN)));
        continue;
      }
      const now = clock.now();
      if (o.deadlineAt !== undefined && now >= o.deadlineAt)
        throw new OperationInFlightError(o.dependency, 'deadline');
      const wait = o.deadlineAt === undefined ? pollMs : Math.min(pollMs, o.deadlineAt - now);
      try {
        await sleep(clock, wait, o.signal);
      } catch {
        throw new OperationInFlightError(o.dependency, 'cancelled');
      }
      // Waited to the deadline for a twin: say so. Claiming again now would be a write with no time
      // left, which a networked store refuses, and the caller would hear "ledger unavailable" instead.
      if (o.deadlineAt !== undefined && clock.now() >= o.deadlineAt)
        throw new OperationInFlightError(o.dependency, 'deadline');
    }
  }

  return {
    async run<T>(o: LedgerRunOptions, fn: (stillOurs: ClaimCheck) => Promise<T>): Promise<LedgerResult<T>> {
      checkLease(o);
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
