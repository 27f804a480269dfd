import { DependencyFailedError } from '../failure/errors.js';
import type { Clock } from '../policy/clock.js';
import type { AttemptContext } from '../policy/pipeline.js';
import { truncatedStream } from './failures.js';
import type { ChatChunk, ChatRequest, ChatResponse, Provider } from './types.js';

/** How the reader says a stream ended: with its answer, or broken. */
export type StreamEnd =
  | { readonly ok: true; readonly value: ChatResponse }
  | { readonly ok: false; readonly error: unknown };

/** A provider's stream that has delivered its first chunk, handed from the attempt to the reader. */
export interface OpenedStream {
  readonly first: ChatChunk;
  readonly iterator: AsyncIterator<ChatChunk, void, undefined>;
  /** Aborts the provider's request: the reader stopped. */
  readonly controller: AbortController;
  /** Ends the policy attempt, so that the breaker, the metrics and the spans see how the stream ended. */
  end(outcome: StreamEnd): void;
}

/** Aborts when either does. `AbortSignal.any` is missing before Node 20.3. */
export function either(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  const onA = () => c.abort(a.reason);
  const onB = () => c.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener('abort', onA, { once: true });
    b.addEventListener('abort', onB, { once: true });
  }
  return c.signal;
}

export interface StreamAttemptOptions {
  readonly provider: Provider;
  readonly request: ChatRequest;
  readonly ctx: AttemptContext;
  readonly clock: Clock;
  /** The SDK's own timeout, a safety net behind the policy's. */
  readonly timeoutMs: number | undefined;
  /** When this provider's share of the deadline ends: no first chunk by then, and the next provider is tried. */
  readonly firstChunkBy: number | undefined;
  /** No first chunk within this many ms of the request: a timeout (the router's `stream.firstChunkMs`). */
  readonly firstChunkMs?: number | undefined;
  /** Called once, with the first chunk. */
  readonly onOpen: (opened: OpenedStream) => void;
}

const SHARE_SPENT = Symbol('share-spent');

/** No first chunk within this provider's share of the deadline, or within `firstChunkMs`. */
function firstChunkTimeout(dependency: string, why: 'share' | 'firstChunkMs'): DependencyFailedError {
  return new DependencyFailedError({
    failure: {
      kind: 'timeout',
      delivery: 'unknown',
      code: 'first_chunk_timeout',
      message:
        why === 'share'
          ? "no first chunk within this provider's share of the deadline"
          : 'no first chunk within stream.firstChunkMs',
      cause: undefined,
    },
    dependency,
  });
}

/**
 * One policy attempt that lasts as long as the stream: it opens the
 * provider's stream, hands it to the reader at the first chunk, and settles
 * when the reader says how the stream ended. So a stream that breaks after
 * its first chunk is one failed attempt (for the breaker, in process or
 * shared, and for the metrics and spans), not a success and then a failure,
 * and the policy's deadline (the provider's own `totalMs` too) bounds the
 * whole stream. Waiting for the first chunk is bounded by the provider's share
 * and by `firstChunkMs`.
 */
export async function streamAttempt(o: StreamAttemptOptions): Promise<ChatResponse> {
  const dependency = `${o.provider.name}/${o.provider.model}`;
  const controller = new AbortController();
  const signal = either(o.ctx.signal, controller.signal);
  let timer: unknown;
  let timedOut: (() => void) | undefined;
  // Whichever ends first: the share of the deadline, or the first-chunk timeout.
  const byLimit = o.firstChunkMs === undefined ? undefined : o.clock.now() + o.firstChunkMs;
  const by =
    o.firstChunkBy === undefined
      ? byLimit
      : byLimit === undefined
        ? o.firstChunkBy
        : Math.min(byLimit, o.firstChunkBy);
  const why = by !== undefined && by === byLimit ? 'firstChunkMs' : 'share';
  const shareSpent = new Promise<never>((_, reject) => {
    timedOut = () => reject(firstChunkTimeout(dependency, why));
  });
  shareSpent.catch(() => undefined);
  if (by !== undefined) {
    timer = o.clock.setTimeout(
      () => {
        controller.abort(SHARE_SPENT);
        timedOut?.();
      },
      Math.max(0, by - o.clock.now()),
    );
  }
  const iterator = o.provider.stream(o.request, { signal, timeoutMs: o.timeoutMs })[Symbol.asyncIterator]();
  let first: IteratorResult<ChatChunk, void>;
  try {
    first = await Promise.race([iterator.next(), shareSpent]);
  } catch (err) {
    if (controller.signal.reason === SHARE_SPENT) {
      // Not awaited: a provider that ignores the abort must not hold the failover.
      void iterator.return?.().catch(() => undefined);
      throw firstChunkTimeout(dependency, why);
    }
    throw err;
  } finally {
    if (timer !== undefined) o.clock.clearTimeout(timer);
  }
  if (first.done) throw truncatedStream(dependency);
  return new Promise<ChatResponse>((resolve, reject) => {
    o.onOpen({
      first: first.value,
      iterator,
      controller,
      end: (outcome) => (outcome.ok ? resolve(outcome.value) : reject(outcome.error)),
    });
  });
}
