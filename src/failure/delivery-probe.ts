import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

/**
 * Proof of `not_sent`. Node's fetch (undici) announces each request it creates
 * and the moment it writes that request's headers to a socket. A request that
 * was created but whose headers were never written provably never reached the
 * dependency, whatever error the SDK on top of it reports (the SDKs drop the
 * cause of a timeout, and `UND_ERR_SOCKET` means both "stale socket" and
 * "closed after reading the request").
 *
 * Requests are tied to the record of the code that made them through
 * AsyncLocalStorage: undici creates the request in the caller's async context.
 */
export interface DeliveryRecord {
  /** undici requests created in this scope. */
  requests: number;
  /** Of those, how many had their headers written to a socket. */
  written: number;
  readonly parent: DeliveryRecord | undefined;
  /** Called once, when the first request of this scope is written. */
  onWritten: (() => void) | undefined;
}

const scope = new AsyncLocalStorage<DeliveryRecord>();
const byRequest = new WeakMap<object, DeliveryRecord>();
let subscribed = false;

function requestOf(message: unknown): object | undefined {
  const r = (message as { request?: unknown } | null)?.request;
  return typeof r === 'object' && r !== null ? r : undefined;
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', (message) => {
    const record = scope.getStore();
    const request = requestOf(message);
    if (!record || !request) return;
    byRequest.set(request, record);
    for (let r: DeliveryRecord | undefined = record; r; r = r.parent) r.requests++;
  });
  diagnostics.subscribe('undici:client:sendHeaders', (message) => {
    const request = requestOf(message);
    const record = request ? byRequest.get(request) : undefined;
    for (let r = record; r; r = r.parent) {
      r.written++;
      if (r.written === 1 && r.onWritten) {
        const cb = r.onWritten;
        r.onWritten = undefined;
        cb();
      }
    }
  });
}

/** A record nested in the current one (if any), so an outer scope learns what inner fetches did. */
export function createDeliveryRecord(): DeliveryRecord {
  return { requests: 0, written: 0, parent: scope.getStore(), onWritten: undefined };
}

/** Runs `fn` so that every fetch it makes, however deep, is counted in `record`. */
export function withDeliveryRecord<T>(record: DeliveryRecord, fn: () => T): T {
  subscribe();
  return scope.run(record, fn);
}

/** `false` proves nothing was written; `true` means something may have been; undefined: not tracked. */
export function requestWritten(record: DeliveryRecord): boolean | undefined {
  return record.requests === 0 ? undefined : record.written > 0;
}

const DELIVERY = Symbol.for('breakwater.delivery');

/** Marks an error with what the probe saw, without changing its type (SDKs inspect it). */
export function annotateDelivery(err: unknown, written: boolean | undefined): void {
  if (written === undefined || typeof err !== 'object' || err === null) return;
  try {
    Object.defineProperty(err, DELIVERY, { value: written, configurable: true });
  } catch {
    // A frozen error keeps its secret; classification falls back to codes.
  }
}

/** What `annotateDelivery` recorded anywhere in the cause chain. */
export function deliveryAnnotation(err: unknown): boolean | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 16 && typeof e === 'object' && e !== null; depth++) {
    const v = (e as { [DELIVERY]?: unknown })[DELIVERY];
    if (typeof v === 'boolean') return v;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
