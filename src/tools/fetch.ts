import { createClassifyingFetch, type FetchLike } from '../failure/classifying-fetch.js';
import { annotateDelivery, NEVER_DIALED } from '../failure/delivery-probe.js';

export interface ToolFetchOptions {
  /** Every request is bound to it: when the attempt ends, the request is aborted. */
  readonly signal?: AbortSignal | undefined;
  /** Sent as the idempotency header on every request that does not set its own. */
  readonly idempotencyKey?: string | undefined;
  /** Default: `Idempotency-Key`, as Stripe, Adyen and the IETF draft spell it. */
  readonly idempotencyHeader?: string | undefined;
  /** DNS + TCP + TLS + a free socket; a dead host then fails fast and provably unsent. */
  readonly connectTimeoutMs?: number | undefined;
  /** The fetch underneath; Node's own by default (needed for delivery to be proven). */
  readonly fetch?: FetchLike | undefined;
}

const ERROR_BODY_LIMIT = 16 * 1024;

/**
 * A non-2xx answer. It carries `status` and `headers` where `classify` looks
 * for them, so a 429's Retry-After and a 500's ambiguity drive the retry
 * decision. The message names only the method, origin and status: paths and
 * bodies may hold personal data. The body (first 16 KiB) is kept, not
 * enumerable, for code that wants the dependency's own explanation.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  declare readonly body: string | undefined;

  constructor(response: Response, method: string, body: string | undefined) {
    let origin = '';
    try {
      origin = ` from ${new URL(response.url).origin}`;
    } catch {
      // A Response built by hand has no URL.
    }
    super(`HTTP ${response.status} on ${method}${origin}`);
    this.name = 'HttpError';
    this.status = response.status;
    this.statusText = response.statusText;
    this.headers = response.headers;
    Object.defineProperty(this, 'body', { value: body, enumerable: false });
  }
}

async function readSome(response: Response): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut off by a reset still leaves the status to classify by.
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT));
}

/** The request's headers plus the key. An invalid header fails here, before anything is dialed: provably not sent. */
function buildHeaders(
  input: string | URL | Request,
  init: RequestInit | undefined,
  header: string,
  key: string | undefined,
): Headers {
  try {
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    if (init?.headers) for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    if (key !== undefined && !headers.has(header)) headers.set(header, key);
    return headers;
  } catch (err) {
    annotateDelivery(err, NEVER_DIALED);
    throw err;
  }
}

function combine(a: AbortSignal | undefined, b: AbortSignal | null | undefined): AbortSignal | undefined {
  if (!a) return b ?? undefined;
  if (!b || a === b) return a;
  return AbortSignal.any([a, b]);
}

/**
 * `fetch` for tools: bound to the operation's signal, sending its idempotency
 * key, classifying precisely (connect-phase failures provably `not_sent`,
 * anything after the request was written `unknown`), and throwing
 * `HttpError` on a non-2xx answer. This is `ctx.fetch` inside a tool.
 */
export function createToolFetch(options: ToolFetchOptions = {}): FetchLike {
  const base = createClassifyingFetch({
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  });
  const header = options.idempotencyHeader ?? 'Idempotency-Key';
  return async (input, init) => {
    const headers = buildHeaders(input, init, header, options.idempotencyKey);
    const signal = combine(
      options.signal,
      init?.signal ?? (input instanceof Request ? input.signal : undefined),
    );
    const response = await base(input, { ...init, headers, ...(signal ? { signal } : {}) });
    if (response.ok) return response;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    throw new HttpError(response, method, await readSome(response));
  };
}
