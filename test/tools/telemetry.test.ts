import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createRegistry } from '../../src/tools/registry.js';
import { everyRecordedString, installOtel } from '../fakes/otel.js';

let otel: ReturnType<typeof installOtel>;
beforeEach(() => {
  otel = installOtel();
});
afterEach(async () => {
  await otel.uninstall();
});

describe('tool calls in OpenTelemetry', () => {
  it('one execute_tool span per call, attempts as children, a replay as a ledger event, no arguments', async () => {
    const clock = createVirtualClock(0);
    const registry = createRegistry({ clock, random: () => 0, telemetry: createTelemetry() });
    let runs = 0;
    registry.register({
      name: 'charge_card',
      input: z.object({ card: z.string() }),
      idempotency: { honored: true },
      execute: async () => {
        if (++runs === 1) throw Object.assign(new Error('HTTP 500'), { status: 500 });
        return { id: 'ch_1' };
      },
    });
    const args = { card: '4242 4242 4242 4242' };
    await clock.run(registry.call('charge_card', args, { callId: 'call_1' }));
    await clock.run(registry.call('charge_card', args, { callId: 'call_1' }));

    const ops = otel.spans().filter((s) => s.name === 'execute_tool charge_card');
    expect(ops).toHaveLength(2);
    const [first, replay] = ops;
    expect(first!.attributes).toMatchObject({
      'gen_ai.tool.name': 'charge_card',
      'gen_ai.tool.call.id': 'call_1',
      'breakwater.effect': 'non-idempotent',
      'breakwater.outcome': 'ok',
      'breakwater.attempts': 2,
      'breakwater.replayed': false,
    });
    expect(otel.children(first!)).toHaveLength(2);
    expect(replay!.attributes).toMatchObject({ 'breakwater.replayed': true, 'breakwater.attempts': 0 });
    expect(replay!.events.map((e) => e.name)).toContain('breakwater.ledger');
    expect(everyRecordedString(otel.spans()).join('\n')).not.toMatch(/4242/);
  });
});
