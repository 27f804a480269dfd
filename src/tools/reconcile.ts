import type { LedgerReconciliation } from '../idempotency/ledger.js';
import type { Clock } from '../policy/clock.js';

/**
 * Runs a reconcile hook until the operation's deadline or the caller's
 * cancel, whichever comes first, with a signal of its own that aborts then:
 * a lookup that hangs must not hold the call forever, with or without a
 * deadline. Ending early leaves the outcome unknown, which is the truth.
 */
export function reconcileBounded<T>(
  clock: Clock,
  deadlineAt: number | undefined,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctrl = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let timer: unknown;
    const end = (err: Error) => {
      ctrl.abort(err);
      reject(err);
    };
    const onAbort = () => end(new Error('reconcile was cancelled by the caller before it answered'));
    if (outer?.aborted) {
      onAbort();
      return;
    }
    outer?.addEventListener('abort', onAbort, { once: true });
    if (deadlineAt !== undefined)
      timer = clock.setTimeout(
        () => end(new Error('reconcile did not answer before the deadline')),
        Math.max(0, deadlineAt - clock.now()),
      );
    Promise.resolve()
      .then(() => fn(ctrl.signal))
      .then(resolve, reject)
      .finally(() => {
        if (timer !== undefined) clock.clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
      });
  });
}

/**
 * What a reconcile hook answered, checked: only `{ found: false }` says it
 * did not happen; `{ found: true, value }` carries its value (checked against
 * the output schema where it ends the call). Anything else — the value
 * itself, `{}`, `undefined` — throws, which leaves the outcome unknown.
 */
export function checkedAnswer(tool: string, answer: unknown): LedgerReconciliation<unknown> {
  const a = answer as { found?: unknown; value?: unknown } | null | undefined;
  if (a !== null && typeof a === 'object') {
    if (a.found === false) return { found: false };
    if (a.found === true && 'value' in a) return { found: true, value: a.value };
  }
  const got = a === null ? 'null' : typeof a === 'object' ? 'an object without them' : typeof a;
  throw new TypeError(
    `reconcile of "${tool}": expected { found: true, value } or { found: false }, got ${got}`,
  );
}
