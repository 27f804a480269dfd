/**
 * The seed's three scenarios, live against a local flaky server: a transient
 * failure recovered by retries, a persistent failure that trips the breaker
 * so later calls fail fast, and a half-open probe that brings traffic back.
 */
import { createClassifyingFetch, createPolicy, isBreakwaterError, type PolicyEvent } from 'breakwater';
import { startFlakyServer } from './flaky-server.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const dim = paint(2);
const green = paint(32);
const red = paint(31);
const yellow = paint(33);
const bold = paint(1);

function describe(e: PolicyEvent): string | undefined {
  switch (e.type) {
    case 'retry_scheduled':
      return `${yellow('retry')} attempt ${e.attempt} in ${Math.round(e.delayMs)} ms (${e.failure.message}${e.fromRetryAfter ? ', as the server asked' : ''})`;
    case 'breaker_transition':
      return `${e.to === 'closed' ? green('breaker') : red('breaker')} ${e.from} → ${e.to} (${e.reason.replace('_', ' ')})`;
    case 'rejected':
      return `${red('rejected')} without a call: ${e.reason.replace('_', ' ')}`;
    case 'cooldown_started':
      return `${yellow('cooldown')} every caller pauses ${e.retryAfterMs} ms`;
    default:
      return undefined;
  }
}

export async function runPolicyScenarios(
  log: (line: string) => void = console.log,
): Promise<{ hits: number }> {
  const server = await startFlakyServer();
  const fetch = createClassifyingFetch({ connectTimeoutMs: 1_000 });
  const policy = createPolicy(
    {
      name: 'inventory',
      timeout: { attemptMs: 1_000, totalMs: 5_000 },
      retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 500 } },
      breaker: { mode: 'consecutive', consecutiveFailures: 3, openMs: 1_000, windowMs: 2_000 },
    },
    {
      dependency: 'inventory',
      observer: {
        event: (e) => {
          const line = describe(e);
          if (line) log(`    ${line}`);
        },
      },
    },
  );
  const call = async (label: string) => {
    const t0 = performance.now();
    try {
      const body = await policy.run(async ({ signal }) => {
        const res = await fetch(server.url, { signal });
        if (!res.ok)
          throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, headers: res.headers });
        return res.json();
      });
      log(
        `  ${label}: ${green('ok')} ${JSON.stringify(body)} ${dim(`${Math.round(performance.now() - t0)} ms, server hits so far ${server.hits}`)}`,
      );
    } catch (err) {
      const what = isBreakwaterError(err)
        ? `${err.name} (${err.failure.kind}/${err.failure.delivery})`
        : String(err);
      log(
        `  ${label}: ${red('failed')} ${what} ${dim(`${Math.round(performance.now() - t0)} ms, server hits so far ${server.hits}`)}`,
      );
    }
  };

  try {
    log(bold('\n1. Transient failure: the server answers 503 twice, then recovers'));
    server.set({ kind: 'flaky', failFirst: 2 });
    await call('call');

    log(bold('\n2. Persistent failure: the server answers 500 to everything'));
    server.set({ kind: 'fail', status: 500 });
    for (let i = 1; i <= 3; i++) await call(`call ${i}`);
    const before = server.hits;
    await call('call 4');
    log(
      `  ${dim(`the server saw ${server.hits - before} request(s) for call 4: the open breaker answered instead`)}`,
    );

    log(bold('\n3. Recovery: the server is healthy again; after the open period one probe goes through'));
    server.set({ kind: 'ok' });
    await call('too early');
    await new Promise((r) => setTimeout(r, 1_050));
    await call('probe');
    await call('after');
    return { hits: server.hits };
  } finally {
    await server.close();
  }
}
