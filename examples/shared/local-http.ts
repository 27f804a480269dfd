/**
 * A small HTTP server on 127.0.0.1 and a random port, for the examples' local
 * stand-ins (travel services, image API, model endpoints). It owns every
 * timer and socket it starts, so `close()` leaves nothing that keeps the
 * process alive.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly method: string;
  readonly url: URL;
  /** The parsed JSON body, or undefined when there was none (or it was not JSON). */
  readonly body: unknown;
  header(name: string): string | undefined;
  json(status: number, body: unknown, headers?: Readonly<Record<string, string>>): void;
  /** Cuts the connection without an answer: what a crash or a lost reply looks like to the client. */
  reset(): void;
  /** Runs `fn` after `ms`, unless the server closes first. */
  later(ms: number, fn: () => void): void;
}

export type Handler = (exchange: Exchange) => void;

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLocalServer(handler: Handler, port = 0): Promise<LocalServer> {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      const exchange: Exchange = {
        req,
        res,
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        body,
        header: (name) => {
          const v = req.headers[name.toLowerCase()];
          return Array.isArray(v) ? v[0] : v;
        },
        json: (status, payload, headers = {}) => {
          // The client may have given up (an attempt timeout) before a slow answer was ready.
          if (res.destroyed || res.headersSent) return;
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(payload));
        },
        reset: () => req.socket.destroy(),
        later,
      };
      try {
        handler(exchange);
      } catch (err) {
        exchange.json(500, { error: { message: err instanceof Error ? err.message : String(err) } });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (yet): bind one, note it, let it go. Connecting to it is refused. */
export async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
