import { trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { everyRecordedString, installOtel } from '../fakes/otel.js';

let otel: ReturnType<typeof installOtel>;
beforeEach(() => {
  otel = installOtel();
});
afterEach(async () => {
  await otel.uninstall();
});

const http = (status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('telemetry of a policy', () => {
  it('a retried call: an operation span under the caller, one child per attempt, a retry event, metric points', async () => {
    const clock = createVirtualClock(1_000);
    const telemetry = createTelemetry();
    const policy = createPolicy(
      { name: 'inventory', retry: { backoff: { initialMs: 100, jitter: 'none' } } },
      { clock, dependency: 'inventory', observer: telemetry.observer({ type: 'policy', name: 'inventory' }) },
    );
    let n = 0;
    await trace.getTracer('app').startActiveSpan('agent turn', async (root) => {
      await clock.run(
        policy.run(async () => {
          if (n++ === 0) throw http(503, { 'retry-after': '1' });
          return 'ok';
        }),
      );
      root.end();
    });
    const root = otel.span('agent turn');
    const op = otel.span('breakwater inventory');
    expect(op.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(op.attributes).toMatchObject({
      'breakwater.outcome': 'ok',
      'breakwater.attempts': 2,
      'breakwater.effect': 'idempotent',
    });
    const attempts = otel.children(op);
    expect(attempts.map((s) => s.attributes['breakwater.attempt'])).toEqual([1, 2]);
    expect(attempts[0]?.attributes).toMatchObject({
      'breakwater.failure.kind': 'overloaded',
      'breakwater.failure.delivery': 'not_processed',
      'error.type': 'http_503',
    });
    expect(attempts[1]?.attributes['breakwater.attempt.wait_ms']).toBe(1000);
    const retry = op.events.find((e) => e.name === 'breakwater.retry');
    expect(retry?.attributes).toMatchObject({
      'breakwater.attempt': 2,
      'breakwater.retry.delay_ms': 1000,
      'breakwater.retry.from_retry_after': true,
    });
    const points = await otel.points();
    const attemptsOk = points.find(
      (p) => p.name === 'breakwater.attempts' && p.attributes['breakwater.attempt.outcome'] === 'ok',
    );
    const attemptsFailed = points.find(
      (p) => p.name === 'breakwater.attempts' && p.attributes['breakwater.attempt.outcome'] === 'failed',
    );
    expect(attemptsOk?.value).toBe(1);
    expect(attemptsFailed?.value).toBe(1);
    expect(points.find((p) => p.name === 'breakwater.retries')?.value).toBe(1);
  });

  it('a breaker that opens and recovers: transition events, rejection events and the state gauge', async () => {
    const clock = createVirtualClock(1_000);
    const telemetry = createTelemetry();
    const policy = createPolicy(
      {
        name: 'search',
        retry: { maxAttempts: 1 },
        breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 1_000, windowMs: 20_000 },
      },
      { clock, dependency: 'search', observer: telemetry.observer({ type: 'policy', name: 'search' }) },
    );
    const down = async () => {
      throw http(500);
    };
    for (let i = 0; i < 2; i++) await clock.run(policy.run(down)).catch(() => {});
    expect(
      (await otel.points()).find((p) => p.name === 'breakwater.breaker.state' && p.value === 1)?.attributes,
    ).toMatchObject({ 'breakwater.breaker.state': 'open', 'breakwater.dependency': 'search' });
    await clock.run(policy.run(down)).catch(() => {});
    await clock.advance(1_000);
    await clock.run(policy.run(async () => 'up'));
    const ops = otel.spans().filter((s) => s.name === 'breakwater search');
    const events = ops.flatMap((s) =>
      s.events.map(
        (e) =>
          `${e.name}:${e.attributes?.['breakwater.breaker.to'] ?? e.attributes?.['breakwater.rejected.reason'] ?? ''}`,
      ),
    );
    expect(events).toEqual([
      'breakwater.breaker.transition:open',
      'breakwater.rejected:circuit_open',
      'breakwater.breaker.transition:half_open',
      'breakwater.breaker.transition:closed',
    ]);
    const rejected = ops[2]!;
    expect(rejected.attributes).toMatchObject({
      'breakwater.outcome': 'failed',
      'error.type': 'circuit_open',
      'breakwater.attempts': 0,
    });
    expect(otel.children(rejected)).toHaveLength(0);
    const points = await otel.points();
    expect(
      points.find((p) => p.name === 'breakwater.breaker.state' && p.value === 1)?.attributes[
        'breakwater.breaker.state'
      ],
    ).toBe('closed');
    expect(
      points.filter((p) => p.name === 'breakwater.breaker.transitions').reduce((a, p) => a + p.value, 0),
    ).toBe(3);
    expect(points.find((p) => p.name === 'breakwater.rejections')?.value).toBe(1);
  });

  it('context crosses the gate queue: a queued attempt is still a child of its own operation', async () => {
    const clock = createVirtualClock(0);
    const telemetry = createTelemetry();
    const policy = createPolicy(
      { name: 'one-at-a-time', gate: { concurrency: 1 } },
      { clock, observer: telemetry.observer({ type: 'policy', name: 'one' }) },
    );
    const tracer = trace.getTracer('app');
    const work = (label: string) =>
      tracer.startActiveSpan(label, async (s) => {
        await policy.run(() => new Promise((r) => clock.setTimeout(() => r(label), 100)));
        s.end();
      });
    await clock.run(Promise.all([work('caller A'), work('caller B'), work('caller C')]));
    for (const label of ['caller A', 'caller B', 'caller C']) {
      const caller = otel.span(label);
      const op = otel.children(caller)[0]!;
      expect(op.name).toBe('breakwater one-at-a-time');
      expect(otel.children(op)).toHaveLength(1);
    }
    const waits = (await otel.points()).filter((p) => p.name === 'breakwater.gate.wait.duration');
    expect(waits[0]?.value).toBe(2); // B and C waited
  });

  it('records nothing of what the function returns or throws', async () => {
    const clock = createVirtualClock(0);
    const telemetry = createTelemetry();
    const policy = createPolicy(
      { name: 'p' },
      { clock, observer: telemetry.observer({ type: 'policy', name: 'p' }) },
    );
    const secret = 'sk-live-4242424242424242';
    await clock.run(policy.run(async () => ({ card: secret }))).catch(() => {});
    await clock
      .run(
        policy.run(async () => {
          throw new Error(`declined card ${secret}`);
        }),
      )
      .catch(() => {});
    const all = everyRecordedString(otel.spans()).join('\n');
    expect(all).not.toContain('4242');
    expect(otel.spans().length).toBeGreaterThan(2);
  });
});
