/**
 * The two slow-tailed deployments of the hedging benchmark, in a process of
 * their own: on two cores, servers sharing the client's event loop add their
 * own work to every latency the client measures, and a 50 ms answer reads as
 * 80–90 ms. Started by bench/hedging.ts with a seed; prints the servers'
 * base URLs as one JSON line, answers `stats` on stdin with their counters,
 * and closes them when stdin ends.
 */
import { createInterface } from 'node:readline';
import { createSeededRandom } from '../src/testing/prng.js';
import { openaiReplies, startFakeOpenAI } from '../test/fakes/openai-server.js';

// The same figures as bench/hedging.ts states in its table.
const FAST_MS = 50;
const SLOW_MS = 2_000;
const SLOW_SHARE = 0.05;

const seed = Number(process.argv[2] ?? 1);
const fakes = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
for (const [i, s] of fakes.entries()) {
  const random = createSeededRandom(seed + i);
  s.respond(() => openaiReplies.text('ok', random() < SLOW_SHARE ? SLOW_MS : FAST_MS));
}
console.log(JSON.stringify({ urls: fakes.map((s) => s.baseURL) }));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'stats')
    console.log(
      JSON.stringify({ stats: fakes.map((s) => ({ count: s.count, clientCloses: s.clientCloses })) }),
    );
});
lines.on('close', () => {
  void Promise.all(fakes.map((s) => s.close())).then(() => process.exit(0));
});
