/**
 * Per-call overhead of a full policy on the happy path (an async no-op that
 * succeeds), next to a bare call and the peers, from one run.
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

export async function overheadBench(): Promise<{ rows: Measured[]; text: string }> {
  const noop = async () => 1;
  const bw = breakwater.createPolicy('idempotent', { dependency: 'bench' });
  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(10_000, TimeoutStrategy.Cooperative),
  );
  const opossum = new CircuitBreakerOpossum(noop, { timeout: 10_000, resetTimeout: 5_000 });
  const rows: Measured[] = [];
  rows.push(await measure('bare call', () => noop()));
  rows.push(await measure('breakwater createPolicy (retry+breaker+gate+timeouts)', () => bw.run(noop)));
  rows.push(await measure('opossum (breaker+timeout)', () => opossum.fire()));
  rows.push(await measure('p-retry (retries: 2)', () => pRetry(noop, { retries: 2 }), 100_000));
  rows.push(await measure('cockatiel wrap(retry, breaker, timeout)', () => cockatiel.execute(noop), 100_000));
  opossum.shutdown();
  const bare = rows[0]!.nsPerCall;
  const opossumAdded = rows[2]!.nsPerCall - bare;
  const text = table(
    ['contender', 'ns per call', 'added ns', '× bare', '× opossum added'],
    rows.map((r) => [
      r.name,
      r.nsPerCall,
      r.nsPerCall - bare,
      r.nsPerCall / bare,
      r === rows[0] ? '-' : (r.nsPerCall - bare) / opossumAdded,
    ]),
  );
  return { rows, text };
}
