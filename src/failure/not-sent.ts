/**
 * A tool's own word that a failed call never reached its server, for clients
 * breakwater cannot watch (a database driver, a gRPC or SMTP client, anything
 * that is not `fetch`). Under a non-idempotent policy an error code such as
 * `ECONNREFUSED` from such a client is no proof by itself: only the client's
 * author knows whether it is raised before anything is written. Throw this
 * when you know:
 *
 * ```ts
 * try {
 *   await db.connect();
 * } catch (err) {
 *   throw new NotSentError('orders database refused the connection', { cause: err });
 * }
 * ```
 *
 * It vouches for the call it wraps, not for the whole attempt: a request the
 * same attempt wrote earlier (through `ctx.fetch`, say) still leaves the
 * outcome unknown.
 */
export class NotSentError extends Error {
  readonly code = 'BW_NOT_SENT';

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'NotSentError';
  }
}

const NOT_SENT_CODE = 'BW_NOT_SENT';

/** Duck-typed, so that two installed copies of breakwater recognize each other's. */
export function isNotSentError(err: unknown): err is NotSentError {
  return (
    err instanceof Error &&
    (err as { code?: unknown }).code === NOT_SENT_CODE &&
    (err as { name?: unknown }).name === 'NotSentError'
  );
}

const VERDICT = Symbol.for('breakwater.tool-verdict');

/**
 * Marks an error as its author's verdict on the whole attempt (a tool's
 * `ToolError('card declined')`, written after reading its dependency's
 * answer): the attempt's delivery record does not overrule it.
 */
export function markToolVerdict(err: object): void {
  Object.defineProperty(err, VERDICT, { value: true });
}

export function isToolVerdict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [VERDICT]?: unknown })[VERDICT] === true;
}
