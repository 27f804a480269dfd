import { classifyHttp } from '../../failure/classify.js';
import { type BreakwaterError, DependencyFailedError, isBreakwaterError } from '../../failure/errors.js';
import { guardCall, providerError } from '../../providers/failures.js';
import { providerCodeOf, refineFailure } from '../../providers/provider-codes.js';

/**
 * The fields of the AI SDK's `APICallError` (every provider package throws
 * it for an HTTP error) that say what happened. Read by shape, not by class:
 * the class lives in `@ai-sdk/provider`, of which an application may hold
 * two majors at once.
 */
interface ApiCallErrorShape {
  readonly statusCode: number;
  readonly responseHeaders?: unknown;
  readonly responseBody?: unknown;
  /** The parsed error body: OpenAI's `{ error: { type, code } }`, Anthropic's `{ type: 'error', error: { type } }`. */
  readonly data?: unknown;
}

function apiCallError(err: unknown): ApiCallErrorShape | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 100 && s <= 599 ? (err as ApiCallErrorShape) : undefined;
}

/** The error body, parsed by the provider package, or by us from its text when it could not. */
function errorBody(e: ApiCallErrorShape): unknown {
  if (e.data !== undefined) return e.data;
  if (typeof e.responseBody !== 'string' || e.responseBody.length > 64_000) return undefined;
  try {
    return JSON.parse(e.responseBody);
  } catch {
    return undefined;
  }
}

/**
 * What an AI SDK model threw, as a breakwater error with a classified
 * failure. An `APICallError` is classified by its status and headers as the
 * OpenAI and Anthropic providers classify theirs (429 with Retry-After,
 * 529 overloaded, 5xx unknown delivery), then refined by the provider's own
 * error code in its body (a billing 429 is a refusal, a context overflow is
 * no caller error). Its `isRetryable` is not consulted: it is derived from
 * the same status, and the status says more. Anything else (a connection
 * refused, a timeout) goes through the same classification as the SDK
 * providers' errors, with the delivery the probe saw.
 */
export function aiSdkError(
  err: unknown,
  written: boolean | undefined,
  dependency: string,
  nowMs = Date.now(),
): BreakwaterError {
  if (isBreakwaterError(err)) return err;
  const api = apiCallError(err);
  if (api === undefined) return providerError(err, written, dependency, nowMs);
  const failure = classifyHttp(api.statusCode, api.responseHeaders, err, nowMs);
  const refined = refineFailure(failure, providerCodeOf({ error: errorBody(api) }, api.statusCode));
  return new DependencyFailedError({ failure: refined, dependency });
}

/**
 * An `error` part inside a model's stream. Provider packages put the error
 * event's body there after HTTP 200 (`{ type: 'overloaded_error', … }`; the
 * v4 packages add a `statusCode` they derived from that type), or an `Error`
 * when reading the stream failed. The body's type says more than a derived
 * status, so it is read as the SDK clients' stream errors are.
 */
export function streamPartError(error: unknown, dependency: string): BreakwaterError {
  if (error instanceof Error) return aiSdkError(error, true, dependency);
  // Shaped like the SDK clients' stream errors, so that their vocabulary of error types applies.
  return providerError({ error }, true, dependency);
}

/**
 * Runs one model call inside a delivery record (`guardCall`, read the AI
 * SDK's way), so that a failure before any request was written is proven
 * `not_sent`. An abort through `signal` is passed through untouched.
 */
export function guardModelCall<T>(
  dependency: string,
  signal: AbortSignal | undefined,
  fn: () => PromiseLike<T>,
): Promise<T> {
  return guardCall(dependency, signal, fn, aiSdkError);
}
