import { createMiddleware } from 'langchain';
import { z } from 'zod/v4';
import type { Clock, Random } from '../../policy/clock.js';
import type { PolicyObserver } from '../../policy/events.js';
import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import type { StateStore } from '../../state/store.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import { createRegistry } from '../../tools/registry.js';
import { type ModelCallOptions, modelCallWrapper } from './model-calls.js';
import { type LangChainToolPolicy, toolCallWrapper } from './tool-calls.js';

export interface BreakwaterMiddlewareOptions {
  /** Policies for the agent's own LangChain tools, by tool name. */
  readonly tools?: Readonly<Record<string, LangChainToolPolicy>>;
  /**
   * For tools not named in `tools`: a policy, or `false` to leave them alone.
   * Default: the non-idempotent defaults (retried only when provably not sent).
   * Tools made by `createLangchainTools` already run their registry's policy and are always let through.
   */
  readonly defaultTool?: LangChainToolPolicy | false;
  /** Model calls: a profile (`llm` by default), or `false` to leave them alone. */
  readonly model?: ModelCallOptions | false;
  /** A time budget per tool call; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number;
  /** Bounds content-derived keys: a conversation or user id. */
  readonly scope?: string;
  /** Where the idempotency ledger lives (a Redis store across processes); in-process by default. */
  readonly store?: StateStore;
  readonly telemetry?: Telemetry;
  readonly observer?: PolicyObserver;
  /** Named profiles `tools` and `model` may refer to, besides the built-ins. */
  readonly profiles?: Readonly<Record<string, BuiltinProfileName | ProfileInput | Profile>>;
  readonly clock?: Clock;
  readonly random?: Random;
}

/**
 * breakwater as `langchain` agent middleware (`createAgent({ middleware })`):
 * `wrapToolCall` runs each of the agent's tools under its policy, with
 * `toolCall.id` as the idempotency key's source and the run's signal
 * reaching the tool; `wrapModelCall` runs each model call under the `llm`
 * profile. Put it after `modelFallbackMiddleware` so that each model has
 * its own breaker and the fallback sees the typed error.
 */
export function createBreakwaterMiddleware(options: BreakwaterMiddlewareOptions = {}) {
  const registry = createRegistry({
    ...(options.store ? { store: options.store } : {}),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.profiles ? { profiles: options.profiles } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  if (options.defaultTool) {
    // Checked now on a throwaway registry (the real one registers tools on first use), so a bad profile fails early.
    createRegistry({ ...(options.profiles ? { profiles: options.profiles } : {}) }).register({
      ...options.defaultTool,
      name: 'default_tool',
      input: z.object({}),
      execute: () => undefined,
    });
  }
  const wrapToolCall =
    options.defaultTool === false && Object.keys(options.tools ?? {}).length === 0
      ? undefined
      : toolCallWrapper(registry, options);
  const wrapModelCall =
    options.model === false
      ? undefined
      : modelCallWrapper(options.model ?? {}, {
          profiles: options.profiles,
          telemetry: options.telemetry,
          observer: options.observer,
          clock: options.clock,
          random: options.random,
        });
  return createMiddleware({
    name: 'breakwater',
    ...(wrapToolCall ? { wrapToolCall } : {}),
    ...(wrapModelCall ? { wrapModelCall } : {}),
  });
}
