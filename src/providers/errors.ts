import { BreakwaterError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import type { PartialAnswer } from './assemble.js';

/** How one provider failed a routed call. */
export interface ProviderFailure {
  readonly provider: string;
  readonly model: string;
  /** The deployment's id (`provider/model` unless it was given one). */
  readonly deployment?: string | undefined;
  /** The model group it was tried in. */
  readonly group?: string | undefined;
  /**
   * No request reached this provider: its breaker was open, it was cooling
   * down past the deadline, or the deadline had already passed.
   */
  readonly skipped: boolean;
  readonly error: BreakwaterError;
}

function summary(f: ProviderFailure): string {
  const attempts = f.error.attempts.length;
  const what = f.skipped
    ? `skipped (${f.error.failure.message})`
    : `${f.error.failure.message}${attempts > 1 ? ` after ${attempts} attempts` : ''}`;
  return `${f.deployment ?? `${f.provider}/${f.model}`}: ${what}`;
}

/**
 * Every provider failed or was skipped. `failures` says how each one did, in
 * the order they were tried; `failure` is the last one's.
 */
export class AllProvidersFailedError extends BreakwaterError {
  readonly failures: readonly ProviderFailure[];

  constructor(failures: readonly ProviderFailure[]) {
    const last = failures[failures.length - 1];
    if (!last) throw new RangeError('AllProvidersFailedError needs at least one failure');
    super('dependency_failed', {
      failure: last.error.failure,
      attempts: failures.flatMap((f) => f.error.attempts),
      dependency: 'router',
      message: `all ${failures.length} providers failed: ${failures.map(summary).join('; ')}`,
    });
    this.failures = failures;
  }

  /** The soonest any provider said it could be tried again (a Retry-After or a breaker's open period). */
  get retryAfterMs(): number | undefined {
    let min: number | undefined;
    for (const f of this.failures) {
      const ms = f.error.failure.retryAfterMs;
      if (ms !== undefined && (min === undefined || ms < min)) min = ms;
    }
    return min;
  }
}

export interface StreamInterruptedOptions {
  readonly failure: Failure;
  readonly partial: PartialAnswer;
  readonly provider: string;
  readonly model: string;
}

/**
 * A stream broke after its first chunk had been handed over, so it was not
 * retried or failed over (the caller already holds part of an answer).
 * `partial` is everything that was received; the model call did happen.
 */
export class StreamInterruptedError extends BreakwaterError {
  readonly partial: PartialAnswer;
  readonly provider: string;
  readonly model: string;

  constructor(options: StreamInterruptedOptions) {
    const dependency = `${options.provider}/${options.model}`;
    const received = options.partial.text.length;
    const calls = options.partial.toolCalls.length;
    super(options.failure.kind === 'timeout' ? 'timeout' : 'dependency_failed', {
      failure: options.failure,
      dependency,
      message: `stream from ${dependency} interrupted after ${received} characters${calls > 0 ? ` and ${calls} tool calls` : ''}: ${options.failure.message}`,
    });
    this.partial = options.partial;
    this.provider = options.provider;
    this.model = options.model;
  }

  /** The text received before the stream broke. */
  get partialText(): string {
    return this.partial.text;
  }
}
