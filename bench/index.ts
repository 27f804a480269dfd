import os from 'node:os';
import { deploymentsBench } from './deployments.js';
import { failoverBench } from './failover.js';
import { hedgingBench } from './hedging.js';
import { outageBench } from './outage.js';
import { overheadBench } from './overhead.js';
import { rateLimitBench } from './rate-limit.js';
import { redisBench } from './redis.js';
import { telemetryBench } from './telemetry-cost.js';
import { tokensPerMinuteBench } from './tokens-per-minute.js';

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `breakwater benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${cpu}\n`,
);
console.log('## Happy-path overhead per call (an async no-op, and one setImmediate hop)\n');
console.log((await overheadBench()).text);
// `npm run bench -- overhead`: the overhead table alone, for a quick before/after.
if (process.argv.includes('overhead')) process.exit(0);
console.log('\n## Telemetry cost per call (async no-op)\n');
console.log((await telemetryBench()).text);
console.log('\n## Shared state: Redis against in-process (Redis at 127.0.0.1:6379)\n');
const shared = await redisBench();
console.log(shared ? shared.text : 'Redis is not answering at 127.0.0.1:6379: skipped.');
console.log('\n## A rate-limited provider (200 chat calls, concurrency 20)\n');
console.log((await rateLimitBench()).text);
console.log(
  '\n## Tokens per minute: a provider limiting by requests and tokens (300 calls, concurrency 20)\n',
);
console.log((await tokensPerMinuteBench()).text);
console.log('\n## Outage: a dependency down for 3 s under 50 callers\n');
console.log((await outageBench()).text);
console.log('\n## Failover latency: primary down, breaker open\n');
console.log((await failoverBench()).text);
console.log('\n## Deployments: throughput by strategy, each deployment limited to 20 requests/s\n');
console.log((await deploymentsBench()).text);
console.log('\n## Hedging: 5 % of answers take 2 s instead of 50 ms\n');
console.log((await hedgingBench()).text);
console.log('\nTables and the outage chart are also written to bench/results/.');
