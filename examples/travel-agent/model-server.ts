/**
 * The scripted model served by `breakwater/testing`'s fake OpenAI (chat
 * completions) and fake Anthropic (messages), so the agent talks to it through
 * the real `openai` and `@anthropic-ai/sdk` clients and breakwater's real
 * provider adapters. Each request's conversation is decoded into one neutral
 * transcript for the script (a turn that is a function of the request); the
 * kit encodes the answer in the provider's wire format.
 *
 * Faults, as the kit's fault schedules: the primary (OpenAI) goes down from
 * its Nth request on and stays down; the secondary (Anthropic) may answer a
 * 529 "overloaded" first.
 */
import {
  createFakeAnthropic,
  createFakeOpenAI,
  type FakeModel,
  type RecordedRequest,
  type Turn,
} from 'breakwater/testing';
import type { ModelFaults } from './schedule.js';
import { decide, type Entry } from './scripted-model.js';

export interface ModelServerStats {
  readonly openai: { readonly requests: number; readonly failed: number };
  readonly anthropic: { readonly requests: number; readonly failed: number };
}

export interface ModelServer {
  /** For `new OpenAI({ baseURL })`. */
  readonly openaiBaseURL: string;
  /** For `new Anthropic({ baseURL })`. */
  readonly anthropicBaseURL: string;
  stats(): ModelServerStats;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((p) => (isJson(p) && typeof p.text === 'string' ? p.text : ''))
      .filter((s) => s !== '')
      .join('\n');
  return '';
}

function argsOf(raw: unknown): Record<string, unknown> {
  if (isJson(raw)) return raw;
  if (typeof raw !== 'string') return {};
  try {
    const v: unknown = JSON.parse(raw);
    return isJson(v) ? v : {};
  } catch {
    return {};
  }
}

/** OpenAI chat messages as a transcript. Chat completions mark a failed tool result only in words. */
export function fromOpenAI(messages: readonly unknown[]): Entry[] {
  const out: Entry[] = [];
  for (const m of messages) {
    if (!isJson(m)) continue;
    if (m.role === 'user') out.push({ kind: 'user', text: text(m.content) });
    else if (m.role === 'assistant') {
      out.push({ kind: 'assistant', text: text(m.content) });
      for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
        if (!isJson(tc) || !isJson(tc.function)) continue;
        out.push({
          kind: 'call',
          id: String(tc.id),
          name: String(tc.function.name),
          args: argsOf(tc.function.arguments),
        });
      }
    } else if (m.role === 'tool') {
      const content = text(m.content);
      const isError = content.startsWith('Error: ');
      out.push({
        kind: 'result',
        callId: String(m.tool_call_id),
        content: isError ? content.slice('Error: '.length) : content,
        isError,
      });
    }
  }
  return out;
}

/** Anthropic messages as a transcript. */
export function fromAnthropic(messages: readonly unknown[]): Entry[] {
  const out: Entry[] = [];
  for (const m of messages) {
    if (!isJson(m)) continue;
    const blocks: unknown[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : [];
    if (Array.isArray(m.content)) blocks.push(...m.content);
    if (m.role === 'assistant')
      out.push({ kind: 'assistant', text: text(blocks.filter((b) => isJson(b) && b.type === 'text')) });
    for (const b of blocks) {
      if (!isJson(b)) continue;
      if (b.type === 'text' && m.role === 'user') out.push({ kind: 'user', text: String(b.text) });
      else if (b.type === 'tool_use')
        out.push({ kind: 'call', id: String(b.id), name: String(b.name), args: argsOf(b.input) });
      else if (b.type === 'tool_result')
        out.push({
          kind: 'result',
          callId: String(b.tool_use_id),
          content: text(b.content),
          isError: b.is_error === true,
        });
    }
  }
  return out;
}

function turnOf(transcript: readonly Entry[]): number {
  return transcript.filter((e) => e.kind === 'assistant').length + 1;
}

/** The script's answer to one request, its tool calls named `<prefix><turn>_<n>` as each provider names them. */
function scriptedTurn(decode: (messages: readonly unknown[]) => Entry[], prefix: string) {
  return (request: RecordedRequest): Turn => {
    const messages =
      isJson(request.body) && Array.isArray(request.body.messages) ? request.body.messages : [];
    const transcript = decode(messages);
    const d = decide(transcript, prefix);
    if (d.calls.length === 0) return { text: d.text };
    const turn = turnOf(transcript);
    return {
      toolCalls: d.calls.map((c, i) => ({
        id: `${prefix}${turn}_${i + 1}`,
        name: c.name,
        arguments: c.args,
      })),
      ...(d.text !== '' ? { text: d.text } : {}),
    };
  };
}

function stats(model: FakeModel): ModelServerStats['openai'] {
  return { requests: model.counters.requests, failed: model.counters.faults };
}

export async function startModelServer(faults: ModelFaults): Promise<ModelServer> {
  const openai = await createFakeOpenAI({ fallback: scriptedTurn(fromOpenAI, 'call_') });
  const anthropic = await createFakeAnthropic({ fallback: scriptedTurn(fromAnthropic, 'toolu_') });
  const down = faults.openaiDownFrom;
  if (down !== undefined) {
    const failWith = faults.openaiFaults.length > 0 ? faults.openaiFaults : (['error_500'] as const);
    // `index` counts from 0, `down` from 1: down from that request on, for good.
    openai.inject((r) =>
      r.index + 1 >= down ? failWith[(r.index + 1 - down) % failWith.length] : undefined,
    );
  }
  anthropic.inject(faults.anthropic);
  return {
    openaiBaseURL: openai.baseURL,
    anthropicBaseURL: anthropic.baseURL,
    stats: () => ({ openai: stats(openai), anthropic: stats(anthropic) }),
    close: async () => {
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}
