import type { ToolErrorPayload } from '../../tools/formats.js';

/**
 * A tool's value as the text a model reads: strings as they are, anything
 * else as JSON (bigints as strings, so a balance never breaks the answer).
 * Undefined when the value cannot be written as JSON.
 */
export function toText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return undefined;
  }
}

/**
 * The answer when a tool's value cannot be sent: it ran, only its answer is
 * lost, so it must not read as something to simply call again.
 */
export function unserializable(tool: string): ToolErrorPayload {
  return {
    error: {
      type: 'internal_error',
      message:
        'the tool ran, but its result could not be turned into JSON. Do not call the tool again for the same purpose until you have checked whether it took effect.',
      retryable: false,
      outcome: 'unknown',
      details: { tool },
    },
  };
}
