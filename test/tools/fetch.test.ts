import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { classify } from '../../src/failure/classify.js';
import { createToolFetch, HttpError } from '../../src/tools/fetch.js';
import { closedPort, httpServer } from '../fakes/tcp.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function server(handler: http.RequestListener) {
  const s = await httpServer(handler);
  closers.push(() => s.close());
  return s;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('createToolFetch', () => {
  it('sends the idempotency key on every request, unless the request sets its own', async () => {
    const keys: Array<string | undefined> = [];
    const s = await server((req, res) => {
      keys.push(req.headers['idempotency-key'] as string | undefined);
      res.end('{}');
    });
    const f = createToolFetch({ idempotencyKey: 'op-1' });
    await f(s.url, { method: 'POST', body: '{}' });
    await f(s.url, { method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'mine' } });
    await f(new Request(s.url, { method: 'POST', body: '{}' }));
    await createToolFetch()(s.url);
    expect(keys).toEqual(['op-1', 'mine', 'op-1', undefined]);
  });

  it('throws an HttpError carrying status and headers, so classify reads Retry-After', async () => {
    const s = await server((_req, res) => {
      res
        .writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' })
        .end('{"error":"slow down"}');
    });
    const err = await rejection(createToolFetch()(`${s.url}private/path?token=secret`, { method: 'post' }));
    expect(err).toBeInstanceOf(HttpError);
    const e = err as HttpError;
    expect(e.status).toBe(429);
    expect(e.body).toBe('{"error":"slow down"}');
    expect(e.message).toBe(`HTTP 429 on POST from ${new URL(s.url).origin}`);
    expect(e.message).not.toMatch(/secret|private/);
    expect(Object.keys(e)).not.toContain('body');
    expect(classify(e)).toMatchObject({
      kind: 'rate_limited',
      delivery: 'not_processed',
      retryAfterMs: 3_000,
    });
  });

  it('a 500 classifies as unknown delivery, a 422 as processed', async () => {
    let status = 500;
    const s = await server((_req, res) => {
      res.writeHead(status).end();
    });
    const f = createToolFetch();
    expect(classify(await rejection(f(s.url)))).toMatchObject({ kind: 'server_error', delivery: 'unknown' });
    status = 422;
    expect(classify(await rejection(f(s.url)))).toMatchObject({
      kind: 'client_error',
      delivery: 'processed',
    });
  });

  it('a refused connection is provably not sent', async () => {
    const port = await closedPort();
    const err = await rejection(
      createToolFetch()(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }),
    );
    expect(classify(err)).toMatchObject({ kind: 'network', delivery: 'not_sent' });
  });

  it('is bound to the operation signal, as well as the request signal', async () => {
    const s = await server(() => {});
    const op = new AbortController();
    const p = rejection(createToolFetch({ signal: op.signal })(s.url));
    op.abort(new Error('attempt over'));
    expect(await p).toMatchObject({ message: 'attempt over' });
    const req = new AbortController();
    const q = rejection(
      createToolFetch({ signal: new AbortController().signal })(s.url, { signal: req.signal }),
    );
    req.abort(new Error('request over'));
    expect(await q).toMatchObject({ message: 'request over' });
  });
});
