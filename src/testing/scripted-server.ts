/**
 * A scripted HTTP server for the fake LLM providers: real `node:http` on
 * 127.0.0.1, port 0. Each request takes the next scripted reply (or the
 * fallback), is recorded with its parsed body, and is watched for the client
 * closing its socket before the answer was complete (an abort reaching the wire).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AFTER_PROCESSING_FAULTS,
  createFaultPlan,
  type Fault,
  type FaultPlan,
  type FaultSchedule,
} from './faults.js';

function isStreamFault(fault: Fault): boolean {
  return fault === 'stream_stall' || fault === 'stream_cut';
}

/** Whether the server did the request's work: it generated an answer, even one a fault then lost. */
function isProcessed(reply: FakeReply, fault: Fault): boolean {
  if (AFTER_PROCESSING_FAULTS.has(fault)) return true;
  return reply.kind === 'sse' || (reply.kind === 'json' && (reply.status ?? 200) < 400);
}

export interface RecordedRequest {
  /** 0 for the first request this server received. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** `METHOD /path` without the query, as fault schedules name routes. */
  readonly route: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The `Idempotency-Key` header, if the request carried one. */
  readonly idempotencyKey: string | undefined;
  /** The parsed JSON body; undefined until read, and for requests reset before their body was read. */
  body: unknown;
  /** The fault this request met (`none` for most). */
  fault: Fault;
  /** The client closed the connection before the answer was complete. */
  clientClosed: boolean;
  /** How the server answered: a status, or `reset` when it cut the connection. */
  answer: number | 'reset' | undefined;
}

export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

export type FakeReply =
  | {
      readonly kind: 'json';
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body: unknown;
      /** Wait this long (real ms) before answering: a slow dependency. */
      readonly delayMs?: number;
    }
  | {
      readonly kind: 'sse';
      readonly headers?: Readonly<Record<string, string>>;
      readonly events: readonly SseEvent[];
      readonly delayMs?: number;
      /** How the stream ends after its events: cleanly, cut off, or left open. */
      readonly end?: 'end' | 'destroy' | 'hang';
    }
  /**
   * Exactly these bytes, for answers no real API would send: invalid JSON, a
   * wrong content type, huge headers. `truncate` declares a longer body than
   * is sent and then cuts the connection: a body cut off mid-way.
   */
  | {
      readonly kind: 'raw';
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body: string;
      readonly truncate?: boolean;
    }
  /** Cut the connection: before reading the request body, or after reading it. */
  | { readonly kind: 'reset'; readonly when: 'before-body' | 'after-body' }
  /** Read the request and never answer (until the client gives up). */
  | { readonly kind: 'hang' };

export type Responder = (request: RecordedRequest) => FakeReply;

/** What the server really did, to assert on. */
export interface FakeCounters {
  /** Requests received, faulted or not. */
  requests: number;
  /** Requests whose work was done (an answer generated), including those whose answer a fault then lost. */
  processed: number;
  /** Requests that met a fault other than `none`. */
  faults: number;
  /** Connections the server cut. */
  resets: number;
  /** Requests whose client closed the connection before the answer was complete. */
  clientCloses: number;
  /** Answers sent, by status. */
  readonly statuses: Record<number, number>;
}

export function emptyCounters(): FakeCounters {
  return { requests: 0, processed: 0, faults: 0, resets: 0, clientCloses: 0, statuses: {} };
}

/** How a wire format answers the faults of the fault vocabulary. */
export interface FaultReplies {
  /** The route that takes faults when `inject` names none, e.g. `POST /v1/chat/completions`. */
  readonly route: string;
  error(status: number): FakeReply;
  rateLimited(style: RetryAfterStyle, ms: number): FakeReply;
  /** The provider's own reset headers, for `rate_limited_reset_headers`. */
  readonly resetHeaders: RetryAfterStyle;
  /** How many events of a stream make its first chunk, for `stream_stall` and `stream_cut`. */
  readonly streamHead: number;
}

export interface FakeHttpServerOptions {
  /** How long `slow_answer` waits before the normal answer (real time). Default 200 ms. */
  readonly slowAnswerMs?: number;
  /** The wait a 429 announces, in every style. Default 1000 ms. */
  readonly retryAfterMs?: number;
}

export class FakeHttpServer {
  /** Every request, in arrival order: the request log. */
  readonly requests: RecordedRequest[] = [];
  readonly counters: FakeCounters = emptyCounters();
  private readonly queued: Array<FakeReply | Responder> = [];
  private readonly plan: FaultPlan = createFaultPlan();
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private fallback: Responder,
    private readonly replies: FaultReplies | undefined,
    private readonly options: FakeHttpServerOptions,
  ) {}

  /**
   * Starts a server on 127.0.0.1 at a free port. Without `replies`, faults
   * that need a wire format (statuses, 429s) answer in plain JSON.
   */
  static async start(
    fallback: Responder,
    replies?: FaultReplies,
    options: FakeHttpServerOptions = {},
  ): Promise<FakeHttpServer> {
    let self: FakeHttpServer | undefined;
    const server = http.createServer((req, res) => self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakeHttpServer(server, `http://127.0.0.1:${port}`, fallback, replies, options);
    return self;
  }

  /** Requests received so far. */
  get count(): number {
    return this.requests.length;
  }

  /** Requests whose client closed the socket before the answer was complete. */
  get clientCloses(): number {
    return this.counters.clientCloses;
  }

  /** The `Idempotency-Key` of every request, in order (undefined where there was none). */
  get idempotencyKeys(): readonly (string | undefined)[] {
    return this.requests.map((r) => r.idempotencyKey);
  }

  /** Replies for the next requests, in order; then the fallback again. */
  enqueue(...replies: Array<FakeReply | Responder>): this {
    this.queued.push(...replies);
    return this;
  }

  /** The reply for every request the script does not cover. */
  respond(fallback: Responder): this {
    this.fallback = fallback;
    return this;
  }

  /**
   * Sets the fault schedule of `route` (`METHOD /path`; the format's main
   * route when left out). A request that meets a fault does not use up a
   * scripted reply: the model would answer its retry the same way.
   */
  inject(schedule: FaultSchedule, route?: string): this {
    this.plan.set(route ?? this.mainRoute(), schedule);
    return this;
  }

  /** Drops every route's fault schedule. */
  clearFaults(): this {
    this.plan.clear();
    return this;
  }

  /** Resolves once `predicate` holds; checked after every request and every close. */
  until(predicate: (requests: readonly RecordedRequest[]) => boolean): Promise<void> {
    if (predicate(this.requests)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (predicate(this.requests)) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  /** Stops listening and ends every open connection (held and streaming ones too). */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private mainRoute(): string {
    if (this.replies === undefined)
      throw new RangeError('inject: route is required on a server without a wire format');
    return this.replies.route;
  }

  private counted(status: number): void {
    this.counters.statuses[status] = (this.counters.statuses[status] ?? 0) + 1;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const route = `${method} ${path.split('?')[0]}`;
    const key = req.headers['idempotency-key'];
    const fault = this.plan.next({ route, headers: req.headers });
    const rec: RecordedRequest = {
      index: this.requests.length,
      method,
      path,
      route,
      headers: req.headers,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      body: undefined,
      fault,
      clientClosed: false,
      answer: undefined,
    };
    this.counters.requests++;
    if (fault !== 'none') this.counters.faults++;
    let cutByUs = false;
    res.on('close', () => {
      if (!res.writableFinished && !cutByUs) {
        rec.clientClosed = true;
        this.counters.clientCloses++;
        this.notify();
      }
    });
    const cut = () => {
      if (cutByUs) return;
      cutByUs = true;
      rec.answer = 'reset';
      this.counters.resets++;
      req.socket.destroy();
    };
    this.requests.push(rec);
    // A faulted request leaves the script alone: the model would answer its retry the same way.
    const scripted =
      fault === 'none' || fault === 'slow_answer' || isStreamFault(fault) ? this.queued.shift() : undefined;

    // Deciding before the body is read lets a reply cut the connection with the body unread.
    if (
      fault === 'reset_before_read' ||
      (scripted !== undefined &&
        typeof scripted !== 'function' &&
        scripted.kind === 'reset' &&
        scripted.when === 'before-body')
    ) {
      cut();
      this.notify();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        rec.body = text === '' ? undefined : JSON.parse(text);
      } catch {
        rec.body = text;
      }
      const normal = (): FakeReply =>
        scripted === undefined
          ? this.fallback(rec)
          : typeof scripted === 'function'
            ? scripted(rec)
            : scripted;
      const reply = this.faultReply(fault, normal);
      if (isProcessed(reply, fault)) this.counters.processed++;
      this.notify();
      this.answer(reply, rec, res, cut);
    });
  }

  /** The reply a fault makes of the normal one. */
  private faultReply(fault: Fault, normal: () => FakeReply): FakeReply {
    const wait = this.options.retryAfterMs ?? 1_000;
    const rateLimited = (style: RetryAfterStyle): FakeReply =>
      this.replies?.rateLimited(style, wait) ?? {
        kind: 'json',
        status: 429,
        headers: retryAfterHeaders(style, wait),
        body: { error: { message: 'rate limited' } },
      };
    const error = (status: number): FakeReply =>
      this.replies?.error(status) ?? {
        kind: 'json',
        status,
        body: { error: { message: `fake error ${status}` } },
      };
    switch (fault) {
      case 'none':
        return normal();
      case 'rate_limited':
        return rateLimited('retry-after');
      case 'rate_limited_http_date':
        return rateLimited('retry-after-date');
      case 'rate_limited_ms':
        return rateLimited('retry-after-ms');
      case 'rate_limited_reset_headers':
        return rateLimited(this.replies?.resetHeaders ?? 'x-ratelimit-reset');
      case 'rate_limited_no_hint':
        return rateLimited('none');
      case 'error_500':
        return error(500);
      case 'error_503':
        return error(503);
      case 'overloaded_529':
        return error(529);
      case 'reset_before_read':
      case 'reset_after_read':
        return { kind: 'reset', when: 'after-body' };
      case 'reset_after_processing':
        normal();
        return { kind: 'reset', when: 'after-body' };
      case 'error_500_after_processing':
        normal();
        return error(500);
      case 'slow_answer': {
        const reply = normal();
        const delayMs = this.options.slowAnswerMs ?? 200;
        return reply.kind === 'json' || reply.kind === 'sse' ? { ...reply, delayMs } : reply;
      }
      case 'slow_after_processing':
      case 'slow_before_processing':
        normal();
        return { kind: 'hang' };
      case 'stream_stall':
      case 'stream_cut': {
        const reply = normal();
        if (reply.kind !== 'sse') return reply;
        const head = this.replies?.streamHead ?? 1;
        return {
          ...reply,
          events: reply.events.slice(0, head),
          end: fault === 'stream_cut' ? 'destroy' : 'hang',
        };
      }
    }
  }

  private answer(reply: FakeReply, rec: RecordedRequest, res: http.ServerResponse, cut: () => void): void {
    switch (reply.kind) {
      case 'reset':
        cut();
        return;
      case 'hang':
        return;
      case 'raw': {
        if (res.destroyed) return;
        rec.answer = reply.status ?? 200;
        this.counted(rec.answer);
        const bytes = Buffer.from(reply.body, 'utf8');
        res.writeHead(rec.answer, {
          ...reply.headers,
          'content-length': String(bytes.length + (reply.truncate ? 64 : 0)),
        });
        if (reply.truncate) {
          res.write(bytes);
          // Let the partial body reach the client before the connection goes.
          setImmediate(cut);
        } else res.end(bytes);
        return;
      }
      case 'json': {
        const send = () => {
          if (res.destroyed) return;
          const status = reply.status ?? 200;
          rec.answer = status;
          this.counted(status);
          res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
          res.end(JSON.stringify(reply.body));
        };
        if (reply.delayMs) this.later(reply.delayMs, send);
        else send();
        return;
      }
      case 'sse': {
        const send = () => {
          if (res.destroyed) return;
          rec.answer = 200;
          this.counted(200);
          res.writeHead(200, {
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            ...reply.headers,
          });
          const end = reply.end ?? 'end';
          const text = reply.events
            .map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`)
            .join('');
          if (end === 'end') res.end(text);
          // Cut only once the events are flushed, so the client reads them before the connection drops.
          else if (end === 'destroy') res.write(text, () => cut());
          else res.write(text);
        };
        if (reply.delayMs) this.later(reply.delayMs, send);
        else send();
        return;
      }
    }
  }
}

/** The ways a 429 can say how long to wait. */
export type RetryAfterStyle =
  | 'retry-after-ms'
  | 'retry-after'
  | 'retry-after-date'
  | 'x-ratelimit-reset'
  | 'anthropic-ratelimit-reset'
  | 'none';

/** The headers a 429 carries in each style, for a wait of `ms`. */
export function retryAfterHeaders(style: RetryAfterStyle, ms: number): Record<string, string> {
  switch (style) {
    case 'retry-after-ms':
      return { 'retry-after-ms': String(ms) };
    case 'retry-after':
      return { 'retry-after': String(Math.ceil(ms / 1000)) };
    case 'retry-after-date':
      return { 'retry-after': new Date(Date.now() + ms).toUTCString() };
    case 'x-ratelimit-reset':
      return {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': `${ms}ms`,
        'x-ratelimit-remaining-tokens': '1000',
        'x-ratelimit-reset-tokens': '6m0s',
      };
    case 'anthropic-ratelimit-reset':
      return {
        'anthropic-ratelimit-requests-limit': '60',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': new Date(Date.now() + ms).toISOString(),
        'anthropic-ratelimit-tokens-remaining': '1000',
        'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 3_600_000).toISOString(),
      };
    case 'none':
      return {};
  }
}
