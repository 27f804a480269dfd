import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { closedPort } from './tcp.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Whether the shared Redis at 127.0.0.1:6379 answers PING. */
export async function redisAnswers(port = 6379): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * Redis tests need a real Redis. Absent, they are skipped with a message
 * that says so, never passed silently; on CI (where `.ci/run` starts one)
 * its absence is a failure.
 */
export async function redisOrSkip(): Promise<boolean> {
  const ok = await redisAnswers();
  if (!ok) {
    const msg = 'Redis is not answering at 127.0.0.1:6379: the Redis tests cannot run (start redis-server).';
    if (process.env.CI) throw new Error(msg);
    console.warn(`\n*** SKIPPED: ${msg}\n`);
  }
  return ok;
}

/** A fresh key prefix per test, so tests never see each other's state. */
export function testPrefix(name: string): string {
  return `bwtest:${name}:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}:`;
}

export function connect(port = 6379): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
}

export interface OwnRedis {
  readonly port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
}

export interface OwnRedisOptions {
  /** Run with an append-only file in `dir` (fsync on every write), so a restart keeps what was written. */
  readonly appendonly?: { readonly dir: string };
}

/** A dedicated redis-server on a free port, that the test itself starts and kills. */
export async function ownRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const port = await closedPort();
  let child: ChildProcess | undefined;
  const persistence = options.appendonly
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.appendonly.dir]
    : ['--appendonly', 'no'];
  return {
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
        {
          stdio: 'ignore',
        },
      );
      for (let i = 0; i < 100; i++) {
        if (await redisAnswers(port)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`redis-server did not start on port ${port}`);
    },
    async kill() {
      if (!child) return;
      const c = child;
      child = undefined;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      });
    },
  };
}

/** Replies ioredis still waits for (its queues of commands sent and not answered, and not sent yet). */
function inFlight(client: Redis): number {
  const c = client as unknown as { commandQueue: { length: number }; offlineQueue: { length: number } };
  // Sent and not answered, or not sent yet (the client is still connecting).
  return c.commandQueue.length + c.offlineQueue.length;
}

/** Waits (in real time) until no command of `client` awaits its reply and the promises that follow have run. */
export async function redisQuiet(client: Redis): Promise<void> {
  for (let quietTurns = 0; quietTurns < 3; ) {
    await new Promise((r) => setImmediate(r));
    if (inFlight(client) === 0) quietTurns++;
    else {
      quietTurns = 0;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/**
 * `clock.run` for code that talks to a real Redis: virtual time moves to the
 * next timer only once every Redis command has been answered, so an answer
 * is never overtaken by a timeout that could not have fired first.
 */
export async function runWithRedis<T>(
  clock: { now(): number; nextTimerIn(): number | undefined; advance(ms: number): Promise<void> },
  client: Redis,
  promise: Promise<T>,
  maxMs = 24 * 60 * 60 * 1000,
): Promise<T> {
  const limit = clock.now() + maxMs;
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  for (;;) {
    await redisQuiet(client);
    if (done) return tracked;
    const next = clock.nextTimerIn();
    if (next === undefined)
      throw new Error('runWithRedis: pending, with no timer due and no Redis reply awaited');
    if (clock.now() + next > limit) throw new Error(`runWithRedis: still pending after ${maxMs} ms`);
    await clock.advance(next);
  }
}
