import type { WrapModelCallHook } from 'langchain';
import { type Clock, type Random, systemClock } from '../../policy/clock.js';
import type { PolicyObserver } from '../../policy/events.js';
import { createPolicy, type Policy } from '../../policy/pipeline.js';
import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import type { Telemetry } from '../../telemetry/telemetry.js';

export interface ModelCallOptions {
  /** A built-in profile, one named in the middleware's `profiles`, or overrides of `llm`. Default `llm`. */
  readonly profile?: string | ProfileInput | undefined;
  /** A time budget per model call; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number | undefined;
}

export interface ModelPolicyContext {
  readonly profiles?: Readonly<Record<string, BuiltinProfileName | ProfileInput | Profile>> | undefined;
  readonly telemetry?: Telemetry | undefined;
  readonly observer?: PolicyObserver | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
}

function field(model: unknown, key: string): string | undefined {
  if (typeof model !== 'object' || model === null) return undefined;
  const v = (model as Record<string, unknown>)[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Which provider and model a request goes to, as LangChain's chat models name them. */
function describeModel(model: unknown): { provider: string; model: string } {
  let provider = 'unknown';
  const llmType =
    typeof model === 'object' && model !== null ? (model as { _llmType?: unknown })._llmType : undefined;
  if (typeof llmType === 'function') {
    try {
      const t: unknown = llmType.call(model);
      if (typeof t === 'string' && t !== '') provider = t;
    } catch {
      // A model without a type name is still a model: it just goes unnamed.
    }
  }
  return { provider, model: field(model, 'model') ?? field(model, 'modelName') ?? 'unknown' };
}

/**
 * `wrapModelCall`: every model call under a policy (the `llm` profile by
 * default), one policy per provider and model so that a failing model opens
 * its own breaker and `modelFallbackMiddleware`, placed before this one, can
 * move on to the next. A model call changes nothing outside itself, so it is
 * idempotent: timeouts, resets and 5xx are retried, and a 429's Retry-After
 * is honored within the deadline. The last failure is thrown as a typed
 * error; a model failure has no tool result to become.
 *
 * The attempt's signal cannot reach the request itself: LangChain's model
 * node takes its signal from the run, not from the request. A timed-out
 * attempt is abandoned (its answer ignored), so give the chat model a
 * `timeout` of its own, and `maxRetries: 0` so that there is one retry loop.
 */
export function modelCallWrapper(options: ModelCallOptions, context: ModelPolicyContext): WrapModelCallHook {
  const policies = new Map<string, Policy>();
  const profileInput = (): BuiltinProfileName | ProfileInput | Profile => {
    const p = options.profile;
    if (p === undefined) return 'llm';
    if (typeof p === 'string') {
      const named = context.profiles && Object.hasOwn(context.profiles, p) ? context.profiles[p] : undefined;
      return named ?? (p as BuiltinProfileName);
    }
    return { extends: 'llm', ...p };
  };
  // Resolved now, so that a bad profile fails when the agent is built rather than on its first call.
  createPolicy(profileInput(), { clock: context.clock ?? systemClock });

  function policyFor(model: unknown): Policy {
    const { provider, model: name } = describeModel(model);
    const key = `${provider}:${name}`;
    let policy = policies.get(key);
    if (!policy) {
      const observer = [
        context.telemetry?.observer({ type: 'chat', provider, model: name }),
        context.observer,
      ];
      policy = createPolicy(profileInput(), {
        dependency: key,
        clock: context.clock ?? systemClock,
        ...(context.random ? { random: context.random } : {}),
        observer,
      });
      policies.set(key, policy);
    }
    return policy;
  }

  return (request, handler) =>
    policyFor(request.model).run(() => handler(request), {
      signal: request.runtime.signal,
      deadlineMs: options.deadlineMs,
    });
}
