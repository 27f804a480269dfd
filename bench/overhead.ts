/**
 * Per-call overhead of a full policy on the happy path, next to a bare call
 * and the peers, from one run, in two shapes: an async no-op (the library's
 * own cost, nothing else), and a function with one `setImmediate` hop (the
 * realistic case: a call that really waits for I/O, where what a library
 * does around the await — timers, promises, listeners — shows up).
 */
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import CircuitBreakerOpossum from 'opossum';
import pRetry from 'p-retry';
import { type Measured, measure, table } from './harness.js';
import { bw as breakwater } from './library.js';

export interface Shape {
  readonly name: string;
  readonly fn: () => Promise<number>;
}

export const SHAPES: readonly Shape[] = [
  { name: 'async no-op', fn: async () => 1 },
  { name: 'one setImmediate hop', fn: () => new Promise<number>((resolve) => setImmediate(resolve, 1)) },
];

async function contenders(shape: Shape): Promise<Measured[]> {
  const fn = shape.fn;
  const hop = shape !== SHAPES[0];
  // Fewer calls for the slow peers and the hop: a round must not take minutes.
  const n = (calls: number) => (hop ? Math.round(calls / 4) : calls);
  const bw = breakwater.createPolicy('idempotent', { dependency: 'bench' });
  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(10_000, TimeoutStrategy.Cooperative),
  );
  const opossum = new CircuitBreakerOpossum(fn, { timeout: 10_000, resetTimeout: 5_000 });
  const rows: Measured[] = [];
  rows.push(await measure('bare call', () => fn(), n(200_000)));
  rows.push(
    await measure('breakwater createPolicy (retry+breaker+gate+timeouts)', () => bw.run(fn), n(200_000)),
  );
  rows.push(await measure('opossum (breaker+timeout)', () => opossum.fire(), n(200_000)));
  rows.push(await measure('p-retry (retries: 2)', () => pRetry(fn, { retries: 2 }), n(100_000)));
  rows.push(
    await measure('cockatiel wrap(retry, breaker, timeout)', () => cockatiel.execute(fn), n(100_000)),
  );
  opossum.shutdown();
  return rows;
}

export async function overheadBench(): Promise<{ rows: Measured[]; text: string }> {
  const all: Measured[] = [];
  const lines: (string | number)[][] = [];
  for (const shape of SHAPES) {
    const rows = await contenders(shape);
    const bare = rows[0]!.nsPerCall;
    const opossumAdded = rows[2]!.nsPerCall - bare;
    for (const r of rows) {
      all.push({ name: `${shape.name}: ${r.name}`, nsPerCall: r.nsPerCall });
      lines.push([
        shape.name,
        r.name,
        r.nsPerCall,
        r.nsPerCall - bare,
        r.nsPerCall / bare,
        r === rows[0] ? '-' : (r.nsPerCall - bare) / opossumAdded,
      ]);
    }
  }
  const text = table(['shape', 'contender', 'ns per call', 'added ns', '× bare', '× opossum added'], lines);
  return { rows: all, text };
}
