/**
 * One run of the travel agent, start to end: the local services with the
 * run's faults, the models, a backend (breakwater, or the naive wrapper),
 * the agent loop, and the summary. Everything it starts, it stops.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ChatResponse } from 'breakwater';
import { createRegistry, isBreakwaterError } from 'breakwater';
import { createStyle, type Style } from '../shared/style.js';
import { type AgentHooks, runAgent, succeeded } from './agent.js';
import type { Backend } from './backend.js';
import { breakwaterBackend } from './breakwater.js';
import { naiveBackend } from './naive.js';
import { startModels } from './providers.js';
import { type Chaos, describeSchedule, faultSchedule } from './schedule.js';
import { startTravelServices } from './services.js';
import { type RunSummary, totalsOf } from './summary.js';
import { registerTravelTools, toolProfiles } from './tools.js';
import { travelApi } from './travel-api.js';
import { SYSTEM_PROMPT, USER_REQUEST } from './trip.js';

export interface RunOptions {
  readonly chaos: Chaos;
  readonly seed: number;
  readonly mode: 'breakwater' | 'naive';
  /** Use the scripted model even when API keys are set. */
  readonly offline?: boolean;
  /** Each line of the running commentary; nothing is printed without it. */
  readonly log?: (line: string) => void;
  readonly style?: Style;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  readonly summary: RunSummary;
  /** The run's OpenTelemetry spans (breakwater runs; none for the naive one). */
  readonly spans: readonly ReadableSpan[];
}

/**
 * Past this the run is cancelled: a demo that hangs would teach the opposite
 * of what it is for. Real models think for longer than the scripted one.
 */
const RUN_DEADLINE_MS = { offline: 25_000, online: 180_000 };

/** The agent's turns, as they happen. */
function turnHooks(log: (line: string) => void, s: Style): AgentHooks {
  return {
    turn: (n) => log(`\n${s.bold(`turn ${n}`)}`),
    answered: (_n, r: ChatResponse) => {
      const who = s.bold(`${r.provider}/${r.model}`);
      if (r.toolCalls.length === 0) {
        log(`  ${who} answers:\n  ${s.cyan(`“${r.message.content}”`)}`);
        return;
      }
      const names = r.toolCalls.map((c) => c.name);
      const counted = [...new Set(names)].map((n) => {
        const k = names.filter((x) => x === n).length;
        return k > 1 ? `${n} ×${k}` : n;
      });
      const said = r.message.content !== '' ? ` ${s.dim(`“${r.message.content}”`)}` : '';
      log(`  ${who} asks for ${counted.join(', ')}${said}`);
    },
    gaveUp: (_n, err) =>
      log(`  ${s.red('✗')} the agent stops: ${isBreakwaterError(err) ? err.message : String(err)}`),
  };
}

export async function runTravelAgent(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? (() => {});
  const s = o.style ?? createStyle(false);
  const schedule = faultSchedule(o.chaos, o.seed);
  const services = await startTravelServices(schedule);
  const models = await startModels({ faults: schedule.model, offline: o.offline === true, env: o.env });
  const api = travelApi(services.url);
  const started = performance.now();

  log(
    s.bold(
      o.mode === 'breakwater'
        ? 'the travel agent on breakwater'
        : 'the travel agent on a naive retry-everything wrapper',
    ),
  );
  log(`${s.dim('  models  ')} ${models.description}`);
  log(`${s.dim('  services')} flights, hotels, payments and images on ${services.url}`);
  log(`${s.dim('  faults  ')} chaos ${o.chaos}, seed ${o.seed}:`);
  for (const line of describeSchedule(schedule)) log(`${s.dim('           ')}${line}`);
  log('');
  log(`${s.bold('traveller:')} ${USER_REQUEST}`);

  let backend: Backend | undefined;
  try {
    if (o.mode === 'breakwater') {
      backend = breakwaterBackend({
        providers: models.providers,
        modelProfile: models.profile,
        api,
        servicesUrl: services.url,
        seed: o.seed,
        conversation: `trip-${o.chaos}-${o.seed}`,
        out: log,
        style: s,
      });
    } else {
      const definitions = createRegistry({ profiles: toolProfiles });
      registerTravelTools(definitions, api, services.url);
      backend = naiveBackend({ providers: models.providers, api, tools: definitions, out: log, style: s });
    }
    const b = backend;
    const result = await b.around(() =>
      runAgent({
        chat: b.chat,
        runTools: b.runTools,
        tools: b.tools,
        system: SYSTEM_PROMPT,
        user: USER_REQUEST,
        signal: AbortSignal.timeout(models.offline ? RUN_DEADLINE_MS.offline : RUN_DEADLINE_MS.online),
        hooks: turnHooks(log, s),
      }),
    );
    const report = b.report();
    const summary: RunSummary = {
      mode: o.mode,
      chaos: o.chaos,
      seed: o.seed,
      offline: models.offline,
      tripBooked: ['book_flight', 'book_hotel', 'charge_card'].every((t) => succeeded(result.messages, t)),
      answer: result.answer,
      error:
        result.error === undefined
          ? undefined
          : isBreakwaterError(result.error)
            ? result.error.message
            : String(result.error),
      turns: result.turns,
      durationMs: Math.round(performance.now() - started),
      failover: report.fallbacks.length > 0,
      totals: totalsOf(
        report.dependencies,
        report.fallbacks.length,
        report.breakerTransitions.length,
        report.routes,
      ),
      dependencies: report.dependencies,
      fallbacks: report.fallbacks,
      breakerTransitions: report.breakerTransitions,
      services: services.stats(),
      models: models.stats(),
      spans: report.spans?.length,
    };
    return { summary, spans: report.spans ?? [] };
  } finally {
    await backend?.close();
    await services.close();
    await models.close();
  }
}
