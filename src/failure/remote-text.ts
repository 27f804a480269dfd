/**
 * A failure whose message is another system's words (an MCP server's error
 * text, say): the model should read them, but they may echo arguments, so
 * telemetry records them only with content capture on. The marker rides on
 * `failure.cause`, which every layer passes along untouched.
 */
const REMOTE_TEXT = Symbol.for('breakwater.remoteText');

export interface RemoteTextCause {
  /** What to record instead of the message when content is not captured. */
  readonly [REMOTE_TEXT]: string;
  /** The original error, if there was one. */
  readonly cause: unknown;
}

export function remoteTextCause(safeMessage: string, cause: unknown): RemoteTextCause {
  return { [REMOTE_TEXT]: safeMessage, cause };
}

/** The words to record in place of a failure's message, when its message is remote text. */
export function remoteTextStandIn(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const said = (cause as Partial<RemoteTextCause>)[REMOTE_TEXT];
  return typeof said === 'string' ? said : undefined;
}
