/**
 * `breakwater/building-blocks`: the parts the policies, the registry and the
 * router are built from, for those who compose their own — a circuit breaker,
 * a gate, a retry budget, the retry decision, the failure classifier and the
 * Retry-After reader, the idempotency ledger, the OpenTelemetry names, and the
 * kit for writing a provider (one guarded SDK call, the wire translators, the
 * stream assembler). Most applications need only `breakwater`.
 *
 * As in the root entry, everything is made by a `createX` function; the
 * classes are exported as types, so that they can be named but not built with
 * `new` (errors alone are classes to construct, so that `instanceof` works).
 */

import {
  type BreakerOptions,
  CircuitBreaker,
  type Clock,
  Gate,
  type GateOptions,
  LatencyTracker,
  RetryBudget,
  type RetryBudgetOptions,
  systemClock,
} from './policy/index.js';
import { Assembler } from './providers/index.js';

/** A circuit breaker on its own, as a policy builds one from its profile's `breaker`. */
export function createCircuitBreaker(options: BreakerOptions, clock: Clock = systemClock): CircuitBreaker {
  return new CircuitBreaker(options, clock);
}

/** A gate on its own (concurrency, rate, queue, Retry-After cooldown), as a policy builds one from `gate`. */
export function createGate(options: GateOptions, clock: Clock = systemClock): Gate {
  return new Gate(options, clock);
}

/** A retry budget on its own, as a policy builds one from `retry.budget`. */
export function createRetryBudget(options: RetryBudgetOptions, clock: Clock = systemClock): RetryBudget {
  return new RetryBudget(options, clock);
}

/** The last `size` latencies (default 100), for a percentile of recent latency; share one between hedgers. */
export function createLatencyTracker(size?: number): LatencyTracker {
  return new LatencyTracker(size);
}

/** Assembles a stream's chunks into the `finish` chunk's response, for a provider's `stream`. */
export function createAssembler(): Assembler {
  return new Assembler();
}

export {
  type ClassifyHints,
  classify,
  classifyHttp,
  type HeaderBag,
  type ProveDeliveryOptions,
  parseRetryAfter,
  proveDelivery,
} from './failure/index.js';
export {
  type ClaimCheck,
  canonicalize,
  createLedger,
  fingerprint,
  type Ledger,
  type LedgerOptions,
  type LedgerReconciliation,
  type LedgerResult,
  type LedgerRunOptions,
  type LedgerSource,
} from './idempotency/index.js';
export {
  type BackoffOptions,
  type BreakerOptions,
  type BreakerPermit,
  type BreakerSnapshot,
  backoffDelay,
  type CircuitBreaker,
  createHedger,
  decideRetry,
  type Gate,
  type GateEnterOptions,
  type GateOptions,
  type GateOutcome,
  HEDGE_DEFAULTS,
  type HedgeEvent,
  HedgeLostError,
  type HedgeObserver,
  type HedgeOptions,
  type HedgeRunOptions,
  type Hedger,
  type HedgerDeps,
  type HedgeStats,
  type HedgeTask,
  type LatencyTracker,
  type ResolvedHedgeOptions,
  type RetryBudget,
  type RetryBudgetOptions,
  type RetryVerdict,
  resolveProfile,
  systemClock,
} from './policy/index.js';
export {
  type AnthropicBlockParam,
  type AnthropicBody,
  type AnthropicMessageParam,
  type AnthropicRequestOptions,
  type AnthropicToolChoiceParam,
  type AnthropicToolParam,
  type Assembler,
  fromAnthropicResponse,
  fromAnthropicStream,
  fromOpenAIEmbeddings,
  fromOpenAIResponse,
  fromOpenAIStream,
  guardCall,
  type OpenAIChatBody,
  type OpenAIEmbeddingsBody,
  type OpenAIMessageParam,
  type OpenAIRequestOptions,
  type OpenAIToolCallParam,
  type OpenAIToolChoiceParam,
  type OpenAIToolParam,
  type PartialAnswer,
  type PartialToolCall,
  providerError,
  toAnthropicRequest,
  toOpenAIEmbeddings,
  toOpenAIRequest,
} from './providers/index.js';
export {
  createQuota,
  DEFAULT_OUTPUT_TOKENS,
  estimateEmbedTokens,
  estimateTokens,
  type Quota,
  type QuotaAcquireOptions,
  type QuotaOptions,
  type QuotaReservation,
  type RateLimitReading,
  type RateLimitWindow,
  readRateLimitHeaders,
} from './providers/quota/index.js';
export { semconv } from './telemetry/index.js';
