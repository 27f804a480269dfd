import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { proveDelivery } from '../../src/failure/attempt-delivery.js';
import { classify, classifyHttp } from '../../src/failure/classify.js';
import { annotateDelivery } from '../../src/failure/delivery-probe.js';
import { TimeoutError } from '../../src/failure/errors.js';
import { NotSentError } from '../../src/failure/not-sent.js';

function sysError(code: string, syscall?: string): Error {
  return Object.assign(new Error(code), { code, ...(syscall ? { syscall } : {}) });
}

/** The shape Node's fetch throws: TypeError('fetch failed') with the system error as cause. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

describe('classify: network errors', () => {
  it.each([
    ['ECONNREFUSED', 'connect'],
    ['ENOTFOUND', 'getaddrinfo'],
    ['EAI_AGAIN', 'getaddrinfo'],
    ['UND_ERR_CONNECT_TIMEOUT', undefined],
    ['ECONNRESET', 'connect'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', undefined],
  ])('%s (%s) was never sent', (code, syscall) => {
    const f = classify(fetchFailed(sysError(code, syscall)));
    expect(f.delivery).toBe('not_sent');
    expect(f.code).toBe(code);
  });

  it.each([
    ['ECONNRESET', 'read'],
    ['EPIPE', 'write'],
    ['UND_ERR_SOCKET', undefined],
    ['UND_ERR_HEADERS_TIMEOUT', undefined],
  ])('%s (%s) may have been sent', (code, syscall) => {
    const f = classify(fetchFailed(sysError(code, syscall)));
    expect(f.delivery).toBe('unknown');
  });

  it('finds codes inside AggregateErrors (happy eyeballs)', () => {
    const agg = new AggregateError(
      [sysError('ECONNREFUSED', 'connect'), sysError('ECONNREFUSED', 'connect')],
      'all failed',
    );
    expect(classify(fetchFailed(agg)).delivery).toBe('not_sent');
  });

  it('headers timeouts are timeouts', () => {
    expect(classify(fetchFailed(sysError('UND_ERR_HEADERS_TIMEOUT'))).kind).toBe('timeout');
  });

  it('proof from the delivery probe beats an ambiguous code', () => {
    const err = fetchFailed(sysError('UND_ERR_SOCKET'));
    annotateDelivery(err, false);
    expect(classify(err).delivery).toBe('not_sent');
    expect(classify(fetchFailed(sysError('UND_ERR_SOCKET')), { requestWritten: false }).delivery).toBe(
      'not_sent',
    );
  });
});

describe('classify: HTTP answers, duck-typed like the SDK errors', () => {
  const sdkError = (status: number, headers: Record<string, string> = {}) =>
    Object.assign(new Error(`${status}`), { status, headers: new Headers(headers) });

  it.each([
    [429, {}, 'rate_limited', 'not_processed'],
    [529, {}, 'overloaded', 'not_processed'],
    [503, { 'retry-after': '1' }, 'overloaded', 'not_processed'],
    [503, {}, 'overloaded', 'unknown'],
    [500, {}, 'server_error', 'unknown'],
    [502, {}, 'server_error', 'unknown'],
    [504, {}, 'server_error', 'unknown'],
    [408, {}, 'timeout', 'unknown'],
    [409, {}, 'conflict', 'not_processed'],
    [400, {}, 'client_error', 'processed'],
    [404, {}, 'client_error', 'processed'],
    [422, {}, 'client_error', 'processed'],
    [401, {}, 'auth', 'processed'],
    [403, {}, 'auth', 'processed'],
    [500, { 'x-should-retry': 'false' }, 'server_error', 'processed'],
    [500, { 'x-should-retry': 'true' }, 'server_error', 'not_processed'],
  ] as const)('%i %j → %s / %s', (status, headers, kind, delivery) => {
    const f = classify(sdkError(status, headers));
    expect(f.kind).toBe(kind);
    expect(f.delivery).toBe(delivery);
    expect(f.status).toBe(status);
  });

  it('carries Retry-After from plain-object headers too', () => {
    const err = Object.assign(new Error('429'), { status: 429, headers: { 'retry-after-ms': '120' } });
    expect(classify(err).retryAfterMs).toBe(120);
    expect(classifyHttp(429, { 'retry-after': '2' }, undefined).retryAfterMs).toBe(2000);
  });
});

describe('classify: aborts and timeouts', () => {
  it('a caller abort is cancelled; our timeout is timeout', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(classify(abort).kind).toBe('cancelled');
    expect(classify(abort, { timedOut: 'attempt' }).kind).toBe('timeout');
    expect(classify(abort, { cancelled: true, timedOut: 'attempt' }).kind).toBe('cancelled');
    expect(classify(new DOMException('t', 'TimeoutError')).kind).toBe('timeout');
  });

  it('the SDKs cause-less timeout error is a timeout of unknown delivery', () => {
    const e = Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' });
    const f = classify(e);
    expect(f).toMatchObject({ kind: 'timeout', delivery: 'unknown' });
  });

  it('returns the failure a breakwater error already carries', () => {
    const failure = { kind: 'timeout', delivery: 'not_sent', message: 'x', cause: undefined } as const;
    expect(classify(new TimeoutError({ failure, scope: 'attempt' }))).toBe(failure);
  });

  it('an unrecognized error is unknown/unknown and keeps it as cause', () => {
    const e = new Error('boom');
    expect(classify(e)).toMatchObject({ kind: 'unknown', delivery: 'unknown', cause: e });
    expect(classify('a string')).toMatchObject({ kind: 'unknown', delivery: 'unknown' });
  });
});

describe('classify: delivery is proven per attempt', () => {
  const refused = () => fetchFailed(sysError('ECONNREFUSED', 'connect'));
  const trace = (reached: number, statuses: number[] = []) => ({ requests: reached + 1, reached, statuses });

  it('a refusal after another request of the attempt reached its server is unknown', () => {
    expect(classify(refused(), { attempt: trace(0) }).delivery).toBe('not_sent');
    expect(classify(refused(), { attempt: trace(1, [200]) }).delivery).toBe('unknown');
  });

  it('an HTTP answer speaks for its own request only', () => {
    const tooMany = Object.assign(new Error('429'), { status: 429, headers: new Headers() });
    // The 429 was the only request that reached: not processed.
    expect(classify(tooMany, { attempt: trace(1, [429]) }).delivery).toBe('not_processed');
    // An earlier 200 reached too: that one may have acted.
    expect(classify(tooMany, { attempt: trace(2, [200, 429]) }).delivery).toBe('unknown');
    // A 422 after a billed 200 is no definite answer for the attempt.
    const invalid = Object.assign(new Error('422'), { status: 422, headers: new Headers() });
    expect(classify(invalid, { attempt: trace(2, [200, 422]) })).toMatchObject({
      kind: 'client_error',
      delivery: 'unknown',
    });
  });

  it('strict: a code from a client breakwater does not watch is no proof; NotSentError is', () => {
    const driver = sysError('ECONNREFUSED', 'connect');
    expect(classify(driver).delivery).toBe('not_sent');
    expect(classify(driver, { strict: true })).toMatchObject({ kind: 'network', delivery: 'unknown' });
    const vouched = new NotSentError('refused at connect', { cause: driver });
    expect(classify(vouched, { strict: true })).toMatchObject({
      kind: 'network',
      delivery: 'not_sent',
      code: 'ECONNREFUSED',
    });
  });

  it('strict: the classifying fetch’s own proof still counts', () => {
    const err = refused();
    annotateDelivery(err, false);
    expect(classify(err, { strict: true }).delivery).toBe('not_sent');
  });

  it('a nested breakwater failure "not sent" after a request reached is unknown', () => {
    const inner = new TimeoutError({
      failure: { kind: 'timeout', delivery: 'not_sent', message: 'deadline', cause: undefined },
      scope: 'deadline',
    });
    expect(classify(inner, { attempt: trace(1) }).delivery).toBe('unknown');
  });

  it('proveDelivery marks a rejection with its attempt’s trace and strictness', async () => {
    const run = proveDelivery(
      async () => {
        throw sysError('ECONNREFUSED', 'connect');
      },
      { strict: true },
    );
    const err = await run(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classify(err).delivery).toBe('unknown');
    const sync = proveDelivery(
      () => {
        throw new NotSentError('never dialed');
      },
      { strict: true },
    );
    let thrown: unknown;
    try {
      sync(undefined);
    } catch (e) {
      thrown = e;
    }
    expect(classify(thrown).delivery).toBe('not_sent');
  });
});

describe('classify: per-attempt delivery, as a property', () => {
  const rank = { not_sent: 0, not_processed: 1, processed: 2, unknown: 3 } as const;
  const errorArb = fc.oneof(
    fc
      .constantFrom('ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE')
      .map((code) => fetchFailed(sysError(code, code === 'ECONNREFUSED' ? 'connect' : undefined))),
    fc
      .constantFrom(200, 400, 409, 422, 429, 500, 503, 529)
      .map((status) => Object.assign(new Error(String(status)), { status, headers: new Headers() })),
    fc.constant(new NotSentError('vouched')),
  );
  const traceArb = fc
    .record({
      reached: fc.nat(4),
      unwritten: fc.nat(3),
      statuses: fc.array(fc.constantFrom<number>(200, 422, 429, 500), { maxLength: 4 }),
    })
    .map((t) => ({ requests: t.reached + t.unwritten, reached: t.reached, statuses: t.statuses }));

  it('the attempt never makes a failure more sendable, and any other reached request makes it unknown', () => {
    fc.assert(
      fc.property(errorArb, traceArb, fc.boolean(), (err, attempt, strict) => {
        const alone = classify(err, { strict });
        const within = classify(err, { strict, attempt });
        expect(rank[within.delivery]).toBeGreaterThanOrEqual(rank[alone.delivery]);
        const answered = alone.status !== undefined && attempt.statuses.includes(alone.status) ? 1 : 0;
        if (attempt.reached - answered > 0) expect(within.delivery).toBe('unknown');
        if (attempt.reached === 0) expect(within).toEqual(alone);
      }),
    );
  });
});
