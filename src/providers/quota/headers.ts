import { type HeaderReader, readHeaders } from '../../failure/headers.js';
import { parseGoDuration, parseResetTimestamp } from '../../failure/retry-after.js';

/**
 * What a provider's rate-limit headers say about one window (requests, or
 * tokens). `resetAt` is on the clock whose `now` was passed in: the moment
 * the provider says the window is back to `limit`.
 */
export interface RateLimitWindow {
  readonly remaining: number;
  readonly limit?: number;
  readonly resetAt?: number;
}

/** Both windows, each present only when the provider sent a usable `remaining`. */
export interface RateLimitReading {
  readonly requests?: RateLimitWindow;
  readonly tokens?: RateLimitWindow;
}

/**
 * A count as the headers carry it: a non-negative integer. Anything else
 * (Azure's `-1`, `NaN`, `1e400`, `12abc`) is garbage and counts as absent.
 */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

function window(
  remaining: string | undefined,
  limit: string | undefined,
  resetInMs: number | undefined,
  now: number,
): RateLimitWindow | undefined {
  const r = count(remaining);
  if (r === undefined) return undefined;
  const l = count(limit);
  // A limit below what remains is self-contradictory: keep the remaining figure, drop the limit.
  return {
    remaining: r,
    ...(l !== undefined && l >= r ? { limit: l } : {}),
    ...(resetInMs !== undefined ? { resetAt: now + resetInMs } : {}),
  };
}

/** OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as Go durations (`6m0s`, `20ms`). */
function openai(h: HeaderReader, now: number, bucket: 'requests' | 'tokens'): RateLimitWindow | undefined {
  const reset = h(`x-ratelimit-reset-${bucket}`);
  return window(
    h(`x-ratelimit-remaining-${bucket}`),
    h(`x-ratelimit-limit-${bucket}`),
    reset === undefined ? undefined : parseGoDuration(reset),
    now,
  );
}

/** Anthropic: `anthropic-ratelimit-{bucket}-{limit,remaining,reset}`, resets as RFC 3339 timestamps. */
function anthropic(h: HeaderReader, now: number, bucket: string): RateLimitWindow | undefined {
  const reset = h(`anthropic-ratelimit-${bucket}-reset`);
  // The timestamp is wall-clock time; the wait it implies is carried over to the caller's clock.
  return window(
    h(`anthropic-ratelimit-${bucket}-remaining`),
    h(`anthropic-ratelimit-${bucket}-limit`),
    reset === undefined ? undefined : parseResetTimestamp(reset, Date.now()),
    now,
  );
}

/** The tighter of two readings of one window: the one with less left. */
function tighter(
  a: RateLimitWindow | undefined,
  b: RateLimitWindow | undefined,
): RateLimitWindow | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.remaining < a.remaining ? b : a;
}

/**
 * The rate-limit headers of one response, OpenAI's or Anthropic's, on the
 * caller's clock. Anthropic's `anthropic-ratelimit-tokens-*` already names
 * the most restrictive token limit in effect; its input-token window stands
 * in only when that is absent. The output-token window is not read: an
 * estimate counts input and output together, and held against the output
 * limit alone it would refuse a long prompt that asks for a short answer.
 * Undefined when the response carried no usable rate-limit header; a
 * malformed header is ignored, never thrown.
 */
export function readRateLimitHeaders(headers: unknown, now: number): RateLimitReading | undefined {
  const h = readHeaders(headers);
  if (!h) return undefined;
  const requests = tighter(openai(h, now, 'requests'), anthropic(h, now, 'requests'));
  const tokens = tighter(
    openai(h, now, 'tokens'),
    anthropic(h, now, 'tokens') ?? anthropic(h, now, 'input-tokens'),
  );
  if (requests === undefined && tokens === undefined) return undefined;
  return { ...(requests ? { requests } : {}), ...(tokens ? { tokens } : {}) };
}
