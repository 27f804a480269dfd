/**
 * A tool's effect made through a client built on node:http (axios, got,
 * stripe-node, the AWS SDK), then a fetch of the same attempt that is
 * refused: the refusal proves nothing about the charge. Before, the delivery
 * record saw only fetch requests: the refused fetch read as "nothing of this
 * attempt was sent" and a non-idempotent tool was run, and billed, three times.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createRegistry,
  isBreakwaterError,
  NotSentError,
  type ProfileInput,
  type ToolContext,
} from '../../src/index.js';
import { caught } from '../fakes/caught.js';
import { closedPort, type HttpServer, httpServer } from '../fakes/tcp.js';

let payments: HttpServer;
let billed = 0;
let refusedPort: number;
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  payments = await httpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') billed++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"ch_1"}');
    });
  });
  refusedPort = await closedPort();
});
afterAll(async () => {
  keepAlive.destroy();
  await payments.close();
});

const roomy: ProfileInput = {
  timeout: { attemptMs: 30_000, totalMs: 60_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 1 }, budget: false },
  breaker: false,
};

/** What an SDK on node:http does: one request, resolved with its status once the body is read. */
function request(url: string, method: string, agent?: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

function tool(execute: (ctx: ToolContext, run: number) => Promise<unknown>) {
  const registry = createRegistry();
  let runs = 0;
  registry.register({
    name: 'charge_then_notify',
    input: z.object({}),
    profile: roomy,
    execute: (_input, ctx) => execute(ctx, ++runs),
  });
  return { call: () => registry.call('charge_then_notify', {}), runs: () => runs };
}

describe('an effect through node:http, then a refused fetch', () => {
  const notify = (ctx: ToolContext) =>
    ctx.fetch(`http://127.0.0.1:${refusedPort}/notify`, { method: 'POST', body: '{}' });

  it('on a new connection: outcome unknown, run and billed once', async () => {
    const before = billed;
    const t = tool(async (ctx) => {
      await request(`${payments.url}v1/charges`, 'POST');
      return notify(ctx);
    });
    const err = await caught(t.call());
    expect(t.runs()).toBe(1);
    expect(billed - before).toBe(1);
    expect(isBreakwaterError(err) && err.failure.delivery).toBe('unknown');
  });

  it('on a kept-alive socket connected before the attempt: the same', async () => {
    await request(`${payments.url}health`, 'GET', keepAlive);
    const before = billed;
    const t = tool(async (ctx) => {
      await request(`${payments.url}v1/charges`, 'POST', keepAlive);
      return notify(ctx);
    });
    const err = await caught(t.call());
    expect(t.runs()).toBe(1);
    expect(billed - before).toBe(1);
    expect(isBreakwaterError(err) && err.failure.delivery).toBe('unknown');
  });

  it('a node:http request refused at connect wrote nothing: NotSentError still lets the call be retried', async () => {
    const t = tool(async (_ctx, run) => {
      if (run === 1) {
        try {
          await request(`http://127.0.0.1:${refusedPort}/v1/charges`, 'POST');
        } catch (err) {
          throw new NotSentError('payments refused the connection', { cause: err });
        }
      }
      return 'charged';
    });
    expect(await t.call()).toBe('charged');
    expect(t.runs()).toBe(2);
  });
});
