import type { HedgeOptions } from '../../policy/hedge.js';
import type { BuiltinProfileName, Profile, ProfileInput } from '../../policy/profile.js';
import type { StreamTimeouts } from '../stream-timeouts.js';
import type { Provider } from '../types.js';

/**
 * How a group picks among its healthy deployments:
 * - `ordered`: the first in declaration order (a failover chain; v1's router).
 * - `weighted`: at random, in proportion to `weight`.
 * - `least-in-flight`: the one with the fewest calls in progress in this process.
 * - `lowest-latency`: the one with the lowest decaying average time to first token.
 * - `most-quota`: the one with the largest share of its rate limit left.
 */
export type StrategyName = 'ordered' | 'weighted' | 'least-in-flight' | 'lowest-latency' | 'most-quota';

export const STRATEGIES: readonly StrategyName[] = [
  'ordered',
  'weighted',
  'least-in-flight',
  'lowest-latency',
  'most-quota',
];

/** One provider client and model, with what the router needs to know of it. */
export interface Deployment {
  readonly provider: Provider;
  /** Unique in the router; the key of its health (breaker, cooldown, budget). Default `${provider.name}/${provider.model}`. */
  readonly id?: string | undefined;
  /** For the `weighted` strategy: a positive number. Default 1. */
  readonly weight?: number | undefined;
  /** Requests and tokens per minute this deployment may use, before any rate-limit header is seen. */
  readonly limits?:
    | {
        readonly rpm?: number | undefined;
        readonly tpm?: number | undefined;
        /**
         * The window `rpm` and `tpm` count over, and how long a request
         * counts after the provider saw it. Default 60 000 ms (a minute, as
         * OpenAI and Anthropic count); shorter for a provider with shorter
         * windows, or to compress time in tests.
         */
        readonly windowMs?: number | undefined;
      }
    | undefined;
  /** Tokens. A request estimated larger is skipped here, with no request sent. */
  readonly contextWindow?: number | undefined;
  /** This deployment's policy profile; default the provider's, then the router's. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
}

/** Which group a call moves to when a group fails it for one of these reasons. */
export interface GroupFallbacks {
  /** The prompt does not fit (a context-window error, or no deployment's window fits the estimate). */
  readonly contextWindow?: string | undefined;
  /** A content-policy error, or an answer stopped by the provider's content filter or a refusal. */
  readonly contentPolicy?: string | undefined;
  /** Every deployment down, cooling down, rate limited or refusing. */
  readonly unavailable?: string | undefined;
}

/** A name the agent asks for (`'smart'`, `'fast'`) and the deployments that serve it. */
export interface ModelGroup {
  readonly deployments: readonly (Deployment | Provider)[];
  /** Default `ordered`. */
  readonly strategy?: StrategyName | undefined;
  readonly fallbacks?: GroupFallbacks | undefined;
  /**
   * Where a retryable failure goes next: `another` (the default) tries every
   * other healthy deployment of the group once before any deployment waits
   * out a backoff to retry; `same` retries on the deployment first, as its
   * profile allows, then moves on (v1's `providers:` form does this).
   */
  readonly retryOn?: 'another' | 'same' | undefined;
  /**
   * When a call has not answered after a delay, send it also to another
   * healthy deployment of the group, picked by the strategy; the first answer
   * wins and the other request is aborted. For a stream, only before the
   * first chunk. Off by default (docs/providers.md, "Hedging in groups").
   */
  readonly hedge?: HedgeOptions | undefined;
  /** Stream timeouts for this group's streams, overriding the router's `stream` (each field on its own). */
  readonly stream?: StreamTimeouts | undefined;
}

/**
 * Why a deployment was passed over without a request. `unsupported`: its
 * provider cannot do what the call asks (an `embed` on a provider without `embed`).
 */
export type SkipReason = 'open' | 'cooling' | 'no_quota' | 'context_too_small' | 'refused' | 'unsupported';

/** Why a call moved from one group to another. */
export type FallbackClass = 'context_window' | 'content_policy' | 'unavailable';
