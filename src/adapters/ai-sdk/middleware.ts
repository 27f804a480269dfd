import type { Clock, Random } from '../../policy/clock.js';
import type { PolicyObserver } from '../../policy/events.js';
import { createPolicy, type Policy } from '../../policy/pipeline.js';
import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import { isSharedHealthSource } from '../../policy/shared.js';
import { truncatedStream } from '../../providers/failures.js';
import { either } from '../../providers/stream-attempt.js';
import type { StateStore } from '../../state/store.js';
import { aiSdkError, guardModelCall, streamPartError } from './failures.js';

export interface BreakwaterMiddlewareOptions {
  /** The policy around each model call. Default `llm`. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  /** A store that shares health across processes (`createRedisStore`) shares each model's breaker, cooldown and budget. */
  readonly store?: StateStore | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  readonly observer?: PolicyObserver | undefined;
  /**
   * The dependency's name (errors, telemetry, the shared-health key). Default:
   * `${model.provider}/${model.modelId}`, so one middleware given to several
   * models keeps a breaker for each.
   */
  readonly dependency?: string | undefined;
}

/** The call parameters, as far as the middleware touches them: it replaces the abort signal. */
interface CallParams {
  abortSignal?: AbortSignal | undefined;
}

/** The model under the middleware, called again with the attempt's signal on each attempt. */
interface InnerModel<P, R> {
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: P): PromiseLike<R>;
}

interface InnerStreamModel<P, S> {
  readonly provider: string;
  readonly modelId: string;
  doStream(options: P): PromiseLike<S>;
}

interface StreamResultLike {
  readonly stream: ReadableStream<{ readonly type: string; readonly error?: unknown }>;
}

/**
 * A language-model middleware for `wrapLanguageModel` (ai@6 and ai@7 both
 * take it): the breakwater policy around one model.
 */
export interface BreakwaterModelMiddleware {
  readonly specificationVersion: 'v3';
  readonly wrapGenerate: <P extends CallParams, R>(options: {
    doGenerate: () => PromiseLike<R>;
    params: P;
    model: InnerModel<P, R>;
  }) => Promise<R>;
  readonly wrapStream: <P extends CallParams, S extends StreamResultLike>(options: {
    doStream: () => PromiseLike<S>;
    params: P;
    model: InnerStreamModel<P, S>;
  }) => Promise<S>;
}

/**
 * Parts that are the answer itself: the first of them hands the stream over.
 * Everything before (`stream-start`, metadata, a text block opened, a
 * provider's `custom` notice) is held back, so that an error part after it is
 * still the attempt's failure and is retried.
 */
const SUBSTANCE = new Set([
  'text-delta',
  'reasoning-delta',
  'tool-input-start',
  'tool-input-delta',
  'tool-call',
  'tool-result',
  'tool-approval-request',
  'file',
  'reasoning-file',
  'source',
  'finish',
]);

type Part = StreamResultLike['stream'] extends ReadableStream<infer P> ? P : never;

/**
 * Reads a stream until its first part of substance, so that an error part or
 * a stream cut off before it fails the attempt (and is retried), and hands
 * on a stream that replays what was read and then the rest.
 */
async function opened(
  stream: ReadableStream<Part>,
  dependency: string,
  signal: AbortSignal,
): Promise<ReadableStream<Part>> {
  const reader = stream.getReader();
  const read: Part[] = [];
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Part>;
      try {
        next = await reader.read();
      } catch (err) {
        if (signal.aborted) throw err;
        throw aiSdkError(err, true, dependency);
      }
      if (next.done) throw truncatedStream(dependency);
      if (next.value.type === 'error') throw streamPartError(next.value.error, dependency);
      read.push(next.value);
      if (SUBSTANCE.has(next.value.type)) break;
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    throw err;
  }
  return new ReadableStream<Part>({
    async pull(controller) {
      const buffered = read.shift();
      if (buffered !== undefined) {
        controller.enqueue(buffered);
        return;
      }
      try {
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * The breakwater policy (timeout, retries with backoff and Retry-After,
 * breaker, 429 cooldown, retry budget) around a single AI SDK model:
 * `wrapLanguageModel({ model, middleware: breakwaterMiddleware({ profile: 'llm' }) })`.
 *
 * Each attempt calls the model again with the attempt's abort signal, so the
 * attempt timeout cancels the request. A stream is guarded until its first
 * part of substance (text, a tool call, `finish`): an HTTP error, an error
 * part or a cut before it is retried; after it the stream is the caller's,
 * and a break reaches the AI SDK as the provider reported it. The model's
 * `APICallError`s are classified (status, Retry-After, the provider's code)
 * and thrown as breakwater errors, which the AI SDK does not retry: the
 * policy is the one retry loop (`maxRetries: 0` says so explicitly).
 */
export function breakwaterMiddleware(options: BreakwaterMiddlewareOptions = {}): BreakwaterModelMiddleware {
  const policies = new Map<string, Policy>();
  const policyFor = (model: { readonly provider: string; readonly modelId: string }) => {
    const dependency = options.dependency ?? `${model.provider}/${model.modelId}`;
    let policy = policies.get(dependency);
    if (policy === undefined) {
      policy = createPolicy(options.profile ?? 'llm', {
        dependency,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.random ? { random: options.random } : {}),
        ...(options.observer ? { observer: options.observer } : {}),
        ...(isSharedHealthSource(options.store) ? { shared: options.store } : {}),
      });
      policies.set(dependency, policy);
    }
    return policy;
  };

  return {
    specificationVersion: 'v3',

    wrapGenerate: ({ params, model }) => {
      const policy = policyFor(model);
      return policy.run(
        (ctx) =>
          guardModelCall(policy.dependency, ctx.signal, () =>
            model.doGenerate({ ...params, abortSignal: ctx.signal }),
          ),
        { signal: params.abortSignal },
      );
    },

    wrapStream: <P extends CallParams, S extends StreamResultLike>({
      params,
      model,
    }: {
      params: P;
      model: InnerStreamModel<P, S>;
    }): Promise<S> => {
      const policy = policyFor(model);
      return policy.run(
        async (ctx) => {
          // The attempt's signal governs only until the stream is handed over; the caller's, throughout.
          const attempt = new AbortController();
          const onAbort = () => attempt.abort(ctx.signal.reason);
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          if (ctx.signal.aborted) onAbort();
          const signal = params.abortSignal ? either(params.abortSignal, attempt.signal) : attempt.signal;
          try {
            const result = await guardModelCall(policy.dependency, ctx.signal, () =>
              model.doStream({ ...params, abortSignal: signal }),
            );
            const stream = await opened(result.stream, policy.dependency, ctx.signal);
            // The same parts as the model's stream, in the same order: only who reads them first changed.
            return { ...result, stream: stream as S['stream'] };
          } catch (err) {
            attempt.abort(err);
            throw err;
          } finally {
            ctx.signal.removeEventListener('abort', onAbort);
          }
        },
        { signal: params.abortSignal },
      );
    },
  };
}
