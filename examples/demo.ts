/**
 * `npm run demo`: the travel-booking agent, offline by default. See
 * travel-agent/main.ts, and `npm run demo -- --help` for the options.
 * The exit code is set rather than forced, so the process ends only when
 * nothing is left running — which is itself part of what the demo shows.
 */
import { main } from './travel-agent/main.js';

process.exitCode = await main(process.argv.slice(2));
