import {
  CancelledError,
  DependencyFailedError,
  type InputIssue,
  InvalidInputError,
  type Outcome,
} from '../failure/errors.js';
import type { Delivery, FailureKind } from '../failure/failure.js';
import { markToolVerdict } from '../failure/not-sent.js';

export interface ToolErrorOptions {
  /** Default `client_error`: the dependency refused, and asking again will not help. */
  readonly kind?: FailureKind;
  /**
   * What reached the dependency. Default `processed`: it answered and did not
   * act. Say `not_sent` or `not_processed` to make the failure retryable, and
   * `unknown` when it may have acted (a non-idempotent tool then reports
   * outcome unknown instead of retrying).
   */
  readonly delivery?: Delivery;
  readonly status?: number;
  readonly cause?: unknown;
}

/**
 * What a tool throws to fail with words of its own ("card declined"): the
 * message reaches the model, so it must hold no secrets or personal data.
 * Anything else a tool throws is classified from its shape, and its message
 * is never shown.
 */
export class ToolError extends DependencyFailedError {
  constructor(message: string, options: ToolErrorOptions = {}) {
    super({
      failure: {
        kind: options.kind ?? 'client_error',
        delivery: options.delivery ?? 'processed',
        message,
        cause: options.cause,
        ...(options.status !== undefined ? { status: options.status } : {}),
      },
      message,
    });
    // The tool's own word on the attempt, given knowing what its requests did.
    markToolVerdict(this);
  }
}

/**
 * The tool ran but returned something its `output` schema rejects. For a
 * non-idempotent tool the effect may well have happened, so the outcome is
 * `unknown` and the same key is never run again.
 */
export class ToolOutputError extends DependencyFailedError {
  readonly issues: readonly InputIssue[];
  private readonly effectful: boolean;

  constructor(tool: string, issues: readonly InputIssue[], effectful: boolean) {
    const summary = issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    super({
      failure: {
        kind: 'unknown',
        delivery: effectful ? 'unknown' : 'processed',
        code: 'output_invalid',
        message: `output does not match the tool's schema (${summary})`,
        cause: undefined,
      },
      dependency: tool,
    });
    this.issues = issues;
    this.effectful = effectful;
  }

  override get outcome(): Outcome {
    return this.effectful ? 'unknown' : 'failed';
  }

  override get retryable(): boolean {
    return false;
  }
}

export function invalidInput(tool: string | undefined, issues: readonly InputIssue[]): InvalidInputError {
  const shown = issues.slice(0, 5).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
  return new InvalidInputError({
    failure: {
      kind: 'invalid_input',
      delivery: 'not_sent',
      message: `${shown.join('; ')}${more}`,
      cause: undefined,
    },
    issues,
    dependency: tool,
  });
}

/** The model asked for a tool that is not registered. */
export class UnknownToolError extends InvalidInputError {
  constructor(shownName: string, known: readonly string[]) {
    const list = known.length > 0 ? ` (known: ${known.slice(0, 20).join(', ')})` : '';
    const message = `no tool ${shownName}${list}`;
    super({
      failure: {
        kind: 'invalid_input',
        delivery: 'not_sent',
        code: 'unknown_tool',
        message,
        cause: undefined,
      },
      issues: [{ path: '', message }],
    });
  }
}

/** A definition that cannot be registered, with every problem named. */
export class ToolDefinitionError extends Error {
  constructor(
    readonly tool: string,
    readonly issues: readonly InputIssue[],
  ) {
    super(`invalid tool "${tool}": ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ToolDefinitionError';
  }
}

/**
 * The caller cancelled a non-idempotent call while its request may have been
 * out: still a cancel (the caller asked for it), but the operation may have
 * taken effect, so its outcome is `unknown`, as the ledger records it and
 * the model is told. Not retryable: repeating it could do it twice. Internal:
 * callers see a `CancelledError` whose `outcome` is `unknown`.
 */
export class CancelledInFlightError extends CancelledError {
  constructor(from: CancelledError) {
    super({
      failure: {
        ...from.failure,
        message: 'cancelled by the caller after the request may have reached the dependency',
      },
      attempts: from.attempts,
      ...(from.dependency !== undefined ? { dependency: from.dependency } : {}),
    });
  }

  override get outcome(): Outcome {
    return 'unknown';
  }

  override get retryable(): boolean {
    return false;
  }
}
