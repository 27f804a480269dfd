import { type BreakwaterError, CancelledError, isBreakwaterError } from '../failure/errors.js';
import type { Clock } from '../policy/clock.js';
import { Assembler } from './assemble.js';
import { StreamInterruptedError } from './errors.js';
import { idleStream, providerError, truncatedStream } from './failures.js';
import type { OpenedStream } from './stream-attempt.js';
import type { ChatChunk, ChatResponse, Provider } from './types.js';

const CALLER = Symbol('caller');
const IDLE = Symbol('idle');

export interface ReadOptions {
  readonly provider: Provider;
  /** The routed call: settles once the policy has recorded how the stream ended. */
  readonly done: Promise<unknown>;
  /** The caller's signal. */
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  /** No chunk within this many ms of asking for the next: the request is aborted and the stream interrupted. */
  readonly idleMs?: number | undefined;
}

/**
 * Hands an opened stream's chunks to the caller and tells its attempt how it
 * ended: with its answer, broken (`StreamInterruptedError` holding what came,
 * or the caller's `CancelledError`; silent for `idleMs` counts as broken),
 * or left early by the caller (`break`),
 * which closes the request and is no fault of the provider's.
 */
export async function* readOpened(
  o: OpenedStream,
  { provider, done, signal, clock, idleMs }: ReadOptions,
): AsyncGenerator<ChatChunk, void, undefined> {
  const asm = new Assembler();
  const dependency = `${provider.name}/${provider.model}`;
  const onCallerAbort = () => o.controller.abort(CALLER);
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  let ended = false;
  /**
   * The next chunk, or the idle timeout. The timer runs only while we wait on
   * the provider: time the caller spends on a chunk is not the stream's silence.
   */
  const nextChunk = (): Promise<IteratorResult<ChatChunk, void>> => {
    if (idleMs === undefined) return o.iterator.next();
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        o.controller.abort(IDLE);
        // Not awaited: a provider that ignores the abort must not hold the stream open.
        void o.iterator.return?.().catch(() => undefined);
        reject(idleStream(dependency));
      }, idleMs);
      o.iterator.next().then(
        (r) => {
          clock.clearTimeout(timer);
          resolve(r);
        },
        (err: unknown) => {
          clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  };
  /** Ends the attempt as failed with `error`, and returns the policy's verdict on it. */
  const fail = async (error: unknown): Promise<BreakwaterError> => {
    ended = true;
    o.end({ ok: false, error });
    const verdict = await done.then(
      () => error,
      (e: unknown) => e,
    );
    return interrupted(verdict);
  };
  try {
    let next: IteratorResult<ChatChunk, void> = { done: false, value: o.first };
    let response: ChatResponse | undefined;
    while (!next.done) {
      asm.add(next.value);
      if (next.value.type === 'finish') response = next.value.response;
      yield next.value;
      try {
        next = await nextChunk();
      } catch (err) {
        throw await fail(err);
      }
    }
    if (response === undefined) throw await fail(truncatedStream(dependency));
    ended = true;
    o.end({ ok: true, value: response });
    await done;
  } finally {
    signal?.removeEventListener('abort', onCallerAbort);
    if (!ended) {
      o.controller.abort(CALLER);
      o.end({ ok: true, value: asm.response(provider.name, provider.model, 'other') });
      void o.iterator.return?.().catch(() => undefined);
      await done.catch(() => undefined);
    }
  }

  function interrupted(err: unknown): BreakwaterError {
    if (signal?.aborted) {
      return new CancelledError({
        failure: {
          kind: 'cancelled',
          delivery: 'processed',
          message: 'cancelled by the caller during the stream',
          cause: signal.reason,
        },
        dependency,
      });
    }
    const failure = (isBreakwaterError(err) ? err : providerError(err, true, dependency)).failure;
    return new StreamInterruptedError({
      failure,
      partial: asm.partial(),
      provider: provider.name,
      model: provider.model,
    });
  }
}
