import { type BreakwaterError, CancelledError, TimeoutError } from '../failure/errors.js';
import type { Clock } from '../policy/clock.js';

/**
 * Waits for a Standard Schema's answer no longer than the call may last: an
 * async check (a lookup in a valibot `checkAsync`) that never settles must
 * not hold the call past its deadline, nor after the caller cancels. Nothing
 * has run yet, so either end is a plain failure (`not_sent`), never unknown.
 */
export function validationBounded<T>(
  clock: Clock,
  deadlineAt: number | undefined,
  signal: AbortSignal | undefined,
  dependency: string,
  answer: Promise<T>,
): Promise<T> {
  if (deadlineAt === undefined && signal === undefined) return answer;
  return new Promise<T>((resolve, reject) => {
    let timer: unknown;
    const done = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const end = (err: BreakwaterError) => {
      done();
      reject(err);
    };
    const onAbort = () =>
      end(
        new CancelledError({
          failure: {
            kind: 'cancelled',
            delivery: 'not_sent',
            message: 'cancelled while validating the arguments',
            cause: signal?.reason,
          },
          dependency,
        }),
      );
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadlineAt !== undefined)
      timer = clock.setTimeout(
        () =>
          end(
            new TimeoutError({
              failure: {
                kind: 'timeout',
                delivery: 'not_sent',
                code: 'deadline',
                message: 'deadline reached while validating the arguments',
                cause: undefined,
              },
              dependency,
              scope: 'deadline',
            }),
          ),
        Math.max(0, deadlineAt - clock.now()),
      );
    answer.then(
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
