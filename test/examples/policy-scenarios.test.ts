import { expect, it } from 'vitest';
import { runPolicyScenarios } from '../../examples/policy-scenarios/run.js';

it('the demo scenarios recover, trip, fail fast and recover again against the local server', async () => {
  const lines: string[] = [];
  const { hits } = await runPolicyScenarios((l) => lines.push(l));
  const text = lines.join('\n');
  // 3 hits for the transient scenario, 3 before the breaker opened, 1 probe, 1 after.
  expect(hits).toBe(8);
  expect(text).toMatch(/call: ok/);
  expect(text).toMatch(/breaker closed → open/);
  expect(text).toMatch(/the server saw 0 request\(s\) for call 4/);
  expect(text).toMatch(/breaker half_open → closed/);
  expect(text).toMatch(/after: ok/);
});
