/**
 * Every name breakwater puts on a span, an event or a metric, in one module.
 * The GenAI conventions have moved to their own repository and the npm
 * `@opentelemetry/semantic-conventions` package marks its `gen_ai` constants
 * deprecated, asking libraries to copy the names they use: a rename upstream
 * is a one-line change here.
 */

// OpenTelemetry GenAI semantic conventions (open-telemetry/semantic-conventions-genai).
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
export const GEN_AI_TOOL_DESCRIPTION = 'gen_ai.tool.description';
export const GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
export const GEN_AI_OPERATION_CHAT = 'chat';
export const GEN_AI_OPERATION_EMBEDDINGS = 'embeddings';
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool';

// Stable OpenTelemetry attributes.
export const ERROR_TYPE = 'error.type';

export const METRIC_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_TOKEN_USAGE = 'gen_ai.client.token.usage';
/** The conventions' advised bucket boundaries, in seconds. */
export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

// breakwater's own names. OpenTelemetry has no conventions for resilience;
// Polly's `resilience.polly.*` and Resilience4j's `resilience4j.*` are the
// precedents, and like them these live under the library's own prefix.
export const BW = {
  dependency: 'breakwater.dependency',
  profile: 'breakwater.profile',
  effect: 'breakwater.effect',
  attempts: 'breakwater.attempts',
  outcome: 'breakwater.outcome',
  replayed: 'breakwater.replayed',
  keyPresent: 'breakwater.idempotency_key.present',
  attempt: 'breakwater.attempt',
  waitMs: 'breakwater.attempt.wait_ms',
  queuedMs: 'breakwater.attempt.queued_ms',
  failureKind: 'breakwater.failure.kind',
  failureDelivery: 'breakwater.failure.delivery',
  failureStatus: 'breakwater.failure.status',
  retryDelayMs: 'breakwater.retry.delay_ms',
  retryFromRetryAfter: 'breakwater.retry.from_retry_after',
  breakerFrom: 'breakwater.breaker.from',
  breakerTo: 'breakwater.breaker.to',
  breakerReason: 'breakwater.breaker.reason',
  breakerState: 'breakwater.breaker.state',
  rejectReason: 'breakwater.rejected.reason',
  cooldownMs: 'breakwater.cooldown.ms',
  reconciledFound: 'breakwater.reconciled.found',
  fallbackFrom: 'breakwater.fallback.from',
  fallbackTo: 'breakwater.fallback.to',
  fallbackReason: 'breakwater.fallback.reason',
  /** Why a routed call moved to another group: `context_window`, `content_policy`, `unavailable`. */
  fallbackClass: 'breakwater.fallback_class',
  /** The model group a routed call asked for, then the one that served it. */
  group: 'breakwater.group',
  /** The deployment that served a routed call, or the one an event is about. */
  deployment: 'breakwater.deployment',
  skipReason: 'breakwater.skip_reason',
  attemptOutcome: 'breakwater.attempt.outcome',
  ledgerAction: 'breakwater.ledger.action',
  hedgeDelayMs: 'breakwater.hedge.delay_ms',
  hedgeElapsedMs: 'breakwater.hedge.elapsed_ms',
  fallbackOutcome: 'breakwater.fallback.outcome',
  chaosStrategy: 'breakwater.chaos.strategy',
  chaosDelayMs: 'breakwater.chaos.delay_ms',
} as const;

export const EVENT = {
  retry: 'breakwater.retry',
  breakerTransition: 'breakwater.breaker.transition',
  rejected: 'breakwater.rejected',
  cooldown: 'breakwater.cooldown',
  budgetExhausted: 'breakwater.budget_exhausted',
  outcomeUnknown: 'breakwater.outcome_unknown',
  reconciled: 'breakwater.reconciled',
  ledger: 'breakwater.ledger',
  fallback: 'breakwater.fallback',
  hedge: 'breakwater.hedge',
  hedgeWon: 'breakwater.hedge.won',
  fallbackUsed: 'breakwater.fallback_used',
  chaos: 'breakwater.chaos',
  /** A deployment passed over with no request sent (`breakwater.skip_reason` says why). */
  deploymentSkipped: 'breakwater.deployment.skipped',
} as const;

export const METRIC = {
  attempts: 'breakwater.attempts',
  retries: 'breakwater.retries',
  breakerState: 'breakwater.breaker.state',
  breakerTransitions: 'breakwater.breaker.transitions',
  fallbacks: 'breakwater.fallbacks',
  rejections: 'breakwater.rejections',
  gateWait: 'breakwater.gate.wait.duration',
  fallbacksUsed: 'breakwater.fallbacks_used',
  chaosInjections: 'breakwater.chaos.injections',
  /** Second requests a router group's hedging sent, by group and the deployment they went to. */
  hedgesSent: 'breakwater.hedges.sent',
  /** Second requests that answered first, by group and the deployment that won. */
  hedgesWon: 'breakwater.hedges.won',
  /** Hedges the group's budget declined, by group and the deployment they would have gone to. */
  hedgesDenied: 'breakwater.hedges.denied',
} as const;
