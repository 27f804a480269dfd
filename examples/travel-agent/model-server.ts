/**
 * The scripted model served over HTTP in both providers' wire formats —
 * OpenAI chat completions (`POST /v1/chat/completions`) and Anthropic
 * messages (`POST /v1/messages`), JSON only — so the agent talks to it
 * through the real `openai` and `@anthropic-ai/sdk` clients and breakwater's
 * real provider adapters. Each request's conversation is decoded into one
 * neutral transcript for the script, and the answer encoded back.
 *
 * Faults: the primary (OpenAI) goes down from its Nth request on and stays
 * down; the secondary (Anthropic) may answer a 529 "overloaded" first.
 */
import { FaultQueue } from '../shared/faults.js';
import { type Exchange, type LocalServer, startLocalServer } from '../shared/local-http.js';
import type { ModelFaults } from './schedule.js';
import { type Decision, decide, type Entry } from './scripted-model.js';

export interface ModelServerStats {
  readonly openai: { readonly requests: number; readonly failed: number };
  readonly anthropic: { readonly requests: number; readonly failed: number };
}

export interface ModelServer extends LocalServer {
  /** For `new OpenAI({ baseURL })`. */
  readonly openaiBaseURL: string;
  /** For `new Anthropic({ baseURL })`. */
  readonly anthropicBaseURL: string;
  stats(): ModelServerStats;
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

/** Rough token counts: the usage fields must be there, and about the right size. */
function tokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

function openaiAnswer(model: string, d: Decision, turn: number, promptChars: number): Json {
  const toolCalls = d.calls.map((c, i) => ({
    id: `call_${turn}_${i + 1}`,
    type: 'function',
    function: { name: c.name, arguments: JSON.stringify(c.args) },
  }));
  const out = tokens(d.text) + tokens(JSON.stringify(d.calls));
  const prompt = Math.ceil(promptChars / 4);
  return {
    id: `chatcmpl-scripted-${turn}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: d.text === '' && toolCalls.length > 0 ? null : d.text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: out, total_tokens: prompt + out },
  };
}

function anthropicAnswer(model: string, d: Decision, turn: number, promptChars: number): Json {
  const content: Json[] = d.text !== '' ? [{ type: 'text', text: d.text }] : [];
  for (const [i, c] of d.calls.entries())
    content.push({ type: 'tool_use', id: `toolu_${turn}_${i + 1}`, name: c.name, input: c.args });
  return {
    id: `msg_scripted_${turn}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: d.calls.length > 0 ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: Math.ceil(promptChars / 4),
      output_tokens: tokens(d.text) + tokens(JSON.stringify(d.calls)),
    },
  };
}

export async function startModelServer(faults: ModelFaults): Promise<ModelServer> {
  const counts = { openai: { requests: 0, failed: 0 }, anthropic: { requests: 0, failed: 0 } };
  const anthropicFaults = new FaultQueue(faults.anthropic);

  function openai(ex: Exchange, body: Json): void {
    const n = ++counts.openai.requests;
    const down = faults.openaiDownFrom;
    if (down !== undefined && n >= down) {
      counts.openai.failed++;
      const statuses = faults.openaiStatuses.length > 0 ? faults.openaiStatuses : [500];
      const status = statuses[(n - down) % statuses.length] ?? 500;
      ex.json(status, {
        error: {
          message: 'The server had an error processing your request.',
          type: 'server_error',
          param: null,
          code: null,
        },
      });
      return;
    }
    const transcript = fromOpenAI(Array.isArray(body.messages) ? body.messages : []);
    const model = typeof body.model === 'string' ? body.model : 'scripted';
    ex.json(
      200,
      openaiAnswer(model, decide(transcript, 'call_'), turnOf(transcript), JSON.stringify(body).length),
    );
  }

  function anthropic(ex: Exchange, body: Json): void {
    counts.anthropic.requests++;
    const fault = anthropicFaults.next();
    if (fault.kind === 'status') {
      counts.anthropic.failed++;
      ex.json(
        fault.status,
        { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
        fault.headers,
      );
      return;
    }
    const transcript = fromAnthropic(Array.isArray(body.messages) ? body.messages : []);
    const model = typeof body.model === 'string' ? body.model : 'scripted';
    ex.json(
      200,
      anthropicAnswer(model, decide(transcript, 'toolu_'), turnOf(transcript), JSON.stringify(body).length),
    );
  }

  const server = await startLocalServer((ex) => {
    const body = isJson(ex.body) ? ex.body : {};
    if (ex.method === 'POST' && body.stream === true) {
      ex.json(400, {
        error: { type: 'invalid_request_error', message: 'the scripted model does not stream' },
      });
      return;
    }
    if (ex.method === 'POST' && ex.url.pathname === '/v1/chat/completions') openai(ex, body);
    else if (ex.method === 'POST' && ex.url.pathname === '/v1/messages') anthropic(ex, body);
    else ex.json(404, { error: { type: 'not_found_error', message: ex.url.pathname } });
  });
  return {
    ...server,
    openaiBaseURL: `${server.url}/v1`,
    anthropicBaseURL: server.url,
    stats: () => ({ openai: { ...counts.openai }, anthropic: { ...counts.anthropic } }),
  };
}
