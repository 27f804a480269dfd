/**
 * Failover latency: the primary provider is down (its port refuses
 * connections), the secondary is healthy and answers after a known delay.
 * Once the primary's breaker is open, how much slower is a routed call than
 * calling the secondary directly? Real local HTTP, the official SDKs, the
 * router from the compiled package with the built-in `llm` profile; routed
 * and direct calls alternate, so that drift in the machine's speed hits both.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type * as Providers from '../src/providers/index.js';
import { anthropicReplies, startFakeAnthropic } from '../test/fakes/anthropic-server.js';
import { table } from './harness.js';
import { bw } from './library.js';

// The router is not exported from the package root yet; load it from the same build.
const providers: typeof Providers = await import(new URL('../dist/providers/index.js', import.meta.url).href);

const SECONDARY_LATENCY_MS = 20;
const SAMPLES = 1_000;
const WARM_UP = 20;
const RESULTS = new URL('./results/', import.meta.url);

/** A port that was free a moment ago: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface FailoverRow {
  readonly path: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export async function failoverBench(): Promise<{ rows: FailoverRow[]; text: string }> {
  const secondary = await startFakeAnthropic();
  secondary.respond(() => anthropicReplies.text('ok', SECONDARY_LATENCY_MS));
  const port = await closedPort();
  const fetch = bw.createClassifyingFetch({ connectTimeoutMs: 2_000 });
  const openai = new OpenAI({ apiKey: 'sk-bench', baseURL: `http://127.0.0.1:${port}/v1`, fetch });
  const anthropic = new Anthropic({ apiKey: 'sk-ant-bench', baseURL: secondary.baseURL, fetch });
  const router = providers.createRouter({
    providers: [
      providers.createOpenAIProvider(openai, { model: 'gpt-bench' }),
      providers.createAnthropicProvider(anthropic, { model: 'claude-bench' }),
    ],
    profile: 'llm',
  });
  const request = { messages: [{ role: 'user' as const, content: 'Say ok.' }] };
  const direct = () =>
    anthropic.messages.create(
      { model: 'claude-bench', max_tokens: 64, messages: [{ role: 'user', content: 'Say ok.' }] },
      { maxRetries: 0 },
    );
  try {
    // Until the primary's breaker opens, routed calls first retry the dead primary: that phase is not measured.
    const breaker = router.routes[0]!.policy.breaker!;
    let opening = 0;
    const t0 = performance.now();
    while (breaker.state !== 'open') {
      await router.chat(request);
      opening++;
    }
    const openedAfterMs = performance.now() - t0;
    for (let i = 0; i < WARM_UP; i++) {
      await direct();
      await router.chat(request);
    }
    const tripsBefore = breaker.snapshot().trips;
    const routed: number[] = [];
    const own: number[] = [];
    let probes = 0;
    breaker.onTransition((t) => {
      if (t.to === 'half_open') probes++;
    });
    for (let i = 0; i < SAMPLES; i++) {
      let t = performance.now();
      await direct();
      own.push(performance.now() - t);
      t = performance.now();
      const r = await router.chat(request);
      routed.push(performance.now() - t);
      if (r.provider !== 'anthropic')
        throw new Error('failover bench: a routed call did not reach the secondary');
    }
    own.sort((a, b) => a - b);
    routed.sort((a, b) => a - b);
    const rows: FailoverRow[] = [
      {
        path: 'secondary called directly (its own latency)',
        p50: quantile(own, 0.5),
        p99: quantile(own, 0.99),
        max: own.at(-1)!,
      },
      {
        path: 'routed, primary down and its breaker open',
        p50: quantile(routed, 0.5),
        p99: quantile(routed, 0.99),
        max: routed.at(-1)!,
      },
    ];
    const [a, b] = rows as [FailoverRow, FailoverRow];
    const text = [
      `Primary: refuses connections. Secondary: answers after ${SECONDARY_LATENCY_MS} ms. Router over both with the \`llm\` profile; ${SAMPLES} routed calls alternating with ${SAMPLES} direct calls to the secondary, after the primary's breaker opened (${opening} routed calls and ${(openedAfterMs / 1_000).toFixed(1)} s of backoff on the dead primary to get there).`,
      '',
      table(
        ['path', 'p50 ms', 'p99 ms', 'max ms'],
        rows.map((r) => [r.path, r.p50, r.p99, r.max]),
      ),
      '',
      table(
        ['routed ÷ direct', 'p50', 'p99'],
        [['ratio (target ≤ 1.1)', (b.p50 / a.p50).toFixed(3), (b.p99 / a.p99).toFixed(3)]],
      ),
      '',
      `Half-open probes to the primary during the measurement: ${probes} (trips in a row before it: ${tripsBefore}).`,
    ].join('\n');
    await writeFile(new URL('failover.md', RESULTS), `${text}\n`);
    return { rows, text };
  } finally {
    await secondary.close();
  }
}
