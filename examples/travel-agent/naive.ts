/**
 * The comparison: the same agent, tools and providers behind the retry loop
 * most agents start with — tenacity's `@retry(stop=stop_after_attempt(5),
 * wait=wait_exponential(multiplier=0.1))`, or p-retry's defaults. It retries
 * any error, whatever the operation does, without an idempotency key; it
 * waits 100, 200, 400, 800 ms whatever the service asked; it has no breaker,
 * so every turn starts again at the provider that is down; and it has no
 * ledger, so an action the model repeats is done again.
 */

import type {
  ChatRequest,
  ChatResponse,
  FetchLike,
  Provider,
  ToolCall,
  ToolResultMessage,
  ToolsInput,
} from 'breakwater';
import { classify } from 'breakwater/building-blocks';
import type { Style } from '../shared/style.js';
import type { Backend } from './backend.js';
import { type Counts, type Fallback, row } from './summary.js';
import type {
  Charge,
  FlightBooking,
  FlightSearch,
  HotelBooking,
  HotelSearch,
  TravelApi,
} from './travel-api.js';
import { callLabel, failureWords, resultWords, waitWords } from './words.js';

export interface NaiveRetryOptions {
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  readonly onAttempt?: () => void;
}

/** Retry anything, up to `attempts` times, doubling the wait from `baseMs`. */
export async function naiveRetry<T>(fn: () => Promise<T>, o: NaiveRetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 5;
  const base = o.baseMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      o.onAttempt?.();
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      const delay = base * 2 ** (attempt - 1);
      o.onRetry?.(attempt + 1, delay, err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** A fetch with a per-request timeout that throws on a non-2xx answer — and sends no idempotency key. */
export function naiveFetch(timeoutMs: number): FetchLike {
  return async (input, init) => {
    const res = await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, headers: res.headers });
    }
    return res;
  };
}

function words(err: unknown): string {
  return failureWords(classify(err));
}

export interface NaiveOptions {
  readonly providers: readonly Provider[];
  readonly api: TravelApi;
  /** Only their definitions are used: the naive run shows the model the same tools. */
  readonly tools: ToolsInput;
  readonly out: (line: string) => void;
  readonly style: Style;
}

export function naiveBackend(o: NaiveOptions): Backend {
  const { providers, api, out, style: s } = o;
  const rows = new Map<string, Counts>();
  const fallbacks: Fallback[] = [];
  const count = (dependency: string, kind: 'model' | 'tool'): Counts => row(rows, dependency, kind);
  // The same attempt timeout breakwater's profiles use, so the comparison is about retries alone.
  const http = naiveFetch(1_000);
  const image = naiveFetch(700);
  const tools: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    // No validation either: the model's arguments go out as they came.
    search_flights: (a) => api.searchFlights(http, a as unknown as FlightSearch),
    search_hotels: (a) => api.searchHotels(http, a as unknown as HotelSearch),
    book_flight: (a) => api.bookFlight(http, a as unknown as FlightBooking),
    book_hotel: (a) => api.bookHotel(http, a as unknown as HotelBooking),
    charge_card: (a) => api.charge(http, a as unknown as Charge),
    generate_itinerary_image: (a) =>
      api.generateImage(image, { prompt: String(a.prompt), size: a.size as string | undefined }),
  };

  /** "HTTP 429 ×4": what the retries ran into, compactly. */
  function tally(errors: readonly string[]): string {
    const counts = new Map<string, number>();
    for (const e of errors) counts.set(e, (counts.get(e) ?? 0) + 1);
    return [...counts].map(([e, n]) => (n > 1 ? `${e} ×${n}` : e)).join(', ');
  }

  async function chat(request: ChatRequest): Promise<ChatResponse> {
    let last: unknown;
    for (const [i, p] of providers.entries()) {
      const dependency = `${p.name}/${p.model}`;
      const r = count(dependency, 'model');
      r.operations++;
      const errors: string[] = [];
      let waited = 0;
      try {
        const answer = await naiveRetry(() => p.chat(request, { signal: AbortSignal.timeout(3_000) }), {
          onAttempt: () => r.attempts++,
          onRetry: (_n, delay, err) => {
            r.retries++;
            waited += delay;
            errors.push(words(err));
          },
        });
        r.ok++;
        if (errors.length > 0)
          out(
            `  ${s.yellow('↻')} ${dependency}: ${tally(errors)}, retried after ${waitWords(waited)} of waiting`,
          );
        return answer;
      } catch (err) {
        r.failed++;
        last = err;
        errors.push(words(err));
        const next = providers[i + 1];
        out(
          `  ${s.red('✗')} ${dependency}: ${r.attempts > 0 ? `${errors.length} attempts, ${tally(errors)}` : words(err)} (${waitWords(waited)} of waiting; no breaker, so the next turn tries it again)${next ? ` — trying ${next.name}` : ''}`,
        );
        if (next) fallbacks.push({ from: p.name, to: next.name, reason: classify(err).kind });
      }
    }
    throw last;
  }

  async function runTools(calls: readonly ToolCall[]): Promise<ToolResultMessage[]> {
    return Promise.all(
      calls.map(async (call): Promise<ToolResultMessage> => {
        const label = callLabel(call.name, call.arguments);
        const r = count(call.name, 'tool');
        r.operations++;
        const impl = tools[call.name];
        const errors: string[] = [];
        const retried = () =>
          errors.length > 0
            ? s.dim(` — ${errors.length + 1} attempts (${tally(errors)}), each failure retried blindly`)
            : '';
        try {
          if (!impl) throw new Error(`no tool ${call.name}`);
          const value = await naiveRetry(() => impl({ ...call.arguments }), {
            onAttempt: () => r.attempts++,
            onRetry: (_n, _delay, err) => {
              r.retries++;
              errors.push(words(err));
            },
          });
          r.ok++;
          out(`  ${s.green('✓')} ${label}: ${resultWords(call.name, value)}${retried()}`);
          return { role: 'tool', toolCallId: call.id, toolName: call.name, content: JSON.stringify(value) };
        } catch (err) {
          r.failed++;
          out(`  ${s.red('✗')} ${label}: ${words(err)}${retried()}`);
          return {
            role: 'tool',
            toolCallId: call.id,
            toolName: call.name,
            content: JSON.stringify({ error: { message: words(err) } }),
            isError: true,
          };
        }
      }),
    );
  }

  let routes = 0;
  return {
    chat: (request) => {
      routes++;
      return chat(request);
    },
    runTools: (calls) => runTools(calls),
    tools: o.tools,
    around: (fn) => fn(),
    report: () => ({
      dependencies: [...rows.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'model' ? -1 : 1)),
      fallbacks,
      breakerTransitions: [],
      routes,
      spans: undefined,
    }),
    close: async () => {},
  };
}
