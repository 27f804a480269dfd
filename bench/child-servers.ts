/**
 * Fake servers for a benchmark, in a process of their own. On two cores, a
 * server sharing the client's event loop adds its own work to every latency
 * the client measures (a 50 ms answer read as 80–90 ms), and stretches every
 * burst the client sends. Run by `startChildServers` (bench/child.ts) as
 * `node --import tsx bench/child-servers.ts <kind> <json options>`: prints the
 * servers' base URLs as one JSON line, answers each `stats <json argument>`
 * line on stdin with one JSON line, and closes the servers when stdin ends.
 */
import { createInterface } from 'node:readline';
import { createSeededRandom } from '../src/testing/prng.js';
import { openaiReplies, startFakeOpenAI } from '../test/fakes/openai-server.js';
import { type RateLimitedLlmOptions, startRateLimitedLlm } from '../test/fakes/rate-limited-llm.js';

interface Served {
  readonly urls: readonly string[];
  stats(arg: unknown): unknown;
  close(): Promise<unknown>;
}

/** Two OpenAI deployments answering in `fastMs`, except a seeded `slowShare` in `slowMs`. */
async function slowTailed(o: {
  seed: number;
  fastMs: number;
  slowMs: number;
  slowShare: number;
}): Promise<Served> {
  const fakes = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  for (const [i, s] of fakes.entries()) {
    const random = createSeededRandom(o.seed + i);
    s.respond(() => openaiReplies.text('ok', random() < o.slowShare ? o.slowMs : o.fastMs));
  }
  return {
    urls: fakes.map((s) => s.baseURL),
    stats: () => fakes.map((s) => ({ count: s.count, clientCloses: s.clientCloses })),
    close: () => Promise.all(fakes.map((s) => s.close())),
  };
}

/** The rate-limited LLM server (test/fakes/rate-limited-llm.ts); `stats` takes an API key. */
async function rateLimited(o: RateLimitedLlmOptions): Promise<Served> {
  const server = await startRateLimitedLlm(o);
  return {
    urls: [server.baseURL],
    stats: (key) => server.stats(typeof key === 'string' ? key : undefined),
    close: () => server.close(),
  };
}

const kinds = { 'slow-tailed': slowTailed, 'rate-limited': rateLimited } as const;
const kind = process.argv[2] as keyof typeof kinds;
const start = kinds[kind] as (o: unknown) => Promise<Served>;
if (start === undefined) throw new Error(`child-servers: unknown kind ${String(kind)}`);
const served = await start(JSON.parse(process.argv[3] ?? '{}'));
console.log(JSON.stringify({ urls: served.urls }));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, ...rest] = line.trim().split(' ');
  if (command === 'stats')
    console.log(JSON.stringify(served.stats(rest.length > 0 ? JSON.parse(rest.join(' ')) : undefined)));
});
lines.on('close', () => {
  void served.close().then(() => process.exit(0));
});
