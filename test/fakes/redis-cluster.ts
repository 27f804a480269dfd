import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { redisAnswers } from './redis.js';
import { closedPort } from './tcp.js';

const run = promisify(execFile);

/** Whether `redis-server` and `redis-cli` are on the PATH. */
async function haveRedisBinaries(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * A cluster test needs redis-server and redis-cli. Absent, it is skipped with
 * a message that says so, never passed silently; on CI it is a failure.
 */
export async function redisClusterOrSkip(): Promise<boolean> {
  const ok = await haveRedisBinaries();
  if (!ok) {
    const msg = 'redis-server or redis-cli is not installed: the Redis Cluster test cannot run.';
    if (process.env.CI) throw new Error(msg);
    console.warn(`\n*** SKIPPED: ${msg}\n`);
  }
  return ok;
}

export interface OwnCluster {
  /** The masters' client ports, one per node. */
  readonly ports: readonly number[];
  /** Kills every node and removes the cluster's temp dir. */
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `size` masters and no replicas on free local ports, its
 * node files in a temp dir of its own; ready (`cluster_state:ok` on every
 * node) when the promise resolves.
 */
export async function ownCluster(size = 3): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bw-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const port = await closedPort();
      // The bus port is chosen too: port + 10 000 may be past 65 535 for an ephemeral port.
      const busPort = await closedPort();
      ports.push(port);
      children.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await redisAnswers(port);
        if (!up) await new Promise((r) => setTimeout(r, 20));
      }
      if (!up) throw new Error(`redis-server (cluster node) did not start on port ${port}`);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      try {
        await node.connect();
        let ok = false;
        for (let i = 0; i < 250 && !ok; i++) {
          ok = (await node.cluster('INFO')).includes('cluster_state:ok');
          if (!ok) await new Promise((r) => setTimeout(r, 20));
        }
        if (!ok) throw new Error(`cluster node ${port} never reached cluster_state:ok`);
      } finally {
        node.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, stop };
}
