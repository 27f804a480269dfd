/**
 * The image-generation mini-challenge, live: one non-idempotent API without
 * idempotency-key support, six ways a call can go wrong, and what breakwater
 * does about each. Every scenario runs against a fresh local image service
 * and counts the images it really rendered.
 *
 *   npx tsx examples/image-generation/run.ts
 */
import { pathToFileURL } from 'node:url';
import { createRegistry, isBreakwaterError, type PolicyEvent, type ProfileInput } from 'breakwater';
import type { Fault } from '../shared/faults.js';
import { freePort, type LocalServer } from '../shared/local-http.js';
import { colorWanted, createStyle, type Style } from '../shared/style.js';
import { type ImageService, startImageService } from './image-service.js';
import { imageProfile, registerImageTool } from './image-tool.js';

export interface ScenarioResult {
  readonly name: string;
  /** `value`: an image came back; `failed`: definitely nothing happened; `unknown`: it may have. */
  readonly outcome: 'value' | 'failed' | 'unknown';
  readonly attempts: number;
  readonly retried: boolean;
  readonly reconciled: boolean;
  /** Requests that reached the image service's create endpoint. */
  readonly requests: number;
  /** Images the service rendered (and would bill). */
  readonly images: number;
  readonly note: string;
}

interface Scenario {
  readonly name: string;
  readonly why: string;
  readonly createFaults?: readonly Fault[];
  readonly lookupFaults?: readonly Fault[];
  /** Start the service only after the first attempt was refused: a service restarting. */
  readonly startLate?: boolean;
  /** Deliver the same model tool call twice, as a resumed conversation would. */
  readonly deliverTwice?: boolean;
  readonly prompt?: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'service restarting (connection refused)',
    why: 'the request never left this process: nothing can have been rendered, so it is retried',
    startLate: true,
  },
  {
    name: 'service busy (503 with Retry-After)',
    why: 'the service said it did not act on the request: retried after the wait it asked for',
    createFaults: [{ kind: 'status', status: 503, after: false, headers: { 'retry-after-ms': '300' } }],
  },
  {
    name: 'answer lost after the service accepted (HTTP 500)',
    why: 'it may have rendered: not retried; the image is looked up by the reference sent with the request',
    createFaults: [{ kind: 'status', status: 500, after: true }],
  },
  {
    name: 'accepted, then no answer in time (attempt timeout)',
    why: 'it may have rendered: not retried; the lookup finds it rendering and waits for it',
    createFaults: [{ kind: 'slow', delayMs: 3_000 }],
  },
  {
    name: 'accepted, no answer, and the lookup is down too',
    why: 'nobody can tell: outcome unknown, and the ledger refuses to run the same call again',
    createFaults: [{ kind: 'slow', delayMs: 3_000 }],
    lookupFaults: [{ kind: 'status', status: 503, after: false }],
    deliverTwice: true,
  },
  {
    name: 'a prompt the service refuses (400)',
    why: 'a definite answer: nothing happened, and asking again would be refused again',
    prompt: ' ',
  },
];

/** The demo's waits are short so the whole run takes a few seconds; the logic is the production one. */
const profile: ProfileInput = { ...imageProfile, retry: { ...imageProfile.retry, maxAttempts: 4 } };

async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const port = s.startLate ? await freePort() : 0;
  let service: (ImageService & LocalServer) | undefined = s.startLate
    ? undefined
    : await startImageService({ createFaults: s.createFaults ?? [], lookupFaults: s.lookupFaults ?? [] });
  const baseUrl = service ? service.url : `http://127.0.0.1:${port}`;
  const events: PolicyEvent[] = [];
  let attempts = 0;
  const registry = createRegistry({
    // Fixed jitter: the same waits on every run of the example.
    random: () => 0.5,
    observer: {
      event: (e) => {
        events.push(e);
        // The restarting service comes back while the first retry waits.
        if (s.startLate && e.type === 'retry_scheduled' && !service) {
          void startImageService({}, port).then((started) => {
            service = started;
          });
        }
      },
      attempt: (_info, run) => {
        attempts++;
        return run();
      },
    },
  });
  const tool = registerImageTool(registry, { baseUrl, profile });
  const prompt = s.prompt ?? 'A watercolor of the Alfama rooftops at dusk';
  let outcome: ScenarioResult['outcome'] = 'value';
  let note = '';
  const call = () => tool.call({ prompt }, { callId: 'call_1' });
  try {
    const image = await call();
    note = `got ${image.id}`;
  } catch (err) {
    outcome = isBreakwaterError(err) && err.outcome === 'unknown' ? 'unknown' : 'failed';
    note = isBreakwaterError(err) ? `${err.code}: ${err.failure.message}` : String(err);
  }
  if (s.deliverTwice) {
    try {
      await call();
      note += '; the second delivery ran';
    } catch (err) {
      note += `; second delivery: ${isBreakwaterError(err) ? err.code : String(err)}, not run`;
    }
  }
  // Give an accepted image time to finish rendering before counting.
  await new Promise((r) => setTimeout(r, 50));
  const result: ScenarioResult = {
    name: s.name,
    outcome,
    attempts,
    retried: events.some((e) => e.type === 'retry_scheduled'),
    reconciled: events.some((e) => e.type === 'reconciled' && e.found),
    requests: service?.createRequests ?? 0,
    images: service?.jobs.length ?? 0,
    note,
  };
  await service?.close();
  return result;
}

/** Scenario 4 without breakwater: every error is retried, including a timeout after the service accepted. */
export async function naiveRetryOnTimeout(): Promise<{ images: number; requests: number }> {
  const service = await startImageService({ createFaults: [{ kind: 'slow', delayMs: 3_000 }] });
  try {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await fetch(`${service.url}/v1/images`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'A watercolor of the Alfama rooftops at dusk' }),
          signal: AbortSignal.timeout(700),
        });
        if (res.ok) break;
      } catch {
        // "Any error is transient": the mistake this example is about.
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    return { images: service.jobs.length, requests: service.createRequests };
  } finally {
    await service.close();
  }
}

export async function runImageScenarios(
  log: (line: string) => void = console.log,
  style: Style = createStyle(false),
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  log(style.bold('An image API that renders (and bills) every request it accepts, with no idempotency keys'));
  for (const [i, s] of SCENARIOS.entries()) {
    const r = await runScenario(s);
    results.push(r);
    const verdict =
      r.outcome === 'value'
        ? style.green('image')
        : r.outcome === 'unknown'
          ? style.yellow('outcome unknown')
          : style.red('failed');
    const decided = r.reconciled ? 'reconciled' : r.retried ? 'retried' : 'not retried';
    log(`\n${i + 1}. ${style.bold(s.name)}`);
    log(`   ${style.dim('why:')} ${s.why}`);
    log(
      `   ${verdict} · ${decided} · ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} · ` +
        `${r.requests} request${r.requests === 1 ? '' : 's'} reached the service · ` +
        `${r.images === 1 ? style.green('1 image rendered') : `${r.images} images rendered`}`,
    );
    log(`   ${style.dim(r.note)}`);
  }
  const most = Math.max(...results.map((r) => r.images));
  log(
    `\n${most <= 1 ? style.green('never twice') : style.red('duplicate!')}: at most ${most} image per logical call in every scenario.`,
  );
  const naive = await naiveRetryOnTimeout();
  log(
    `\n${style.bold('For contrast')}: scenario 4 through a naive loop (retry any error 3 times, 700 ms timeout, as tenacity or p-retry would by default):`,
  );
  log(
    `   ${naive.images > 1 ? style.red(`${naive.images} images rendered`) : `${naive.images} image`} for one request — each one billed.`,
  );
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runImageScenarios(console.log, createStyle(colorWanted()));
}
