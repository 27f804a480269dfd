import type { Failure, FailureKind } from '../failure/failure.js';

/**
 * What a provider's error body says, in a fixed vocabulary. The error types
 * and codes of OpenAI and Anthropic (and of the compatible servers that copy
 * them) are mapped onto these names, so that what reaches a failure's `code`,
 * its message and a metric attribute is one of a bounded set, never a string
 * the provider chose.
 */
export type ProviderCode =
  | 'invalid_api_key'
  | 'permission_denied'
  | 'insufficient_quota'
  | 'model_not_found'
  | 'context_length_exceeded'
  | 'request_too_large'
  | 'content_policy_violation'
  | 'rate_limit_exceeded'
  | 'overloaded_error'
  | 'invalid_request_error'
  | 'server_error';

export const PROVIDER_CODES: readonly ProviderCode[] = [
  'invalid_api_key',
  'permission_denied',
  'insufficient_quota',
  'model_not_found',
  'context_length_exceeded',
  'request_too_large',
  'content_policy_violation',
  'rate_limit_exceeded',
  'overloaded_error',
  'invalid_request_error',
  'server_error',
];

/** Type or code strings, as OpenAI and Anthropic spell them, → the vocabulary above. */
const ALIASES: Readonly<Record<string, ProviderCode>> = {
  invalid_api_key: 'invalid_api_key',
  authentication_error: 'invalid_api_key',
  invalid_authentication: 'invalid_api_key',
  permission_error: 'permission_denied',
  permission_denied: 'permission_denied',
  unsupported_country_region_territory: 'permission_denied',
  insufficient_quota: 'insufficient_quota',
  billing_error: 'insufficient_quota',
  billing_hard_limit_reached: 'insufficient_quota',
  model_not_found: 'model_not_found',
  not_found_error: 'model_not_found',
  context_length_exceeded: 'context_length_exceeded',
  string_above_max_length: 'context_length_exceeded',
  request_too_large: 'request_too_large',
  // OpenAI's moderation refusal; Azure OpenAI's content filter.
  content_policy_violation: 'content_policy_violation',
  content_filter: 'content_policy_violation',
  rate_limit_exceeded: 'rate_limit_exceeded',
  rate_limit_error: 'rate_limit_exceeded',
  overloaded_error: 'overloaded_error',
  invalid_request_error: 'invalid_request_error',
  server_error: 'server_error',
  api_error: 'server_error',
};

/**
 * Anthropic answers some refusals as a plain `invalid_request_error` and says
 * which in its message only. The message is read for these patterns and
 * never copied: it may quote the request.
 */
const MESSAGE_PATTERNS: ReadonlyArray<readonly [RegExp, ProviderCode]> = [
  [/credit balance is too low/i, 'insufficient_quota'],
  [
    /prompt is too long|context (window|length)|maximum context|too many (input )?tokens/i,
    'context_length_exceeded',
  ],
  // Anthropic: "Output blocked by content filtering policy" (an invalid_request_error).
  [/content (filtering )?polic|content filter/i, 'content_policy_violation'],
];

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length <= 200 ? v : undefined;
}

/**
 * The provider's own code for an SDK error: its message's telltales (only on
 * a 4xx, where they are refusals), then its `code`, then its `type`.
 */
export function providerCodeOf(err: unknown, status?: number): ProviderCode | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; type?: unknown; error?: unknown };
  // openai: `error` is the body's `error`; @anthropic-ai/sdk: `error` is the whole body.
  const body = typeof e.error === 'object' && e.error !== null ? (e.error as Record<string, unknown>) : {};
  const inner =
    typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : body;
  const candidates = [str(e.code), str(inner.code), str(e.type), str(inner.type)];
  const message = str(inner.message);
  if (message !== undefined && status !== undefined && status >= 400 && status < 500) {
    for (const [pattern, code] of MESSAGE_PATTERNS) if (pattern.test(message)) return code;
  }
  for (const c of candidates) {
    const known = c === undefined ? undefined : ALIASES[c];
    if (known !== undefined) return known;
  }
  return undefined;
}

/**
 * The failure once the provider's own code is taken into account. HTTP
 * statuses alone mislead in two places: a billing 429 is no rate limit (no
 * wait cures it), and a 400 may be the caller's mistake or this model's limit.
 */
export function refineFailure(failure: Failure, code: ProviderCode | undefined): Failure {
  if (code === undefined) return failure;
  const message = `${failure.message} ${code}`;
  switch (code) {
    case 'insufficient_quota':
    case 'invalid_api_key':
    case 'permission_denied':
      // Waiting does not help and a retry would be refused the same way.
      return refused(failure, 'auth', code, message);
    case 'model_not_found':
    case 'context_length_exceeded':
    case 'request_too_large':
    case 'content_policy_violation':
      return refused(failure, 'client_error', code, message);
    case 'invalid_request_error':
    case 'server_error':
      // As generic as the status itself: the status stays the code.
      return { ...failure, message };
    default:
      return { ...failure, code, message };
  }
}

function refused(failure: Failure, kind: FailureKind, code: ProviderCode, message: string): Failure {
  const { retryAfterMs: _ignored, ...rest } = failure;
  return { ...rest, kind, delivery: 'processed', shouldRetry: false, code, message };
}
