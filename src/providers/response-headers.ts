/**
 * The HTTP headers of a provider's answer, handed to `onHeaders` — on
 * success and on an HTTP error alike, because a 429's headers say the most
 * about the rate limit. The official SDKs hide the response behind the
 * parsed body; their `withResponse()` (the `openai` and
 * `@anthropic-ai/sdk` `APIPromise`) gives both, and their `APIError`
 * carries `headers`. A compatible client without `withResponse` is simply
 * awaited, and reports nothing.
 */

export type HeadersHook = (headers: Headers) => void;

interface WithResponse<T> {
  withResponse(): PromiseLike<{ data: T; response: { headers: unknown } }>;
}

function hasWithResponse<T>(call: PromiseLike<T>): call is PromiseLike<T> & WithResponse<T> {
  return typeof (call as { withResponse?: unknown }).withResponse === 'function';
}

/** SDKs give a WHATWG `Headers`; older ones a plain record, made into one here. */
function asHeaders(value: unknown): Headers | undefined {
  if (value instanceof Headers) return value;
  if (typeof value !== 'object' || value === null) return undefined;
  if (typeof (value as { get?: unknown }).get === 'function') {
    // A `Headers` from another realm or fetch polyfill: copy what it iterates.
    const it = (value as { entries?: unknown }).entries;
    if (typeof it !== 'function') return undefined;
    try {
      return new Headers([...(it.call(value) as Iterable<[string, string]>)]);
    } catch {
      return undefined;
    }
  }
  const h = new Headers();
  for (const [k, v] of Object.entries(value)) {
    try {
      if (typeof v === 'string') h.set(k, v);
      else if (typeof v === 'number') h.set(k, String(v));
    } catch {
      // A header name fetch would not accept: not one we read.
    }
  }
  return h;
}

/**
 * Hands `value` (a `Headers`, or a plain record as the AI SDK gives) to the
 * hook as `Headers`. The hook only observes: a bug in it must not fail or
 * alter the call.
 */
export function reportHeaders(onHeaders: HeadersHook, value: unknown): void {
  const headers = asHeaders(value);
  if (headers === undefined) return;
  try {
    onHeaders(headers);
  } catch {
    // Observational, like an event observer: swallowed.
  }
}

/** Awaits an SDK call, reporting its response headers (or its HTTP error's) to `onHeaders` when given. */
export async function callWithHeaders<T>(
  call: PromiseLike<T>,
  onHeaders: HeadersHook | undefined,
): Promise<T> {
  if (onHeaders === undefined) return await call;
  try {
    if (!hasWithResponse(call)) return await call;
    const { data, response } = await call.withResponse();
    reportHeaders(onHeaders, response.headers);
    return data;
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'headers' in err)
      reportHeaders(onHeaders, (err as { headers: unknown }).headers);
    throw err;
  }
}
