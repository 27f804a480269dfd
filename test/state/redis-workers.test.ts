import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { redisOrSkip, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();
const workerFile = fileURLToPath(new URL('./redis-worker.ts', import.meta.url));

type Reply = { ok: boolean; code?: string; reached?: number; value?: unknown; ready?: boolean };

interface Worker {
  readonly child: ChildProcess;
  ask(cmd: object): Promise<Reply>;
}

const workers: Worker[] = [];
afterEach(() => {
  for (const w of workers.splice(0)) w.child.kill('SIGKILL');
});

async function startWorker(prefix: string, paymentUrl = 'http://127.0.0.1:1/'): Promise<Worker> {
  const child = fork(workerFile, [prefix, paymentUrl], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const replies: Array<(r: Reply) => void> = [];
  child.on('message', (m: Reply) => replies.shift()?.(m));
  await new Promise<Reply>((resolve) => replies.push(resolve));
  const w: Worker = {
    child,
    ask: (cmd) =>
      new Promise<Reply>((resolve) => {
        replies.push(resolve);
        child.send(cmd);
      }),
  };
  workers.push(w);
  return w;
}

describe.skipIf(!available)('several worker processes on one Redis', () => {
  it('failures in one open the breaker for all; the shared half-open admits exactly its probes across workers', async () => {
    const prefix = testPrefix('workers');
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => startWorker(prefix)));
    for (let i = 0; i < 3; i++)
      expect((await a!.ask({ op: 'call', fail: true, holdMs: 0 })).code).toBe('dependency_failed');
    // The other workers are refused without reaching the dependency.
    for (const w of [b!, c!, d!]) {
      const r = await w.ask({ op: 'call', fail: false, holdMs: 0 });
      expect(r).toMatchObject({ ok: false, code: 'circuit_open', reached: 0 });
    }
    await new Promise((r) => setTimeout(r, 350));
    // Half-open with 2 probes: four workers call at once, each holding its call open.
    const replies = await Promise.all(
      [a!, b!, c!, d!].map((w) => w.ask({ op: 'call', fail: false, holdMs: 200 })),
    );
    expect(replies.filter((r) => r.ok)).toHaveLength(2);
    expect(replies.filter((r) => !r.ok).map((r) => r.code)).toEqual(['circuit_open', 'circuit_open']);
    // Both probes succeeded: closed again, for everyone.
    const after = await Promise.all(
      [a!, b!, c!, d!].map((w) => w.ask({ op: 'call', fail: false, holdMs: 0 })),
    );
    expect(after.every((r) => r.ok)).toBe(true);
  }, 20_000);

  it('a payment interrupted on one worker and retried on another is charged once', async () => {
    // A payment API honoring Idempotency-Key; the first request is processed, then its worker dies.
    const charges = new Map<string, unknown>();
    let received = 0;
    let firstArrived!: () => void;
    const arrived = new Promise<void>((r) => (firstArrived = r));
    const server = http.createServer((req, res) => {
      received++;
      const key = String(req.headers['idempotency-key']);
      req.resume();
      req.on('end', () => {
        if (!charges.has(key)) charges.set(key, { id: `ch_${charges.size + 1}`, status: 'succeeded' });
        if (received === 1) {
          firstArrived();
          return; // processed; the answer never comes (its worker is killed)
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(charges.get(key)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charges`;
    try {
      const prefix = testPrefix('payment');
      const a = await startWorker(prefix, url);
      const b = await startWorker(prefix, url);
      void a.ask({ op: 'charge', callId: 'call_pay_1', deadlineMs: 1_000 });
      await arrived;
      a.child.kill('SIGKILL');
      // The dead worker's claim expires after its lease; the key is honored upstream, so B may take over.
      const r = await b.ask({ op: 'charge', callId: 'call_pay_1', deadlineMs: 10_000 });
      expect(r).toMatchObject({ ok: true, value: { id: 'ch_1', status: 'succeeded' } });
      expect(charges.size).toBe(1);
      expect(received).toBe(2);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);
});
