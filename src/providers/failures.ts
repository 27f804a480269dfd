import { classify } from '../failure/classify.js';
import { createDeliveryRecord, requestWritten, withDeliveryRecord } from '../failure/delivery-probe.js';
import { type BreakwaterError, DependencyFailedError, isBreakwaterError } from '../failure/errors.js';
import type { Failure, FailureKind } from '../failure/failure.js';
import { providerCodeOf, refineFailure } from './provider-codes.js';

/**
 * What an error event inside a stream means. Both SDKs turn an SSE `error`
 * event (after HTTP 200) into an `APIError` without a status, so the HTTP
 * rules of `classify` cannot see it: the provider's error type is all there is.
 */
const STREAM_ERROR_TYPES: Record<string, { kind: FailureKind; delivery: Failure['delivery'] }> = {
  overloaded_error: { kind: 'overloaded', delivery: 'not_processed' },
  rate_limit_error: { kind: 'rate_limited', delivery: 'not_processed' },
  rate_limit_exceeded: { kind: 'rate_limited', delivery: 'not_processed' },
  invalid_request_error: { kind: 'client_error', delivery: 'processed' },
  authentication_error: { kind: 'auth', delivery: 'processed' },
  permission_error: { kind: 'auth', delivery: 'processed' },
  api_error: { kind: 'server_error', delivery: 'unknown' },
  server_error: { kind: 'server_error', delivery: 'unknown' },
};

/** The failure of an SSE error event, or undefined when `err` is not one. */
function streamEventFailure(err: unknown): Failure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; error?: unknown; type?: unknown };
  // Connection and abort errors also lack a status, but carry no error body.
  if (e.status !== undefined || typeof e.error !== 'object' || e.error === null) return undefined;
  const raw = typeof e.type === 'string' ? e.type : (e.error as { type?: unknown }).type;
  // Only a type from the known vocabulary is echoed into codes, messages and metrics.
  const type = typeof raw === 'string' && Object.hasOwn(STREAM_ERROR_TYPES, raw) ? raw : undefined;
  const known = (type && STREAM_ERROR_TYPES[type]) || {
    kind: 'server_error' as const,
    delivery: 'unknown' as const,
  };
  return {
    kind: known.kind,
    delivery: known.delivery,
    code: type ? `stream_${type}` : 'stream_error',
    message: `error event in the stream: ${type ?? 'an unknown type'}`,
    cause: err,
  };
}

/** Turns what an SDK threw into a breakwater error with a classified failure. */
export function providerError(
  err: unknown,
  written: boolean | undefined,
  dependency: string,
  nowMs = Date.now(),
): BreakwaterError {
  if (isBreakwaterError(err)) return err;
  const failure =
    streamEventFailure(err) ??
    (err instanceof SyntaxError
      ? {
          kind: 'server_error' as const,
          delivery: 'unknown' as const,
          code: 'malformed_stream',
          message: 'malformed data in the response stream',
          cause: err,
        }
      : httpFailure(err, written, nowMs));
  return new DependencyFailedError({ failure, dependency });
}

/** `classify`'s verdict on the status, refined by what the provider's error body says. */
function httpFailure(err: unknown, written: boolean | undefined, nowMs: number): Failure {
  const failure = classify(err, { requestWritten: written, nowMs });
  if (failure.status === undefined) return failure;
  return refineFailure(failure, providerCodeOf(err, failure.status));
}

/** A stream that ended without its closing event: cut off, so the answer is incomplete. */
export function truncatedStream(dependency: string): BreakwaterError {
  return new DependencyFailedError({
    failure: {
      kind: 'network',
      delivery: 'unknown',
      code: 'stream_truncated',
      message: 'the stream ended before the answer was complete',
      cause: undefined,
    },
    dependency,
  });
}

/** No chunk within `stream.idleMs` after the first: the stream stalled mid-answer. */
export function idleStream(dependency: string): BreakwaterError {
  return new DependencyFailedError({
    failure: {
      kind: 'timeout',
      delivery: 'unknown',
      code: 'stream_idle_timeout',
      message: 'no chunk within stream.idleMs: the stream stalled',
      cause: undefined,
    },
    dependency,
  });
}

/** An answer that is not what the API documents (a proxy's error page, say): worth another try. */
export function malformedResponse(dependency: string, what: string): BreakwaterError {
  return new DependencyFailedError({
    failure: {
      kind: 'server_error',
      delivery: 'unknown',
      code: 'malformed_response',
      message: `malformed response: ${what}`,
      cause: undefined,
    },
    dependency,
  });
}

/**
 * Runs one SDK call inside a delivery record, so that even an error whose
 * cause the SDK dropped (its timeout) can be proven `not_sent` when no
 * request headers were written. An abort through `signal` is passed through
 * untouched: the policy that aborted knows why better than the error does.
 */
export async function guardCall<T>(
  dependency: string,
  signal: AbortSignal | undefined,
  fn: () => PromiseLike<T>,
  /** How a failure becomes a breakwater error; another SDK (the AI SDK's) brings its own reading. */
  toError: (
    err: unknown,
    written: boolean | undefined,
    dependency: string,
  ) => BreakwaterError = providerError,
): Promise<T> {
  const record = createDeliveryRecord();
  try {
    return await withDeliveryRecord(record, async () => await fn());
  } catch (err) {
    if (signal?.aborted) throw err;
    throw toError(err, requestWritten(record), dependency);
  }
}
