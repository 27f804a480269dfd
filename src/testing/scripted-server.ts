/**
 * A scripted HTTP server for the fake LLM providers: real `node:http` on
 * 127.0.0.1, port 0. Each request takes the next scripted reply (or the
 * fallback), is recorded with its parsed body, and is watched for the client
 * closing its socket before the answer was complete (an abort reaching the wire).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  /** 0 for the first request this server received. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The parsed JSON body; undefined until read, and for requests reset before their body was read. */
  body: unknown;
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

export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: Array<FakeReply | Responder> = [];
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private fallback: Responder,
  ) {}

  static async start(fallback: Responder): Promise<FakeHttpServer> {
    let self: FakeHttpServer | undefined;
    const server = http.createServer((req, res) => self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakeHttpServer(server, `http://127.0.0.1:${port}`, fallback);
    return self;
  }

  /** Requests received so far. */
  get count(): number {
    return this.requests.length;
  }

  /** Requests whose client closed the socket before the answer was complete. */
  get clientCloses(): number {
    return this.requests.filter((r) => r.clientClosed).length;
  }

  /** Replies for the next requests, in order; then the fallback again. */
  enqueue(...replies: Array<FakeReply | Responder>): this {
    this.script.push(...replies);
    return this;
  }

  /** The reply for every request the script does not cover. */
  respond(fallback: Responder): this {
    this.fallback = fallback;
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

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
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
    const rec: RecordedRequest = {
      index: this.requests.length,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: undefined,
      clientClosed: false,
      answer: undefined,
    };
    let cutByUs = false;
    res.on('close', () => {
      if (!res.writableFinished && !cutByUs) {
        rec.clientClosed = true;
        this.notify();
      }
    });
    const cut = () => {
      cutByUs = true;
      rec.answer = 'reset';
      req.socket.destroy();
    };
    this.requests.push(rec);
    const scripted = this.script.shift();

    // Deciding before the body is read lets a reply cut the connection with the body unread.
    if (scripted !== undefined && typeof scripted !== 'function' && scripted.kind === 'reset') {
      if (scripted.when === 'before-body') {
        cut();
        this.notify();
        return;
      }
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
      const reply =
        scripted === undefined
          ? this.fallback(rec)
          : typeof scripted === 'function'
            ? scripted(rec)
            : scripted;
      this.notify();
      this.answer(reply, rec, res, cut);
    });
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
