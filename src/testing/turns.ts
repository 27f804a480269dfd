/**
 * Scripted model turns in no wire format: the same script drives the fake
 * OpenAI and the fake Anthropic, as JSON or as a stream, whichever the client
 * asked for.
 */
import type { RecordedRequest } from './scripted-server.js';

export interface ScriptedToolCall {
  /** The tool call's id; one is made up (`call_1`, `toolu_1`, …) when left out. */
  readonly id?: string;
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** One answer of the model: words, or tool calls (with optional words before them). */
export type Turn =
  | { readonly text: string }
  | { readonly toolCalls: readonly ScriptedToolCall[]; readonly text?: string };

/** A turn, or a function of the request that chooses one. */
export type ScriptedTurn = Turn | ((request: RecordedRequest) => Turn);

export function resolveTurn(turn: ScriptedTurn, request: RecordedRequest): Turn {
  return typeof turn === 'function' ? turn(request) : turn;
}

/** Whether the client asked for a stream. */
export function wantsStream(request: RecordedRequest): boolean {
  return (request.body as { stream?: unknown } | undefined)?.stream === true;
}

/** Text in two pieces or more, so that a stream has a first chunk to stall or cut after. */
export function pieces(text: string): string[] {
  if (text.length < 2) return [text];
  const half = Math.ceil(text.length / 2);
  return [text.slice(0, half), text.slice(half)];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part) =>
        typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text'
          ? String((part as { text?: unknown }).text ?? '')
          : '',
      )
      .join('');
  return '';
}

/**
 * The default answer of the fake models: `echo: ` and the last user message's
 * text (both APIs keep the conversation in `messages`, with string or
 * text-part content).
 */
export function echoTurn(request: RecordedRequest): Turn {
  const messages = (request.body as { messages?: unknown } | undefined)?.messages;
  const list = Array.isArray(messages) ? (messages as Array<{ role?: unknown; content?: unknown }>) : [];
  const last = list.filter((m) => m.role === 'user').at(-1);
  return { text: `echo: ${textOf(last?.content)}` };
}
