import {
  annotateDelivery,
  createDeliveryRecord,
  type DeliveryRecord,
  type DeliveryTrace,
  NEVER_DIALED,
  traceOf,
  withDeliveryRecord,
} from './delivery-probe.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface ClassifyingFetchOptions {
  /**
   * How long a request may wait for its headers to be written (DNS, TCP, TLS,
   * and a free socket). A dead host fails fast with a `not_sent` failure,
   * without shortening the time a slow but healthy answer may take.
   */
  readonly connectTimeoutMs?: number;
  /** The fetch underneath; must be Node's own (undici) for delivery to be proven. */
  readonly fetch?: FetchLike;
}

/** The connect phase took too long: nothing was written, so nothing was sent. */
export class ConnectTimeoutError extends Error {
  readonly code = 'BW_CONNECT_TIMEOUT';
  constructor(ms: number) {
    super(`connect timeout: request not written within ${ms} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

/**
 * A `fetch` whose failures carry proof of delivery. Give it to the `openai`
 * and `@anthropic-ai/sdk` clients (`new OpenAI({ fetch })`), or use it for
 * your own HTTP calls. Errors keep their type; `classify` reads the proof.
 */
export function createClassifyingFetch(options: ClassifyingFetchOptions = {}): FetchLike {
  const base: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const connectMs = options.connectTimeoutMs;
  if (connectMs !== undefined && (!Number.isFinite(connectMs) || connectMs <= 0)) {
    throw new RangeError(`connectTimeoutMs: expected a positive number of milliseconds, got ${connectMs}`);
  }
  return async (input, init) => {
    const record = createDeliveryRecord();
    let controller: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finalInit = init;
    if (connectMs !== undefined) {
      const ctrl = new AbortController();
      controller = ctrl;
      const outer = init?.signal;
      timer = setTimeout(() => {
        if (record.written === 0) ctrl.abort(new ConnectTimeoutError(connectMs));
      }, connectMs);
      timer.unref?.();
      record.onWritten = () => clearTimeout(timer);
      // The caller's signal must keep reaching the request after the headers arrive, while the body
      // streams in: a link removed once `fetch` resolves left a stalled stream impossible to abort.
      finalInit = { ...init, signal: outer ? AbortSignal.any([outer, ctrl.signal]) : ctrl.signal };
    }
    try {
      return await withDeliveryRecord(record, () => base(input, finalInit));
    } catch (err) {
      const reason = controller?.signal.reason;
      const thrown = reason instanceof ConnectTimeoutError && controller?.signal.aborted ? reason : err;
      annotateDelivery(thrown, evidence(record, err, input, finalInit));
      throw thrown;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  };
}

/**
 * Reasons Node's fetch gives for refusing a request before handing it to any
 * dispatcher: nothing was dialed. (Fixed strings of the fetch standard.)
 */
const BEFORE_DISPATCH = new Set([
  'bad port',
  'unknown scheme',
  'local URLs only',
  'about scheme is not supported',
  'invalid method',
]);

/**
 * What the failed fetch proves. With requests created, the probe's trace. With
 * none, only a failure that provably came before the dispatcher proves
 * anything: a request that cannot even be built (bad URL, invalid header or
 * method), or one fetch refuses to dial (a blocked port, an unknown scheme).
 * Any other failure without a request went through a dispatcher the probe
 * cannot see (a custom one), which proves nothing.
 */
function evidence(
  record: DeliveryRecord,
  err: unknown,
  input: string | URL | Request,
  init: RequestInit | undefined,
): DeliveryTrace | undefined {
  if (record.requests > 0) return traceOf(record);
  const reason =
    err instanceof TypeError ? (err.cause as { message?: unknown } | undefined)?.message : undefined;
  if (typeof reason === 'string' && BEFORE_DISPATCH.has(reason)) return NEVER_DIALED;
  // Rebuilt from its URL, method and headers only: a body stream the failed fetch locked must not read as proof.
  const req = input instanceof Request ? input : undefined;
  try {
    new Request(req ? req.url : input, {
      method: init?.method ?? req?.method ?? 'GET',
      headers: init?.headers ?? req?.headers,
    });
  } catch {
    return NEVER_DIALED;
  }
  return undefined;
}
