import type { Failure } from '../failure/failure.js';
import type { Clock } from './clock.js';

/** `reconcile`'s answer: the effect was found (its result ends the operation), or it was not. */
export type Reconciliation<T> = { readonly found: true; readonly value: T } | { readonly found: false };

/** Asked when a non-idempotent attempt may have taken effect. Its signal aborts at the deadline or the caller's abort. */
export type Reconcile<T> = (failure: Failure, signal: AbortSignal) => Promise<Reconciliation<T>>;

/** What the pipeline does with the answer. Only `not_found` lets a non-idempotent call run again. */
export type ReconcileVerdict<T> =
  | { readonly kind: 'found'; readonly value: T }
  | { readonly kind: 'not_found' }
  | {
      readonly kind: 'unknown';
      /** Why the answer settles nothing, for the error's message (no content: names and shapes only). */
      readonly reason: string;
      /** The caller aborted: the error is a cancel whose outcome is unknown. */
      readonly cancelled: boolean;
      readonly cause: unknown;
    };

export interface ReconcileBounds {
  readonly clock: Clock;
  /** The operation's deadline on `clock`; reconcile gets no time beyond it. */
  readonly deadlineAt: number | undefined;
  readonly signal: AbortSignal | undefined;
}

const unknown = <T>(reason: string, cancelled = false, cause: unknown = undefined): ReconcileVerdict<T> => ({
  kind: 'unknown',
  reason,
  cancelled,
  cause,
});

/**
 * Asks `reconcile` under the operation's deadline and the caller's abort,
 * with a signal of its own that aborts at either, so the operation ends by
 * its deadline even when the lookup hangs. Fails safe: anything but an
 * explicit `{ found: false }` (a throw, `{}`, `undefined`, a hang, an abort)
 * is an unknown outcome with the reason, never licence to run again.
 */
export function reconcileUnder<T>(
  reconcile: Reconcile<T>,
  failure: Failure,
  bounds: ReconcileBounds,
): Promise<ReconcileVerdict<T>> {
  const { clock, deadlineAt, signal } = bounds;
  if (signal?.aborted) return Promise.resolve(unknown('cancelled before reconcile could ask', true));
  const now = clock.now();
  if (deadlineAt !== undefined && now >= deadlineAt)
    return Promise.resolve(unknown('the deadline passed before reconcile could ask'));
  const own = new AbortController();
  return new Promise<ReconcileVerdict<T>>((resolve) => {
    let settled = false;
    const end = (verdict: ReconcileVerdict<T>, abortWith?: unknown): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (abortWith !== undefined) own.abort(abortWith);
      resolve(verdict);
    };
    const onAbort = (): void => end(unknown('cancelled while reconciling', true), signal?.reason);
    const timer =
      deadlineAt === undefined
        ? undefined
        : clock.setTimeout(
            () =>
              end(
                unknown('reconcile did not answer before the deadline'),
                new Error('deadline reached while reconciling'),
              ),
            deadlineAt - now,
          );
    signal?.addEventListener('abort', onAbort, { once: true });
    const threw = (err: unknown) => end(unknown(`reconcile threw ${describeThrown(err)}`, false, err));
    try {
      Promise.resolve(reconcile(failure, own.signal)).then((answer) => end(verdictOf<T>(answer)), threw);
    } catch (err) {
      threw(err);
    }
  });
}

/** Reads an answer defensively: it comes from user code, whatever its type says. */
function verdictOf<T>(answer: unknown): ReconcileVerdict<T> {
  if (typeof answer === 'object' && answer !== null) {
    const found = (answer as { found?: unknown }).found;
    if (found === true) return { kind: 'found', value: (answer as { value: T }).value };
    if (found === false) return { kind: 'not_found' };
  }
  const shape =
    answer === null ? 'null' : typeof answer === 'object' ? 'an object without found' : typeof answer;
  return unknown(`reconcile answered ${shape}, neither { found: true, value } nor { found: false }`);
}

/** The error's class and code, never its message (which may carry content). */
function describeThrown(err: unknown): string {
  if (!(err instanceof Error)) return `a ${typeof err}`;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.name} (${code})` : err.name;
}
