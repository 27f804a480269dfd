import { type BreakwaterError, CancelledError, isBreakwaterError } from '../failure/errors.js';
import type { Clock, TimerHandle } from '../policy/clock.js';
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
  // Before the reader ends the attempt, `done` settles only when the policy gave up on it (the
  // deadline): one listener for the whole stream, handed to whichever `next()` is waiting.
  let gaveUp: { readonly error: unknown } | undefined;
  let waiting: ((err: unknown) => void) | undefined;
  done.then(
    () => {
      gaveUp = { error: truncatedStream(dependency) };
      waiting?.(gaveUp.error);
    },
    (error: unknown) => {
      gaveUp = { error };
      waiting?.(error);
    },
  );
  /**
   * The next chunk, or the idle timeout. The timer runs only while we wait on
   * the provider: time the caller spends on a chunk is not the stream's silence.
   * The caller's abort and the routed call ending (its deadline passed) also end
   * the wait without the provider: one that ignores its signal must not hold the
   * caller's `next()` past either, as a chat's policy does not.
   */
  const nextChunk = (): Promise<IteratorResult<ChatChunk, void>> =>
    new Promise<IteratorResult<ChatChunk, void>>((resolve, reject) => {
      let settled = false;
      let timer: TimerHandle | undefined;
      const stop = (err: unknown, close: boolean) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (close) {
          o.controller.abort(CALLER);
          // Not awaited: a provider that ignores the abort must not hold the stream open.
          void o.iterator.return?.().catch(() => undefined);
        }
        reject(err);
      };
      const onAbort = () => stop(signal?.reason, true);
      if (signal?.aborted) return stop(signal.reason, true);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (gaveUp !== undefined) return stop(gaveUp.error, true);
      waiting = (err) => stop(err, true);
      if (idleMs !== undefined)
        timer = clock.setTimeout(() => {
          o.controller.abort(IDLE);
          stop(idleStream(dependency), true);
        }, idleMs);
      o.iterator.next().then(
        (r) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err: unknown) => stop(err, false),
      );
    }).finally(() => {
      waiting = undefined;
    });
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
