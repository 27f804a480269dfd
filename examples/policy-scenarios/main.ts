/**
 * The seed's three policy scenarios against a local flaky server:
 *   npx tsx examples/policy-scenarios/main.ts
 */
import { runPolicyScenarios } from './run.js';

console.log('breakwater: one policy (retry → breaker → gate → timeout) in front of a local flaky service');
await runPolicyScenarios();
