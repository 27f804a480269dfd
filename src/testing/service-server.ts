/**
 * The server under the fake tool services: real `node:http` on 127.0.0.1 at
 * a free port, one action route that meets faults from a schedule, a request
 * log and counters of what the server really did — so the classification a
 * tool acts on is the one Node's fetch really produces.
 */
import http from 'node:http';
import type net from 'node:net';
import { createFaultPlan, FAULTS, type Fault, type FaultSchedule } from './faults.js';
import {
  emptyCounters,
  type FakeCounters,
  type RecordedRequest,
  retryAfterHeaders,
} from './scripted-server.js';
import { TRACK_HEADER, type Tracker } from './step-clock.js';

/** The faults a service can meet: all but the stream faults (its answers are not streamed). */
export type ServiceFault = Exclude<Fault, 'stream_stall' | 'stream_cut'>;

export const SERVICE_FAULTS: readonly ServiceFault[] = FAULTS.filter(
  (f): f is ServiceFault => f !== 'stream_stall' && f !== 'stream_cut',
);

/** A fake service: its URL, its fault schedules, its request log and counters. */
export interface FakeService {
  readonly url: string;
  /** Appends faults to the action route's queue; `none` once exhausted. */
  schedule(...faults: ServiceFault[]): void;
  /** Drops every route's faults, so one scenario's leftovers never strike the next. */
  clearSchedule(): void;
  /**
   * Sets the fault schedule of `route` (`METHOD /path`; the action route when
   * left out): a list, a probability with a seed, or a function of the request.
   */
  inject(schedule: FaultSchedule, route?: string): void;
  /** Requests that reached the action route. */
  readonly requests: number;
  /** The `Idempotency-Key` header of every request to the action route, in order. */
  readonly keysSeen: readonly (string | undefined)[];
  /** Every request to any route, in arrival order. */
  readonly log: readonly RecordedRequest[];
  /** What the action route really did. */
  readonly counters: FakeCounters;
  /** Stops listening and ends every open connection. */
  close(): Promise<void>;
}

export interface FakeServiceOptions {
  /**
   * Lets a step clock move time only while no request is in flight (see
   * `createStepClock`); requests the server holds on purpose count as idle.
   */
  readonly tracker?: Tracker;
  /**
   * Chooses a request's fault from the request itself (a header naming the
   * operation, say), so that concurrent operations each meet their own
   * schedule whatever order their requests arrive in. Undefined falls back to
   * the route's schedule.
   */
  readonly pick?: (req: http.IncomingMessage) => ServiceFault | undefined;
  /** How long `slow_answer` waits before the normal answer (real time). Default 200 ms. */
  readonly slowAnswerMs?: number;
  /** The wait a 429 announces. Default 1000 ms. */
  readonly retryAfterMs?: number;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: http.OutgoingHttpHeaders;
}

export interface ActionContext {
  readonly fault: ServiceFault;
  /** The request's body, as text. */
  readonly body: string;
  readonly idempotencyKey: string | undefined;
  /** Sends the answer (late, under `slow_answer`). */
  send(answer: Answer): void;
  /** Holds the request until the client gives up, then calls `onGiveUp`. */
  stall(onGiveUp?: () => void): void;
  /** Counts the request's work as done. */
  processed(): void;
  /** Resets the connection (for `reset_after_processing`). */
  reset(): void;
}

export interface ServiceServerOptions extends FakeServiceOptions {
  /** The route that takes faults, e.g. `POST /v1/charges`. */
  readonly action: string;
  /**
   * Does the work and answers; called only for faults it must see (`none`,
   * `slow_answer` and the after-processing faults): the others are answered
   * before it.
   */
  readonly handle: (req: http.IncomingMessage, ctx: ActionContext) => void;
  /** Other routes (lookups): true when handled. */
  readonly other?: (req: http.IncomingMessage, url: URL, send: (answer: Answer) => void) => boolean;
}

const PRE_PROCESSING: Partial<Record<ServiceFault, (wait: number) => Answer>> = {
  rate_limited: (w) => rateLimited(retryAfterHeaders('retry-after', w)),
  rate_limited_http_date: (w) => rateLimited(retryAfterHeaders('retry-after-date', w)),
  rate_limited_ms: (w) => rateLimited(retryAfterHeaders('retry-after-ms', w)),
  rate_limited_reset_headers: (w) => rateLimited(retryAfterHeaders('x-ratelimit-reset', w)),
  rate_limited_no_hint: () => rateLimited({}),
  error_500: () => ({ status: 500, body: { error: { message: 'internal error' } } }),
  error_503: () => ({ status: 503, body: { error: { message: 'service unavailable' } } }),
  overloaded_529: () => ({ status: 529, body: { error: { message: 'overloaded' } } }),
};

function rateLimited(headers: Record<string, string>): Answer {
  return { status: 429, body: { error: { message: 'slow down' } }, headers };
}

/** Applies a fault that strikes after the work is done; false when the normal answer should go out. */
export function afterProcessing(ctx: ActionContext): boolean {
  switch (ctx.fault) {
    case 'reset_after_processing':
      ctx.reset();
      return true;
    case 'error_500_after_processing':
      ctx.send({ status: 500, body: { error: { message: 'internal error' } } });
      return true;
    case 'slow_after_processing':
      ctx.stall();
      return true;
    default:
      return false;
  }
}

export interface ServiceServer extends Omit<FakeService, 'requests'> {
  readonly requests: () => number;
}

export async function startServiceServer(options: ServiceServerOptions): Promise<ServiceServer> {
  const plan = createFaultPlan();
  const keysSeen: (string | undefined)[] = [];
  const log: RecordedRequest[] = [];
  const counters = emptyCounters();
  const sockets = new Set<net.Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const count = (status: number) => {
    counters.statuses[status] = (counters.statuses[status] ?? 0) + 1;
  };
  const reset = (req: http.IncomingMessage, rec: RecordedRequest) => {
    rec.answer = 'reset';
    counters.resets++;
    req.socket.resetAndDestroy();
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const route = `${method} ${url.pathname}`;
    const header = req.headers['idempotency-key'];
    const idempotencyKey = typeof header === 'string' ? header : undefined;
    const isAction = route === options.action;
    const drawn: Fault =
      (isAction ? options.pick?.(req) : undefined) ?? plan.next({ route, headers: req.headers });
    // Its answers are not streamed: a stream fault (from a schedule over every fault) is no fault here.
    const fault: ServiceFault = drawn === 'stream_stall' || drawn === 'stream_cut' ? 'none' : drawn;
    const rec: RecordedRequest = {
      index: log.length,
      method,
      path: req.url ?? '/',
      route,
      headers: req.headers,
      idempotencyKey,
      body: undefined,
      fault,
      clientClosed: false,
      answer: undefined,
    };
    log.push(rec);
    const send = (a: Answer) => {
      if (res.destroyed) return;
      rec.answer = a.status;
      if (isAction) count(a.status);
      res
        .writeHead(a.status, { 'content-type': 'application/json', ...a.headers })
        .end(JSON.stringify(a.body));
    };
    if (isAction) {
      counters.requests++;
      keysSeen.push(idempotencyKey);
      if (fault !== 'none') counters.faults++;
      res.on('close', () => {
        if (!res.writableFinished && rec.answer !== 'reset') {
          rec.clientClosed = true;
          counters.clientCloses++;
        }
      });
    }
    if (fault === 'reset_before_read') {
      reset(req, rec);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        rec.body = body === '' ? undefined : JSON.parse(body);
      } catch {
        rec.body = body;
      }
      if (fault === 'reset_after_read') {
        reset(req, rec);
        return;
      }
      const early = PRE_PROCESSING[fault];
      if (early) {
        send(early(options.retryAfterMs ?? 1_000));
        return;
      }
      // Lookups do no work a fault could lose: only the faults before processing apply to them.
      if (!isAction) {
        if (!options.other?.(req, url, send)) send({ status: 404, body: { error: 'not found' } });
        return;
      }
      const tag = req.headers[TRACK_HEADER];
      const id = typeof tag === 'string' ? tag : undefined;
      options.handle(req, {
        fault,
        body,
        idempotencyKey,
        send:
          fault === 'slow_answer'
            ? (a) => {
                const t = setTimeout(() => {
                  timers.delete(t);
                  send(a);
                }, options.slowAnswerMs ?? 200);
                timers.add(t);
              }
            : send,
        stall(onGiveUp) {
          if (id) options.tracker?.stall(id);
          res.on('close', () => {
            if (id) options.tracker?.unstall(id);
            onGiveUp?.();
          });
        },
        processed() {
          counters.processed++;
        },
        reset: () => reset(req, rec),
      });
    });
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
    requests: () => counters.requests,
    keysSeen,
    log,
    counters,
    schedule: (...f) => plan.enqueue(options.action, f),
    clearSchedule: () => plan.clear(),
    inject: (schedule, route) => plan.set(route ?? options.action, schedule),
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
