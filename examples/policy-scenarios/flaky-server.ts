import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Mode =
  | { kind: 'ok' }
  | { kind: 'fail'; status: number; retryAfterS?: number }
  | { kind: 'flaky'; failFirst: number };

/** A local HTTP service whose health the scenario script switches, counting what reaches it. */
export async function startFlakyServer() {
  let mode: Mode = { kind: 'ok' };
  let hits = 0;
  let flakyLeft = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    if (mode.kind === 'fail') {
      const headers: Record<string, string> =
        mode.retryAfterS !== undefined ? { 'retry-after': String(mode.retryAfterS) } : {};
      res.writeHead(mode.status, headers).end('unavailable');
      return;
    }
    if (mode.kind === 'flaky' && flakyLeft > 0) {
      flakyLeft--;
      res.writeHead(503, { 'retry-after': '0.2' }).end('busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    get hits() {
      return hits;
    },
    set(next: Mode) {
      mode = next;
      if (next.kind === 'flaky') flakyLeft = next.failFirst;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
