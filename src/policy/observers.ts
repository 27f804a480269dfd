import type { AttemptInfo, AttemptOutcome, OperationInfo, PolicyEvent, PolicyObserver } from './events.js';

/** Observers that have already been reported as failing: each is named once, not once per call. */
const reported = new WeakSet<object>();

/**
 * An observer watches; it never decides. One that throws is reported once, by
 * name, as a process warning, and the call goes on as if it were not there:
 * the outcome, the gate's slot, the breaker and the budget are the pipeline's
 * alone (a throw on a breaker transition used to leak the gate slot for good).
 */
export function reportObserverFailure(observer: object, name: string | undefined, err: unknown): void {
  if (reported.has(observer)) return;
  reported.add(observer);
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.emitWarning(
    `observer "${name ?? 'anonymous'}" threw (${why}); its failures are ignored and not reported again`,
    { code: 'BREAKWATER_OBSERVER_FAILED' },
  );
}

/**
 * Any number of observers side by side (telemetry and the user's own), added
 * and removed while the policy runs. Wrappers nest in the order added: the
 * first is outermost, so its span is the parent of the next one's.
 *
 * With none, `hasOperation`, `hasAttempt` and `hasEvent` are false and the
 * pipeline skips them: the happy path pays nothing for the feature.
 */
export class Observers {
  hasOperation = false;
  hasAttempt = false;
  hasEvent = false;
  private list: readonly PolicyObserver[] = [];

  constructor(initial: readonly (PolicyObserver | undefined)[] = []) {
    for (const o of initial) if (o) this.add(o);
  }

  /** Adds an observer; the returned function removes it (again: a no-op). */
  add(observer: PolicyObserver): () => void {
    this.list = [...this.list, observer];
    this.refresh();
    return () => {
      this.list = this.list.filter((o) => o !== observer);
      this.refresh();
    };
  }

  get size(): number {
    return this.list.length;
  }

  event(e: PolicyEvent): void {
    for (const o of this.list) {
      if (o.event === undefined) continue;
      try {
        o.event(e);
      } catch (err) {
        reportObserverFailure(o, o.name, err);
      }
    }
  }

  operation<T>(info: OperationInfo, run: () => Promise<T>): Promise<T> {
    return this.nest(run, (o) => (o.operation ? (r: () => Promise<T>) => o.operation!(info, r) : undefined));
  }

  attempt<T>(info: AttemptInfo, run: () => Promise<AttemptOutcome<T>>): Promise<AttemptOutcome<T>> {
    return this.nest(run, (o) =>
      o.attempt ? (r: () => Promise<AttemptOutcome<T>>) => o.attempt!(info, r) : undefined,
    );
  }

  /** Wraps `run` in each observer's wrapper, the first added outermost, each one isolated. */
  private nest<R>(
    run: () => Promise<R>,
    wrapperOf: (o: PolicyObserver) => ((run: () => Promise<R>) => Promise<R>) | undefined,
  ): Promise<R> {
    let inner = run;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const o = this.list[i]!;
      const wrap = wrapperOf(o);
      if (wrap === undefined) continue;
      const next = inner;
      inner = () => isolated(o, wrap, next);
    }
    return inner();
  }

  private refresh(): void {
    this.hasOperation = this.list.some((o) => o.operation !== undefined);
    this.hasAttempt = this.list.some((o) => o.attempt !== undefined);
    this.hasEvent = this.list.some((o) => o.event !== undefined);
  }
}

/**
 * Runs `run` through one observer's wrapper so that whatever the wrapper does
 * (throw before calling it, never call it, call it twice, reject with its own
 * error, resolve with another value), `run` runs exactly once and its own
 * result is what the pipeline gets.
 */
function isolated<T>(
  observer: PolicyObserver,
  wrap: (run: () => Promise<T>) => Promise<T>,
  run: () => Promise<T>,
): Promise<T> {
  let result: Promise<T> | undefined;
  let failedWith: { error: unknown } | undefined;
  const once = (): Promise<T> => {
    if (result === undefined) {
      result = run();
      result.catch((error: unknown) => {
        failedWith = { error };
      });
    }
    return result;
  };
  let wrapped: Promise<T>;
  try {
    wrapped = wrap(once);
  } catch (err) {
    reportObserverFailure(observer, observer.name, err);
    return once();
  }
  return Promise.resolve(wrapped).then(
    () => {
      if (result === undefined)
        reportObserverFailure(observer, observer.name, new Error('the wrapper never called run'));
      return once();
    },
    (err: unknown) => {
      // The wrapper passing on run's own rejection is the contract; anything else is the observer failing.
      if (failedWith === undefined || failedWith.error !== err)
        reportObserverFailure(observer, observer.name, err);
      return once();
    },
  );
}
