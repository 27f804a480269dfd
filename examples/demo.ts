/**
 * `npm run demo`. Until the travel-booking agent lands, the demo runs the
 * seed's three policy scenarios against a local flaky server.
 */
import { runPolicyScenarios } from './policy-scenarios/run.js';

console.log(
  'breakwater demo: one policy (retry → breaker → gate → timeout) in front of a local flaky service',
);
await runPolicyScenarios();
