/**
 * `breakwater/building-blocks`: the parts the policies, the registry and the
 * router are built from, for those who compose their own — a circuit breaker,
 * a gate, a retry budget, the retry decision, the failure classifier and the
 * Retry-After reader, the idempotency ledger, the OpenTelemetry names, and the
 * kit for writing a provider (one guarded SDK call, the wire translators, the
 * stream assembler). Most applications need only `breakwater`.
 */
export {
  type ClassifyHints,
  classify,
  classifyHttp,
  type HeaderBag,
  parseRetryAfter,
} from './failure/index.js';
export {
  canonicalize,
  createLedger,
  fingerprint,
  type Ledger,
  type LedgerOptions,
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
  CircuitBreaker,
  decideRetry,
  Gate,
  type GateEnterOptions,
  type GateOptions,
  type GateOutcome,
  RetryBudget,
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
  Assembler,
  fromAnthropicResponse,
  fromAnthropicStream,
  fromOpenAIResponse,
  fromOpenAIStream,
  guardCall,
  type OpenAIChatBody,
  type OpenAIMessageParam,
  type OpenAIRequestOptions,
  type OpenAIToolCallParam,
  type OpenAIToolChoiceParam,
  type OpenAIToolParam,
  type PartialAnswer,
  type PartialToolCall,
  providerError,
  toAnthropicRequest,
  toOpenAIRequest,
} from './providers/index.js';
export { semconv } from './telemetry/index.js';
