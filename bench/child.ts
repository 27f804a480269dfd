/** Starts bench/child-servers.ts in a child process and speaks its line protocol. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChildServers {
  readonly urls: readonly string[];
  /** The servers' counters, as the kind reports them (`arg`: e.g. an API key). */
  stats<T>(arg?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startChildServers(
  kind: 'slow-tailed' | 'rate-limited',
  options: object,
): Promise<ChildServers> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./child-servers.ts', import.meta.url)),
      kind,
      JSON.stringify(options),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () =>
    Promise.race([
      new Promise<string>((resolve) => waiting.push(resolve)),
      exited.then((code) =>
        Promise.reject(new Error(`bench/child-servers.ts (${kind}) exited with ${code}`)),
      ),
    ]);
  const { urls } = JSON.parse(await next()) as { urls: string[] };
  return {
    urls,
    async stats<T>(arg?: unknown): Promise<T> {
      const line = next();
      child.stdin.write(`stats${arg === undefined ? '' : ` ${JSON.stringify(arg)}`}\n`);
      return JSON.parse(await line) as T;
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}
