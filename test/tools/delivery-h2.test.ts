/**
 * Issue 12, item 2: HTTP/2 gives no proof of "not sent". undici announces the
 * writing of HTTP/1 requests only; over `new Agent({ allowH2: true })` a
 * stream reset after the server took a charge was classified `not_sent` and
 * retried. Real HTTP/2 (node:http2 over TLS), through the registry's ctx.fetch.
 */
import http2 from 'node:http2';
import { createStepClock, createTracker, drive } from 'breakwater/testing';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FetchLike } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createRegistry } from '../../src/tools/registry.js';
import { caught } from '../fakes/caught.js';
import { type H2Server, h2Server, selfSigned } from '../fakes/h2.js';
import { closedPort } from '../fakes/tcp.js';

const tracker = createTracker();
let server: H2Server;
let agent: Agent;
/** Charges taken, by the idempotency key they were sent with. */
const charges = new Map<string, number>();
let total = 0;

beforeAll(async () => {
  const tls = selfSigned();
  // A payment API that takes the charge, then resets the stream instead of answering.
  server = await h2Server(tls, (stream, headers) => {
    const key = String(headers['idempotency-key'] ?? '');
    if (headers[':method'] === 'GET') {
      const n = charges.get(key) ?? 0;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ found: n > 0, charges: n }));
      return;
    }
    const charge = () => {
      charges.set(key, (charges.get(key) ?? 0) + 1);
      total++;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    };
    // An upload is charged at its first chunk: the client is still streaming when the stream is reset.
    if (headers[':path'] === '/v1/uploads') stream.once('data', charge);
    else {
      stream.resume();
      stream.on('end', charge);
    }
  });
  agent = new Agent({ allowH2: true, connect: { ca: tls.cert } });
});
afterAll(async () => {
  await agent.close();
  await server.close();
});

const roomy: ProfileInput = {
  timeout: { attemptMs: 5_000, totalMs: 60_000, connectMs: 5_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 10 }, budget: false },
  breaker: false,
};

/** Node's fetch over the HTTP/2 agent: what `registry({ fetch })` is given. */
const h2Fetch: FetchLike = (input, init) =>
  fetch(input, { ...init, dispatcher: agent } as RequestInit & { dispatcher: Agent });

function payments(withReconcile: boolean) {
  const clock = createStepClock();
  const registry = createRegistry({ clock, random: () => 0.5, fetch: h2Fetch });
  let runs = 0;
  registry.register({
    name: 'charge_card',
    input: z.object({ amount: z.number() }),
    profile: roomy,
    ...(withReconcile
      ? {
          idempotency: {
            reconcile: async (key, _input, ctx) =>
              tracker.run(async (headers) => {
                const res = await ctx.fetch(`${server.url}v1/charges`, {
                  headers: { ...headers, 'idempotency-key': key },
                });
                const body = (await res.json()) as { found: boolean; charges: number };
                return body.found ? { found: true, value: { charged: body.charges } } : { found: false };
              }),
          },
        }
      : {}),
    execute: (input, ctx) =>
      tracker.run(async (headers) => {
        runs++;
        const res = await ctx.fetch(`${server.url}v1/charges`, {
          method: 'POST',
          headers,
          body: JSON.stringify(input),
        });
        return res.json();
      }),
  });
  return {
    runs: () => runs,
    call: (callId: string) =>
      drive(clock, tracker, registry.call('charge_card', { amount: 735 }, { callId })),
  };
}

describe('HTTP/2: a stream reset after the charge', () => {
  it('is outcome unknown, with exactly one charge', async () => {
    const before = total;
    const p = payments(false);
    const err = await caught(p.call('call_h2_unknown'));
    expect(isBreakwaterError(err) && err.code).toBe('outcome_unknown');
    expect(isBreakwaterError(err) && err.failure.delivery).toBe('unknown');
    expect(p.runs()).toBe(1);
    expect(total - before).toBe(1);
  });

  it('is reconciled when the tool can look the charge up: one charge, its result returned', async () => {
    const before = total;
    const p = payments(true);
    expect(await p.call('call_h2_reconciled')).toEqual({ charged: 1 });
    expect(p.runs()).toBe(1);
    expect(total - before).toBe(1);
  });

  it('a reset while the body is still streaming (undici never says it was sent) is unknown too', async () => {
    const before = total;
    const clock = createStepClock();
    const registry = createRegistry({ clock, random: () => 0.5, fetch: h2Fetch });
    let runs = 0;
    registry.register({
      name: 'upload',
      input: z.object({}),
      profile: roomy,
      execute: (_input, ctx) =>
        tracker.run(async (headers) => {
          runs++;
          // One chunk, then the stream stays open: the request body is never finished.
          const body = new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new TextEncoder().encode('chunk'));
            },
          });
          const res = await ctx.fetch(`${server.url}v1/uploads`, {
            method: 'POST',
            headers,
            body,
            duplex: 'half',
          } as RequestInit);
          return res.json();
        }),
    });
    const err = await caught(drive(clock, tracker, registry.call('upload', {}, { callId: 'call_upload' })));
    expect(isBreakwaterError(err) && err.code).toBe('outcome_unknown');
    expect(runs).toBe(1);
    expect(total - before).toBe(1);
  });

  it('a refused connection over the HTTP/2 agent is still provably not sent', async () => {
    const port = await closedPort();
    const clock = createStepClock();
    const registry = createRegistry({ clock, random: () => 0.5, fetch: h2Fetch });
    let runs = 0;
    registry.register({
      name: 'charge_elsewhere',
      input: z.object({}),
      profile: roomy,
      execute: (_input, ctx) =>
        tracker.run(async () => {
          runs++;
          return ctx.fetch(`https://127.0.0.1:${port}/v1/charges`, { method: 'POST', body: '{}' });
        }),
    });
    const err = await caught(drive(clock, tracker, registry.call('charge_elsewhere', {})));
    expect(isBreakwaterError(err) && err.failure.delivery).toBe('not_sent');
    // Not sent, so tried again until the attempts ran out.
    expect(runs).toBe(3);
  });
});
