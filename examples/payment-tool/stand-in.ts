/**
 * Not part of the example: a local stand-in for a payment API, so that it runs
 * offline. It de-duplicates by Idempotency-Key, as Stripe does, and loses the
 * answer to the first request on the way back (it charges, then cuts the
 * connection): the case where a naive retry charges twice.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startPaymentStandIn() {
  const answers = new Map<string, string>();
  let requests = 0;
  let charges = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const key = req.headers['idempotency-key'];
      if (req.method !== 'POST' || req.url !== '/v1/charges' || typeof key !== 'string') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
        return;
      }
      let answer = answers.get(key);
      if (answer === undefined) {
        charges++;
        answer = JSON.stringify({ id: `ch_${charges}`, status: 'succeeded' });
        answers.set(key, answer);
      }
      if (requests === 1)
        req.socket.destroy(); // charged, but the answer never arrives
      else res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    charges: () => charges,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
