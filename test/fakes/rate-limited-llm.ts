/**
 * A rate-limited LLM server for tests and benchmarks: the scripted fake
 * OpenAI or Anthropic server (src/testing) behind a per-API-key requests
 * window and tokens window, as a provider enforces them. Every answer carries
 * the provider's real rate-limit headers (`x-ratelimit-*` or
 * `anthropic-ratelimit-*`); a request over either limit gets a 429 with
 * `retry-after` (and, for OpenAI, `retry-after-ms`) and the provider's error
 * body, and is not counted.
 *
 * Tokens are counted the way a provider counts them at admission: an
 * estimate of the input (characters over four, a few per message) plus the
 * requested output (`max_tokens`, `max_completion_tokens`, or a default).
 * Both windows slide: a request counts for exactly one window after it was
 * admitted. Windows are in real milliseconds, so a benchmark can compress a
 * minute into a couple of seconds.
 */

import { anthropicReplies } from '../../src/testing/anthropic.js';
import { openaiReplies } from '../../src/testing/openai.js';
import {
  FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  type Responder,
} from '../../src/testing/scripted-server.js';

export type Dialect = 'openai' | 'anthropic';

export interface RateLimitedLlmOptions {
  readonly dialect: Dialect;
  /** Requests per requests window, per key. Default: no limit. */
  readonly requests?: number | undefined;
  /** Default 60 000 ms. */
  readonly requestsWindowMs?: number | undefined;
  /** Tokens per tokens window, per key. Default: no limit. */
  readonly tokens?: number | undefined;
  /** Default 60 000 ms. */
  readonly tokensWindowMs?: number | undefined;
  /** Output counted for a request that sets no maximum. Default 1 024. */
  readonly defaultOutputTokens?: number | undefined;
  /** The answer to an admitted request. Default: the fake's `ok` (or a stream of it). */
  readonly reply?: Responder | undefined;
}

export interface KeyStats {
  readonly accepted: number;
  readonly limited: number;
  /** Tokens counted for accepted requests. */
  readonly tokens: number;
  /** The most tokens admitted in any one tokens window (checked as requests arrive). */
  readonly peakWindowTokens: number;
  /** When each accepted request was admitted, in ms on the server's clock (`performance.now()`), in order. */
  readonly admittedAt: readonly number[];
}

export interface RateLimitedLlm extends FakeHttpServer {
  readonly baseURL: string;
  /** Per API key (`authorization` bearer or `x-api-key`). */
  stats(key?: string): KeyStats;
}

interface Admitted {
  readonly at: number;
  readonly tokens: number;
}

/** One sliding window of one key. */
class Window {
  private log: Admitted[] = [];
  constructor(
    readonly limit: number | undefined,
    readonly windowMs: number,
  ) {}

  private prune(now: number): void {
    let i = 0;
    while (i < this.log.length && this.log[i]!.at + this.windowMs <= now) i++;
    if (i > 0) this.log = this.log.slice(i);
  }

  used(now: number, unit: (a: Admitted) => number): number {
    this.prune(now);
    let sum = 0;
    for (const a of this.log) sum += unit(a);
    return sum;
  }

  /** Milliseconds until `need` more fits (0: now). */
  waitFor(need: number, now: number, unit: (a: Admitted) => number): number {
    if (this.limit === undefined) return 0;
    let used = this.used(now, unit);
    if (used + need <= this.limit) return 0;
    for (const a of this.log) {
      used -= unit(a);
      if (used + need <= this.limit) return a.at + this.windowMs - now;
    }
    return this.windowMs;
  }

  /** Until the window is back to its whole limit. */
  resetIn(now: number): number {
    this.prune(now);
    const newest = this.log[this.log.length - 1];
    return newest === undefined ? 0 : newest.at + this.windowMs - now;
  }

  add(a: Admitted): void {
    this.log.push(a);
  }
}

const one = () => 1;
const tokensOf = (a: Admitted) => a.tokens;

/** A wait as OpenAI writes it: `6m0s`, `1.5s`, `20ms`. */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1_000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = (whole - minutes * 60_000) / 1_000;
  const s = `${Number(seconds.toFixed(3))}s`;
  return minutes > 0 ? `${minutes}m${s}` : s;
}

function text(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, part) => n + text(part), 0);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    // Text parts, tool inputs and results: what the model reads.
    return text(o.text) + text(o.content) + (o.input !== undefined ? JSON.stringify(o.input).length : 0);
  }
  return 0;
}

/** What the request is counted for: input estimate plus the requested output (an embeddings request: its input alone). */
export function countTokens(body: unknown, defaultOutput: number): number {
  if (typeof body !== 'object' || body === null) return 0;
  const b = body as Record<string, unknown>;
  if (b.input !== undefined) {
    const inputs = Array.isArray(b.input) ? b.input : [b.input];
    return inputs.reduce((n: number, t) => n + Math.ceil(text(t) / 4), 0);
  }
  const messages = Array.isArray(b.messages) ? b.messages : [];
  let chars = text(b.system);
  for (const m of messages) {
    chars += text((m as { content?: unknown }).content);
    const calls = (m as { tool_calls?: unknown }).tool_calls;
    if (calls !== undefined) chars += JSON.stringify(calls).length;
  }
  if (b.tools !== undefined) chars += JSON.stringify(b.tools).length;
  const max = b.max_completion_tokens ?? b.max_tokens;
  const output = typeof max === 'number' && max >= 0 ? max : defaultOutput;
  return Math.ceil(chars / 4) + 4 * messages.length + output;
}

function keyOf(r: RecordedRequest): string {
  const auth = r.headers.authorization;
  if (typeof auth === 'string') return auth.replace(/^Bearer\s+/i, '');
  const key = r.headers['x-api-key'];
  return typeof key === 'string' ? key : '';
}

interface KeyState {
  readonly requests: Window;
  readonly tokens: Window;
  accepted: number;
  limited: number;
  counted: number;
  peak: number;
  readonly admittedAt: number[];
}

function rateLimitHeaders(dialect: Dialect, k: KeyState, now: number): Record<string, string> {
  const h: Record<string, string> = {};
  const windows = [
    ['requests', k.requests, one],
    ['tokens', k.tokens, tokensOf],
  ] as const;
  for (const [name, w, unit] of windows) {
    if (w.limit === undefined) continue;
    const remaining = String(Math.max(0, w.limit - w.used(now, unit)));
    const resetMs = w.resetIn(now);
    if (dialect === 'openai') {
      h[`x-ratelimit-limit-${name}`] = String(w.limit);
      h[`x-ratelimit-remaining-${name}`] = remaining;
      h[`x-ratelimit-reset-${name}`] = goDuration(resetMs);
    } else {
      h[`anthropic-ratelimit-${name}-limit`] = String(w.limit);
      h[`anthropic-ratelimit-${name}-remaining`] = remaining;
      // RFC 3339 with milliseconds: whole seconds would swamp a compressed window.
      h[`anthropic-ratelimit-${name}-reset`] = new Date(Date.now() + resetMs).toISOString();
    }
  }
  return h;
}

function limitedReply(dialect: Dialect, which: 'requests' | 'tokens', waitMs: number): FakeReply {
  const headers: Record<string, string> = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1_000))) };
  if (dialect === 'openai') {
    headers['retry-after-ms'] = String(Math.max(1, Math.ceil(waitMs)));
    return {
      kind: 'json',
      status: 429,
      headers,
      body: {
        error: {
          message: `Rate limit reached for ${which} per window. Please try again later.`,
          type: which,
          param: null,
          code: 'rate_limit_exceeded',
        },
      },
    };
  }
  return {
    kind: 'json',
    status: 429,
    headers,
    body: {
      type: 'error',
      error: { type: 'rate_limit_error', message: `This request would exceed the rate limit for ${which}.` },
    },
  };
}

function defaultReply(dialect: Dialect): Responder {
  return (r) => {
    if (r.path === EMBEDDINGS) return openaiReplies.embeddings()(r);
    const stream = (r.body as { stream?: unknown } | undefined)?.stream === true;
    if (dialect === 'openai') return stream ? openaiReplies.streamText(['o', 'k']) : openaiReplies.text('ok');
    return stream ? anthropicReplies.streamText(['o', 'k']) : anthropicReplies.text('ok');
  };
}

function withHeaders(reply: FakeReply, headers: Record<string, string>): FakeReply {
  if (reply.kind === 'json' || reply.kind === 'sse' || reply.kind === 'raw')
    return { ...reply, headers: { ...headers, ...reply.headers } };
  return reply;
}

/** OpenAI's embeddings route, limited by the same windows as its chat (one key, one limit, as in these tests). */
const EMBEDDINGS = '/v1/embeddings';

export async function startRateLimitedLlm(options: RateLimitedLlmOptions): Promise<RateLimitedLlm> {
  const { dialect } = options;
  const path = dialect === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const reply = options.reply ?? defaultReply(dialect);
  const defaultOutput = options.defaultOutputTokens ?? 1_024;
  const keys = new Map<string, KeyState>();
  const stateOf = (key: string): KeyState => {
    let k = keys.get(key);
    if (k === undefined) {
      k = {
        requests: new Window(options.requests, options.requestsWindowMs ?? 60_000),
        tokens: new Window(options.tokens, options.tokensWindowMs ?? 60_000),
        accepted: 0,
        limited: 0,
        counted: 0,
        peak: 0,
        admittedAt: [],
      };
      keys.set(key, k);
    }
    return k;
  };

  const server = await FakeHttpServer.start((r) => {
    if (r.method !== 'POST' || (r.path !== path && !(dialect === 'openai' && r.path === EMBEDDINGS)))
      return dialect === 'openai' ? openaiReplies.error(404) : anthropicReplies.error(404, 'not_found_error');
    const k = stateOf(keyOf(r));
    const now = performance.now();
    const need = countTokens(r.body, defaultOutput);
    const waitRequests = k.requests.waitFor(1, now, one);
    const waitTokens = k.tokens.waitFor(need, now, tokensOf);
    if (waitRequests > 0 || waitTokens > 0) {
      k.limited++;
      const which = waitTokens >= waitRequests ? 'tokens' : 'requests';
      return withHeaders(
        limitedReply(dialect, which, Math.max(waitRequests, waitTokens)),
        rateLimitHeaders(dialect, k, now),
      );
    }
    const admitted = { at: now, tokens: need };
    k.requests.add(admitted);
    k.tokens.add(admitted);
    k.accepted++;
    k.admittedAt.push(now);
    k.counted += need;
    k.peak = Math.max(k.peak, k.tokens.used(now, tokensOf));
    return withHeaders(reply(r), rateLimitHeaders(dialect, k, now));
  });

  const baseURL = dialect === 'openai' ? `${server.url}/v1` : server.url;
  return Object.assign(server, {
    baseURL,
    stats(key?: string): KeyStats {
      const list = key === undefined ? [...keys.values()] : [keys.get(key)].filter((k) => k !== undefined);
      return {
        accepted: list.reduce((n, k) => n + k.accepted, 0),
        limited: list.reduce((n, k) => n + k.limited, 0),
        tokens: list.reduce((n, k) => n + k.counted, 0),
        peakWindowTokens: list.reduce((n, k) => Math.max(n, k.peak), 0),
        admittedAt: list.flatMap((k) => k.admittedAt).sort((a, b) => a - b),
      };
    },
  });
}
