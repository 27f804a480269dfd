/**
 * The vocabulary of failures as types: every error that crosses a policy is
 * turned into one `Failure`, and every retry decision is taken on it alone.
 */

export type FailureKind =
  | 'timeout'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'network'
  | 'conflict'
  | 'client_error'
  | 'auth'
  | 'invalid_input'
  | 'circuit_open'
  | 'gate_rejected'
  | 'cancelled'
  | 'unknown';

/**
 * What we know reached the dependency.
 * - `not_sent`: provably never left this process (headers never written).
 * - `not_processed`: the dependency answered that it did not act on it.
 * - `unknown`: it may have acted.
 * - `processed`: it gave a definite answer.
 */
export type Delivery = 'not_sent' | 'not_processed' | 'unknown' | 'processed';

export interface Failure {
  readonly kind: FailureKind;
  readonly delivery: Delivery;
  /** HTTP status, when the dependency answered with one. */
  readonly status?: number;
  /** How long the dependency asked us to wait, already parsed and sanitised. */
  readonly retryAfterMs?: number;
  /** The dependency's own word on retrying (`x-should-retry`). */
  readonly shouldRetry?: boolean;
  /** A short, low-cardinality code (`ECONNREFUSED`, `UND_ERR_SOCKET`, `http_500`) for telemetry. */
  readonly code?: string;
  /** Human-readable summary, free of request content. */
  readonly message: string;
  readonly cause: unknown;
}

/** One try at the dependency, as remembered in a typed error. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly startedAt: number;
  readonly durationMs: number;
  /** The wait before this attempt (backoff or Retry-After), 0 for the first. */
  readonly waitedMs: number;
  /** Absent when the attempt succeeded. */
  readonly failure?: Failure;
}

export const FAILURE_KINDS: readonly FailureKind[] = [
  'timeout',
  'rate_limited',
  'overloaded',
  'server_error',
  'network',
  'conflict',
  'client_error',
  'auth',
  'invalid_input',
  'circuit_open',
  'gate_rejected',
  'cancelled',
  'unknown',
];

export const DELIVERIES: readonly Delivery[] = ['not_sent', 'not_processed', 'unknown', 'processed'];
