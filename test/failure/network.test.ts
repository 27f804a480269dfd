/**
 * Each network case provoked for real against a local server, so the codes
 * classify() relies on are the ones Node 20's fetch actually produces.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { classify } from '../../src/failure/classify.js';
import { createClassifyingFetch } from '../../src/failure/classifying-fetch.js';
import { closedPort, httpServer, type RawServer, rawServer } from '../fakes/tcp.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return classify(err);
  }
  throw new Error('expected the request to fail');
}

function track<T extends { close(): Promise<void> }>(s: T): T {
  closers.push(() => s.close());
  return s;
}

describe('classification against a real local server', () => {
  const fetch = createClassifyingFetch();

  it('a refused port is not_sent (ECONNREFUSED)', async () => {
    const port = await closedPort();
    const f = await failureOf(fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }));
    expect(f).toMatchObject({ kind: 'network', delivery: 'not_sent', code: 'ECONNREFUSED' });
  });

  it('a reset before the request is read is ambiguous by code, but the probe knows whether headers were written', async () => {
    // The server resets on accept: depending on timing the client may or may not have written.
    const srv: RawServer = track(await rawServer((s) => s.resetAndDestroy()));
    const f = await failureOf(fetch(srv.url, { method: 'POST', body: 'x' }));
    expect(f.kind).toBe('network');
    expect(['not_sent', 'unknown']).toContain(f.delivery);
  });

  it('a reset after the request was read is unknown', async () => {
    const srv = track(
      await rawServer((s, state) =>
        s.once('data', () => {
          state.received++;
          s.resetAndDestroy();
        }),
      ),
    );
    const f = await failureOf(fetch(srv.url, { method: 'POST', body: 'pay' }));
    expect(srv.received).toBe(1);
    expect(f).toMatchObject({ kind: 'network', delivery: 'unknown' });
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(f.code);
  });

  it('a close (FIN) after the request was read is unknown (UND_ERR_SOCKET)', async () => {
    const srv = track(
      await rawServer((s, state) =>
        s.once('data', () => {
          state.received++;
          s.end();
        }),
      ),
    );
    const f = await failureOf(fetch(srv.url, { method: 'POST', body: 'pay' }));
    expect(f).toMatchObject({ kind: 'network', delivery: 'unknown', code: 'UND_ERR_SOCKET' });
  });

  it('a connect phase that never completes fails fast as a not_sent timeout', async () => {
    // A TLS handshake to a server that never answers: the request's headers can never be written.
    const srv = track(await rawServer(() => {}));
    const fetchWithConnectTimeout = createClassifyingFetch({ connectTimeoutMs: 50 });
    const f = await failureOf(
      fetchWithConnectTimeout(`https://127.0.0.1:${srv.port}/`, { method: 'POST', body: 'x' }),
    );
    expect(f).toMatchObject({ kind: 'timeout', delivery: 'not_sent', code: 'BW_CONNECT_TIMEOUT' });
  });

  it('the connect timeout does not cut a slow answer whose request was written', async () => {
    const srv = track(
      await httpServer((_req, res) => {
        setTimeout(() => res.end('late but fine'), 120);
      }),
    );
    const fetchWithConnectTimeout = createClassifyingFetch({ connectTimeoutMs: 30 });
    const res = await fetchWithConnectTimeout(srv.url);
    expect(await res.text()).toBe('late but fine');
  });

  it('the caller abort still reaches a request made through the connect-timeout fetch', async () => {
    const srv = track(await httpServer(() => {}));
    const ctrl = new AbortController();
    const fetchWithConnectTimeout = createClassifyingFetch({ connectTimeoutMs: 1000 });
    const p = fetchWithConnectTimeout(srv.url, { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 20);
    const f = await failureOf(p);
    expect(f.kind).toBe('cancelled');
  });

  it('an HTTP answer is classified by status on a Response-bearing error', async () => {
    const srv = track(
      await httpServer((_req, res) => {
        res.writeHead(429, { 'retry-after': '2' }).end();
      }),
    );
    const res = await fetch(srv.url);
    const f = classify(Object.assign(new Error('http'), { status: res.status, headers: res.headers }));
    expect(f).toMatchObject({ kind: 'rate_limited', delivery: 'not_processed', retryAfterMs: 2000 });
  });

  it('rejects a nonsensical connect timeout naming the field', () => {
    expect(() => createClassifyingFetch({ connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs/);
  });
});

describe('a fetch whose first request was written', () => {
  const fetch = createClassifyingFetch();

  it('a POST redirected (307) to a refused port may have taken effect: unknown, not the refusal’s not_sent', async () => {
    const port = await closedPort();
    let received = 0;
    const srv = track(
      await httpServer((req, res) => {
        req.resume();
        received++;
        res.writeHead(307, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
      }),
    );
    const f = await failureOf(fetch(srv.url, { method: 'POST', body: 'pay' }));
    expect(received).toBe(1);
    expect(f).toMatchObject({ kind: 'network', delivery: 'unknown', code: 'ECONNREFUSED' });
  });

  it('a request fetch refuses to build or dial is never dialed: not_sent, not worth repeating', async () => {
    for (const url of ['http://exa mple.com/', 'http://127.0.0.1:25/', 'ftp://127.0.0.1/']) {
      const f = await failureOf(fetch(url, { method: 'POST', body: 'x' }));
      expect(f).toMatchObject({ kind: 'client_error', delivery: 'not_sent', shouldRetry: false });
    }
    const f = await failureOf(fetch('http://127.0.0.1:1/', { headers: { 'x-a': 'a\nb' } }));
    expect(f).toMatchObject({ kind: 'client_error', delivery: 'not_sent' });
  });
});

describe('a dispatcher the probe cannot see', () => {
  it('proves nothing: no request is counted, so a non-idempotent caller is left unknown', async () => {
    // A dispatcher that creates no undici request: it reads the body, then reports a refusal.
    const dispatcher = {
      dispatch(
        _opts: unknown,
        handler: { onConnect?: (abort: () => void) => void; onError: (e: Error) => void },
      ) {
        handler.onConnect?.(() => {});
        setImmediate(() =>
          handler.onError(
            Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }),
          ),
        );
        return true;
      },
    };
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('pay'));
        c.close();
      },
    });
    const f = createClassifyingFetch();
    let err: unknown;
    try {
      await f('http://127.0.0.1:8080/pay', {
        method: 'POST',
        body,
        duplex: 'half',
        dispatcher,
      } as RequestInit);
    } catch (e) {
      err = e;
    }
    // Not mistaken for a request that could not be built (its body stream is locked by now).
    expect(classify(err, { strict: true })).toMatchObject({ delivery: 'unknown' });
  });
});
