import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

/**
 * Proof of `not_sent`. Node's fetch (undici) announces each request it creates,
 * the moment it writes an HTTP/1 request's headers to a socket, each answer and
 * each error. A request that was created but never written provably never
 * reached the dependency, whatever error the SDK on top of it reports (the SDKs
 * drop the cause of a timeout, and `UND_ERR_SOCKET` means both "stale socket"
 * and "closed after reading the request").
 *
 * HTTP/2 gives no such proof: undici writes an HTTP/2 stream without announcing
 * it. A request to an origin that has an HTTP/2 connection therefore counts as
 * reached unless it failed while connecting.
 *
 * Requests are tied to the record of the code that made them through
 * AsyncLocalStorage: undici creates the request in the caller's async context.
 * Records nest (an attempt holds the fetches it made), and every record on the
 * chain learns what each request did.
 */
export interface DeliveryRecord {
  /** undici requests created in this scope. */
  requests: number;
  /** Of those, how many had their headers written to a socket, or were answered. */
  written: number;
  readonly parent: DeliveryRecord | undefined;
  /** Called once, when the first request of this scope is written. */
  onWritten: (() => void) | undefined;
  /** The first requests of this scope, for the verdict; `requests` beyond them count as reached. */
  readonly tracked: RequestState[];
}

/** What one undici request did, as far as the probe saw. */
interface RequestState {
  readonly origin: string;
  /** `created`: nothing seen yet; `refused`: failed while connecting, provably never written. */
  state: 'created' | 'written' | 'refused';
  /** The HTTP status it was answered with, if any. */
  status: number | undefined;
  readonly records: DeliveryRecord[];
}

/** What a scope's requests did: the facts a verdict on delivery is drawn from. */
export interface DeliveryTrace {
  /** Requests created (by Node's fetch) in the scope. */
  readonly requests: number;
  /**
   * Of those, how many may have reached a server: headers written, an answer
   * received, or sent over a protocol that gives no proof (HTTP/2).
   */
  readonly reached: number;
  /** The HTTP statuses the requests were answered with (the first few). */
  readonly statuses: readonly number[];
}

/** Past this many requests in one scope, the rest count as reached: the record stays small. */
const TRACKED_MAX = 32;
/** Origins seen with an HTTP/2 connection; the oldest are forgotten past this many. */
const H2_ORIGINS_MAX = 1024;

const scope = new AsyncLocalStorage<DeliveryRecord>();
const byRequest = new WeakMap<object, RequestState>();
const h2Origins = new Map<string, true>();
let subscribed = false;

function requestOf(message: unknown): object | undefined {
  const r = (message as { request?: unknown } | null)?.request;
  return typeof r === 'object' && r !== null ? r : undefined;
}

function originOf(request: object): string {
  const o = (request as { origin?: unknown }).origin;
  if (typeof o === 'string') return o;
  if (o instanceof URL) return o.origin;
  return '';
}

/**
 * Errors raised while connecting: the request waited for a socket that never
 * came, so it was never written, over HTTP/1 or HTTP/2 alike.
 */
function isConnectError(err: unknown): boolean {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  if (e.syscall === 'connect' || e.syscall === 'getaddrinfo') return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'CERT_HAS_EXPIRED'
  );
}

function markWritten(req: RequestState): void {
  if (req.state === 'written') return;
  req.state = 'written';
  for (const r of req.records) {
    r.written++;
    if (r.written === 1 && r.onWritten) {
      const cb = r.onWritten;
      r.onWritten = undefined;
      cb();
    }
  }
}

/** Counts a new request in the current scope's record and every record above it. */
function track(request: object, origin: string): RequestState | undefined {
  const record = scope.getStore();
  if (!record) return undefined;
  const records: DeliveryRecord[] = [];
  for (let r: DeliveryRecord | undefined = record; r; r = r.parent) records.push(r);
  const req: RequestState = { origin, state: 'created', status: undefined, records };
  byRequest.set(request, req);
  for (const r of records) {
    r.requests++;
    if (r.tracked.length < TRACKED_MAX) r.tracked.push(req);
  }
  return req;
}

/**
 * A node:http request may have been written once its socket is connected: a
 * reused keep-alive socket at once, a new one at its `connect`. One that never
 * got a connected socket (refused, unresolvable) wrote nothing.
 */
function watchHttpRequest(request: object, req: RequestState): void {
  type Socket = { connecting?: unknown; once?: unknown };
  const emitter = request as { socket?: Socket | null; once?: unknown };
  const onSocket = (socket: Socket) => {
    if (socket.connecting === true && typeof socket.once === 'function')
      (socket.once as (event: 'connect', fn: () => void) => unknown).call(socket, 'connect', () =>
        markWritten(req),
      );
    else markWritten(req);
  };
  // Node hands a request its socket on a later tick; one that already has it, or that cannot say, counts as written.
  if (emitter.socket) onSocket(emitter.socket);
  else if (typeof emitter.once === 'function')
    (emitter.once as (event: 'socket', fn: (socket: Socket) => void) => unknown).call(
      request,
      'socket',
      onSocket,
    );
  else markWritten(req);
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', (message) => {
    const request = requestOf(message);
    if (request) track(request, originOf(request));
  });
  // Clients built on node:http (axios, got, stripe-node, the AWS SDK) write through sockets undici never sees:
  // a charge they made must leave the attempt unknown when a later fetch of the same attempt is refused.
  diagnostics.subscribe('http.client.request.start', (message) => {
    const request = requestOf(message);
    // No origin: the HTTP/2 rule below is undici's alone.
    const req = request ? track(request, '') : undefined;
    if (request && req) watchHttpRequest(request, req);
  });
  /** The request went out: its headers or body were written, or an answer came back (which proves both). */
  const written = (message: unknown): void => {
    const request = requestOf(message);
    const req = request ? byRequest.get(request) : undefined;
    if (!req) return;
    const status = (message as { response?: { statusCode?: unknown } }).response?.statusCode;
    if (typeof status === 'number') req.status = status;
    markWritten(req);
  };
  diagnostics.subscribe('http.client.response.finish', written);
  diagnostics.subscribe('undici:client:sendHeaders', written);
  // An HTTP/2 request is never announced as written; that it was sent shows only in what follows.
  diagnostics.subscribe('undici:request:bodySent', written);
  diagnostics.subscribe('undici:request:headers', written);
  diagnostics.subscribe('undici:request:error', (message) => {
    const request = requestOf(message);
    const req = request ? byRequest.get(request) : undefined;
    if (req && req.state === 'created' && isConnectError((message as { error?: unknown }).error))
      req.state = 'refused';
  });
  diagnostics.subscribe('undici:client:connected', (message) => {
    const m = message as {
      connectParams?: { protocol?: unknown; host?: unknown; version?: unknown };
      socket?: { alpnProtocol?: unknown };
    };
    const p = m.connectParams;
    if (p?.version !== 'h2' && m.socket?.alpnProtocol !== 'h2') return;
    if (typeof p?.protocol !== 'string' || typeof p.host !== 'string') return;
    const origin = `${p.protocol}//${p.host}`;
    h2Origins.delete(origin);
    h2Origins.set(origin, true);
    if (h2Origins.size > H2_ORIGINS_MAX) h2Origins.delete(h2Origins.keys().next().value as string);
  });
}

/** A record nested in the current one (if any), so an outer scope learns what inner fetches did. */
export function createDeliveryRecord(): DeliveryRecord {
  return { requests: 0, written: 0, parent: scope.getStore(), onWritten: undefined, tracked: [] };
}

/** Runs `fn` so that every fetch it makes, however deep, is counted in `record`. */
export function withDeliveryRecord<T>(record: DeliveryRecord, fn: () => T): T {
  subscribe();
  return scope.run(record, fn);
}

/** What the scope's requests did, so far. */
export function traceOf(record: DeliveryRecord): DeliveryTrace {
  if (record.requests === 0) return NO_REQUESTS;
  let reached = record.requests - record.tracked.length;
  const statuses: number[] = [];
  for (const req of record.tracked) {
    if (req.status !== undefined) statuses.push(req.status);
    if (req.state === 'written') reached++;
    else if (req.state === 'created' && h2Origins.has(req.origin)) reached++;
  }
  return { requests: record.requests, reached, statuses };
}

const NO_REQUESTS: DeliveryTrace = { requests: 0, reached: 0, statuses: [] };

/** `false` proves nothing was written; `true` means something may have been; undefined: not tracked. */
export function requestWritten(record: DeliveryRecord): boolean | undefined {
  if (record.requests === 0) return undefined;
  return traceOf(record).reached > 0;
}

const DELIVERY = Symbol.for('breakwater.delivery');

/** A fetch failure that provably happened before any request was made (bad URL, blocked port). */
export const NEVER_DIALED: DeliveryTrace = Object.freeze({ requests: 0, reached: 0, statuses: [] });

/**
 * Marks an error with what the probe saw, without changing its type (SDKs
 * inspect it): `false` or a trace where nothing reached proves `not_sent`.
 */
export function annotateDelivery(err: unknown, written: boolean | DeliveryTrace | undefined): void {
  if (written === undefined || typeof err !== 'object' || err === null) return;
  const value: DeliveryTrace =
    typeof written === 'boolean' ? { requests: 1, reached: written ? 1 : 0, statuses: [] } : written;
  try {
    Object.defineProperty(err, DELIVERY, { value, configurable: true });
  } catch {
    // A frozen error keeps its secret; classification then treats it as foreign.
  }
}

/** What `annotateDelivery` recorded anywhere in the cause chain: the trace of the fetch that threw it. */
export function deliveryAnnotation(err: unknown): DeliveryTrace | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 16 && typeof e === 'object' && e !== null; depth++) {
    const v = (e as { [DELIVERY]?: unknown })[DELIVERY];
    if (typeof v === 'object' && v !== null) return v as DeliveryTrace;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
