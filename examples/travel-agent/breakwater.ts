/**
 * The agent's backend on breakwater: the tools in a registry (each under its
 * own policy, keyed, in the idempotency ledger), the models behind a router
 * (retries, a breaker per provider, failover), all of it traced with
 * OpenTelemetry and narrated from the same telemetry.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  createRegistry,
  createRouter,
  createTelemetry,
  type ProfileInput,
  type Provider,
  type ToolCall,
  type ToolResultMessage,
} from 'breakwater';
import type { Style } from '../shared/style.js';
import type { Backend } from './backend.js';
import { narrated } from './narrator.js';
import { fork } from './random.js';
import { fromSpans } from './summary.js';
import { RECONCILING_TOOLS, registerTravelTools, toolProfiles } from './tools.js';
import { createRunTracing } from './tracing.js';
import type { TravelApi } from './travel-api.js';

export interface BreakwaterOptions {
  readonly providers: readonly Provider[];
  readonly modelProfile: ProfileInput;
  readonly api: TravelApi;
  readonly servicesUrl: string;
  readonly seed: number;
  /** Bounds the content-derived idempotency keys: one conversation's repeats are one operation. */
  readonly conversation: string;
  readonly out: (line: string) => void;
  readonly style: Style;
}

export function breakwaterBackend(o: BreakwaterOptions): Backend {
  const tracing = createRunTracing();
  // The router is made after the telemetry that narrates its breakers, so the narrator asks it late.
  let breakerOpenFor: (dependency: string) => number | undefined = () => undefined;
  const telemetry = narrated(createTelemetry({ tracer: tracing.tracer }), {
    out: o.out,
    style: o.style,
    traits: (tool) => {
      const t = registry.get(tool);
      return t && { effect: t.effect, honored: t.honored, reconciles: RECONCILING_TOOLS.has(tool) };
    },
    openFor: (d) => breakerOpenFor(d),
  });
  // A seeded jitter: `--seed` reproduces the waits as well as the faults.
  const registry = createRegistry({ telemetry, profiles: toolProfiles, random: fork(o.seed, 1) });
  registerTravelTools(registry, o.api, o.servicesUrl);
  const router = createRouter({
    providers: o.providers,
    profile: o.modelProfile,
    random: fork(o.seed, 2),
    telemetry,
  });
  breakerOpenFor = (d) =>
    router.routes.find((r) => r.policy.dependency === d)?.policy.breaker?.retryAfterMs(Date.now());

  async function runTools(calls: readonly ToolCall[], signal: AbortSignal): Promise<ToolResultMessage[]> {
    // Given as Anthropic tool_use blocks because their results carry the error flag the neutral form keeps.
    const blocks = calls.map((c) => ({
      type: 'tool_use' as const,
      id: c.id,
      name: c.name,
      input: c.rawArguments ?? c.arguments,
    }));
    const results = await registry.handleToolCalls(blocks, { signal, scope: o.conversation });
    return results.map((r, i) => ({
      role: 'tool',
      toolCallId: r.tool_use_id,
      toolName: calls[i]?.name,
      content: r.content,
      isError: r.is_error === true,
    }));
  }

  let spans: readonly ReadableSpan[] = [];
  return {
    chat: (request, options) => router.chat(request, options),
    runTools,
    tools: registry,
    around: (fn) =>
      tracing.tracer.startActiveSpan(
        'invoke_agent travel-agent',
        {
          kind: SpanKind.INTERNAL,
          attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'travel-agent' },
        },
        async (span) => {
          try {
            return await fn();
          } catch (err) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: 'the agent stopped' });
            throw err;
          } finally {
            span.end();
          }
        },
      ),
    report: () => {
      spans = tracing.spans();
      return { ...fromSpans(spans), spans };
    },
    // The in-memory exporter forgets its spans on shutdown: `report` keeps a copy first.
    close: () => tracing.shutdown(),
  };
}
