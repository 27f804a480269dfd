import { createDeliveryRecord, type DeliveryTrace, traceOf, withDeliveryRecord } from './delivery-probe.js';

/** What an attempt's delivery record held when it failed, kept with its error for `classify`. */
export interface AttemptMark {
  readonly trace: DeliveryTrace;
  readonly strict: boolean;
}

// A WeakMap rather than a property: a frozen error, or one an SDK inspects, is left as it is. The mark is
// read as soon as the attempt's rejection reaches the policy, in the same turn of the event loop. One error
// object can reject several attempts in that turn (a pool, a memoized token fetch, any shared promise): their
// marks are merged, so that no attempt lends its "nothing reached" to one whose requests did reach. A mark
// from an earlier turn has been read already and is replaced.
const marks = new WeakMap<object, AttemptMark & { readonly turn: number }>();

let turn = 0;
let turnEnding = false;

/** The current turn of the event loop; it ends with the next `setImmediate`. */
function currentTurn(): number {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(() => {
      turn++;
      turnEnding = false;
    }).unref();
  }
  return turn;
}

function merged(a: DeliveryTrace, b: DeliveryTrace): DeliveryTrace {
  return {
    requests: a.requests + b.requests,
    reached: a.reached + b.reached,
    statuses: [...a.statuses, ...b.statuses],
  };
}

function mark(err: unknown, trace: DeliveryTrace, strict: boolean): void {
  if (!((typeof err === 'object' && err !== null) || typeof err === 'function')) return;
  const now = currentTurn();
  const earlier = marks.get(err as object);
  if (earlier !== undefined && earlier.turn === now) {
    marks.set(err as object, {
      trace: merged(earlier.trace, trace),
      strict: earlier.strict || strict,
      turn: now,
    });
  } else marks.set(err as object, { trace, strict, turn: now });
}

/** The mark `proveDelivery` left on an error, if any. */
export function attemptMark(err: unknown): AttemptMark | undefined {
  return (typeof err === 'object' && err !== null) || typeof err === 'function'
    ? marks.get(err as object)
    : undefined;
}

export interface ProveDeliveryOptions {
  /**
   * The operation is non-idempotent: an error code from a client breakwater
   * does not watch is then no proof of `not_sent`.
   */
  readonly strict: boolean;
}

/**
 * Wraps one attempt's function so that it runs inside its own delivery record:
 * every request Node's fetch makes during the attempt, however deep, is
 * counted, and a failure is classified against all of them. The attempt is
 * `not_sent` only if none of its requests may have reached a server.
 */
export function proveDelivery<A, T>(
  fn: (arg: A) => Promise<T> | T,
  options: ProveDeliveryOptions,
): (arg: A) => Promise<T> | T {
  const strict = options.strict;
  return (arg) => {
    const record = createDeliveryRecord();
    let result: Promise<T> | T;
    try {
      result = withDeliveryRecord(record, () => fn(arg));
    } catch (err) {
      mark(err, traceOf(record), strict);
      throw err;
    }
    if (!(result instanceof Promise)) return result;
    return result.then(undefined, (err: unknown) => {
      mark(err, traceOf(record), strict);
      throw err;
    });
  };
}
