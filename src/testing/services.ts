/**
 * Local fake dependencies on real `node:http` servers (127.0.0.1, port 0),
 * with faults injected per request, so the classification the registry acts
 * on is the one Node's fetch really produces.
 */
import http from 'node:http';
import type net from 'node:net';
import { TRACK_HEADER, type Tracker } from './step-clock.js';

/**
 * - `reset_before_read`: the connection is reset before the body is read; nothing is done.
 * - `reset_after_processing`: the work is done, then the connection is reset.
 * - `error_500_after_processing`: the work is done, then the answer is a 500.
 * - `slow_after_processing`: the work is done; the answer never comes (the client must time out).
 * - `slow_before_processing`: the request is held and the work done once the client gives up,
 *   as a server that finishes what it started would; a retry racing it sees it in flight.
 * - `rate_limited`: a 429 with `Retry-After: 1`; nothing is done.
 */
export type ServiceFault =
  | 'none'
  | 'reset_before_read'
  | 'reset_after_processing'
  | 'error_500_after_processing'
  | 'slow_after_processing'
  | 'slow_before_processing'
  | 'rate_limited';

export const SERVICE_FAULTS: readonly ServiceFault[] = [
  'none',
  'reset_before_read',
  'reset_after_processing',
  'error_500_after_processing',
  'slow_after_processing',
  'slow_before_processing',
  'rate_limited',
];

export interface FakeService {
  readonly url: string;
  /** Faults for the next requests to the action endpoint, in order; `none` once exhausted. */
  schedule(...faults: ServiceFault[]): void;
  /** Drops the faults not yet used, so one scenario's leftovers never strike the next. */
  clearSchedule(): void;
  /** Requests that reached the action endpoint. */
  readonly requests: number;
  /** The `Idempotency-Key` header of every request to the action endpoint, in order. */
  readonly keysSeen: readonly (string | undefined)[];
  close(): Promise<void>;
}

interface Base {
  readonly url: string;
  readonly requests: () => number;
  readonly keysSeen: (string | undefined)[];
  close(): Promise<void>;
  schedule(...faults: ServiceFault[]): void;
  clearSchedule(): void;
}

/** Options for a fake service; the defaults are what every existing test expects. */
export interface FakeServiceOptions {
  /**
   * Lets a step clock move time only while no request is in flight (see
   * `createStepClock`); requests the server holds on purpose count as idle.
   */
  readonly tracker?: Tracker;
  /**
   * Chooses a request's fault from the request itself (a header naming the
   * operation, say), so that concurrent operations each meet their own
   * schedule whatever order their requests arrive in. Undefined falls back
   * to the shared queue of `schedule`.
   */
  readonly pick?: (req: http.IncomingMessage) => ServiceFault | undefined;
}

type Route = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  ctx: { fault: ServiceFault; body: string; stall: (onGiveUp?: () => void) => void },
) => void;

function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** A server whose action endpoint (`POST` to `actionPath`, or `GET` when `method` says) takes faults from a queue. */
async function startServer(options: {
  actionPath: string;
  method?: 'GET' | 'POST';
  action: Route;
  other?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
  tracker?: Tracker | undefined;
  pick?: FakeServiceOptions['pick'];
}): Promise<Base> {
  const faults: ServiceFault[] = [];
  const keysSeen: (string | undefined)[] = [];
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== options.actionPath || req.method !== (options.method ?? 'POST')) {
      if (options.other?.(req, res, url)) return;
      json(res, 404, { error: 'not found' });
      return;
    }
    requests++;
    const key = req.headers['idempotency-key'];
    keysSeen.push(typeof key === 'string' ? key : undefined);
    const fault = options.pick?.(req) ?? faults.shift() ?? 'none';
    if (fault === 'reset_before_read') {
      req.socket.resetAndDestroy();
      return;
    }
    const tag = req.headers[TRACK_HEADER];
    const id = typeof tag === 'string' ? tag : undefined;
    const stall = (onGiveUp?: () => void) => {
      if (id) options.tracker?.stall(id);
      res.on('close', () => {
        if (id) options.tracker?.unstall(id);
        onGiveUp?.();
      });
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      options.action(req, res, { fault, body: Buffer.concat(chunks).toString('utf8'), stall }),
    );
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  // Never close an idle keep-alive socket: a close racing the client's next request on it would
  // make a request the server never saw look like one that may have been processed.
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    keysSeen,
    schedule: (...f) => faults.push(...f),
    clearSchedule: () => {
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Applies a fault that strikes after the work is done; false when the normal answer should go out. */
function afterProcessing(
  fault: ServiceFault,
  res: http.ServerResponse,
  stall: (onGiveUp?: () => void) => void,
): boolean {
  switch (fault) {
    case 'reset_after_processing':
      res.socket?.resetAndDestroy();
      return true;
    case 'error_500_after_processing':
      json(res, 500, { error: { message: 'internal error' } });
      return true;
    case 'slow_after_processing':
      stall();
      return true;
    default:
      return false;
  }
}

export interface Charge {
  readonly id: string;
  readonly order: string;
  readonly amount: number;
  readonly currency: string;
}

export interface PaymentApi extends FakeService {
  readonly charges: readonly Charge[];
  chargesFor(order: string): number;
  /** Answers seen by key: `replayed`, `conflict` (409) and `mismatch` (422). */
  readonly keyAnswers: { replayed: number; conflict: number; mismatch: number };
}

/**
 * A payment API that honors `Idempotency-Key` the way Stripe does: the same
 * key replays the stored answer, the same key still in flight gets a 409, the
 * same key with another body a 422.
 */
export async function createFakePaymentApi(options: FakeServiceOptions = {}): Promise<PaymentApi> {
  const charges: Charge[] = [];
  const keyAnswers = { replayed: 0, conflict: 0, mismatch: 0 };
  const byKey = new Map<
    string,
    { body: string; state: 'in_flight' } | { body: string; state: 'done'; answer: unknown }
  >();

  const base = await startServer({
    actionPath: '/v1/charges',
    tracker: options.tracker,
    pick: options.pick,
    action(req, res, { fault, body, stall }) {
      const header = req.headers['idempotency-key'];
      const key = typeof header === 'string' ? header : undefined;
      if (fault === 'rate_limited') {
        json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
        return;
      }
      let parsed: { amount?: unknown; currency?: unknown; order?: unknown };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        json(res, 400, { error: { message: 'invalid JSON' } });
        return;
      }
      type Answer = { status: number; body: unknown; headers?: http.OutgoingHttpHeaders };
      // The key is looked at on arrival: a request held before processing keeps its key in flight.
      const admit = (): Answer | undefined => {
        if (key === undefined) return undefined;
        const seen = byKey.get(key);
        if (seen && seen.body !== body) {
          keyAnswers.mismatch++;
          return {
            status: 422,
            body: { error: { message: 'idempotency key reused with different parameters' } },
          };
        }
        if (seen?.state === 'in_flight') {
          keyAnswers.conflict++;
          return { status: 409, body: { error: { message: 'a request with this key is in progress' } } };
        }
        if (seen?.state === 'done') {
          keyAnswers.replayed++;
          return { status: 200, body: seen.answer, headers: { 'idempotent-replayed': 'true' } };
        }
        byKey.set(key, { body, state: 'in_flight' });
        return undefined;
      };
      const charge = (): Answer => {
        const c: Charge = {
          id: `ch_${charges.length + 1}`,
          order: String(parsed.order),
          amount: Number(parsed.amount),
          currency: String(parsed.currency),
        };
        charges.push(c);
        const answer = { ...c, status: 'succeeded' };
        if (key !== undefined) byKey.set(key, { body, state: 'done', answer });
        return { status: 200, body: answer };
      };
      const early = admit();
      if (fault === 'slow_before_processing') {
        stall(early ? undefined : () => charge());
        return;
      }
      const a = early ?? charge();
      if (!afterProcessing(fault, res, stall)) json(res, a.status, a.body, a.headers);
    },
    other(req, res, url) {
      // Stripe-like lookup by order, for reconciliation.
      if (req.method === 'GET' && url.pathname === '/v1/charges') {
        const order = url.searchParams.get('order');
        json(res, 200, { data: charges.filter((c) => c.order === order) });
        return true;
      }
      return false;
    },
  });
  return {
    url: base.url,
    schedule: base.schedule,
    clearSchedule: base.clearSchedule,
    close: base.close,
    get requests() {
      return base.requests();
    },
    keysSeen: base.keysSeen,
    charges,
    chargesFor: (order) => charges.filter((c) => c.order === order).length,
    keyAnswers,
  };
}

export interface Image {
  readonly id: string;
  readonly op: string;
  readonly ref: string | undefined;
  status: 'processing' | 'succeeded';
}

export interface ImageApi extends FakeService {
  readonly images: readonly Image[];
  imagesFor(op: string): number;
}

/**
 * An image-generation API with no idempotency support: every request that is
 * processed bills one image. It stores a client reference with each image and
 * can list images by it, which is what makes reconciliation possible.
 */
export async function createFakeImageApi(options: FakeServiceOptions = {}): Promise<ImageApi> {
  const images: Image[] = [];
  const base = await startServer({
    actionPath: '/v1/images',
    tracker: options.tracker,
    pick: options.pick,
    action(_req, res, { fault, body, stall }) {
      if (fault === 'rate_limited') {
        json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
        return;
      }
      const parsed = JSON.parse(body) as { op?: unknown; ref?: unknown };
      // The image exists (and is billed) from the moment the request is read, as a job record
      // does on most such APIs; a lookup by reference sees it even while it is still being made.
      const image: Image = {
        id: `img_${images.length + 1}`,
        op: String(parsed.op),
        ref: typeof parsed.ref === 'string' ? parsed.ref : undefined,
        status: 'processing',
      };
      images.push(image);
      if (fault === 'slow_before_processing') {
        stall(() => {
          image.status = 'succeeded';
        });
        return;
      }
      image.status = 'succeeded';
      if (!afterProcessing(fault, res, stall)) json(res, 200, image);
    },
    other(req, res, url) {
      if (req.method === 'GET' && url.pathname === '/v1/images') {
        const ref = url.searchParams.get('ref');
        json(res, 200, { data: images.filter((i) => i.ref === ref) });
        return true;
      }
      return false;
    },
  });
  return {
    url: base.url,
    schedule: base.schedule,
    clearSchedule: base.clearSchedule,
    close: base.close,
    get requests() {
      return base.requests();
    },
    keysSeen: base.keysSeen,
    images,
    imagesFor: (op) => images.filter((i) => i.op === op).length,
  };
}

/** A read-only search API that fails as scheduled; safe to call any number of times. */
export async function createFakeSearchApi(options: FakeServiceOptions = {}): Promise<FakeService> {
  const base = await startServer({
    actionPath: '/search',
    method: 'GET',
    tracker: options.tracker,
    pick: options.pick,
    action(req, res, { fault, stall }) {
      if (fault === 'rate_limited') {
        json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
        return;
      }
      const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('q') ?? '';
      const answer = { query: q, results: [`${q} — first`, `${q} — second`] };
      if (fault === 'slow_before_processing') {
        stall();
        return;
      }
      if (!afterProcessing(fault, res, stall)) json(res, 200, answer);
    },
  });
  return {
    url: base.url,
    schedule: base.schedule,
    clearSchedule: base.clearSchedule,
    close: base.close,
    get requests() {
      return base.requests();
    },
    keysSeen: base.keysSeen,
  };
}
