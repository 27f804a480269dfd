import { type HeaderReader, readHeaders } from './headers.js';

/**
 * A value beyond this is not a wait but garbage (or an attack): it counts as
 * absent. Waits below it are still capped by the policy (`maxRetryAfterMs`)
 * and by the deadline, which decide whether to wait or give up at once.
 */
export const ABSURD_WAIT_MS = 24 * 60 * 60 * 1000;

function sane(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0 || ms > ABSURD_WAIT_MS) return undefined;
  return ms;
}

const NUMBER = /^\s*\d+(\.\d+)?\s*$/;

/** `retry-after`: delta-seconds (integers, and the floats SDKs accept) or an HTTP-date. */
export function parseRetryAfterValue(value: string, nowMs: number): number | undefined {
  if (NUMBER.test(value)) return sane(Number.parseFloat(value) * 1000);
  // An HTTP-date must name a weekday or month; Date.parse alone accepts "5" or "-5".
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  // A date already past means "now", never a negative wait.
  return sane(Math.max(0, at - nowMs));
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const DURATION_WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as OpenAI sends them: `20ms`, `1s`, `6m0s`, `1h2m3.5s`. */
export function parseGoDuration(value: string): number | undefined {
  const v = value.trim();
  if (!DURATION_WHOLE.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(DURATION_PART)) total += Number.parseFloat(m[1]!) * UNIT_MS[m[2]!]!;
  return sane(total);
}

/** RFC 3339 timestamps as Anthropic sends them in `anthropic-ratelimit-*-reset`. */
export function parseResetTimestamp(value: string, nowMs: number): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value.trim())) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return sane(Math.max(0, at - nowMs));
}

const OPENAI_BUCKETS = ['requests', 'tokens'] as const;
const ANTHROPIC_BUCKETS = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;

function exhausted(h: HeaderReader, remainingHeader: string): boolean | undefined {
  const r = h(remainingHeader);
  if (r === undefined) return undefined;
  const n = Number(r);
  return Number.isFinite(n) ? n <= 0 : undefined;
}

/**
 * The latest reset among buckets that are exhausted. When the provider sends
 * no `remaining` figures at all, every reset it sent is a candidate: it would
 * not send a 429 with a full bucket.
 */
function latestReset(h: HeaderReader, nowMs: number): number | undefined {
  const candidates: Array<{ exhausted: boolean | undefined; ms: number | undefined }> = [];
  for (const b of OPENAI_BUCKETS) {
    const reset = h(`x-ratelimit-reset-${b}`);
    if (reset === undefined) continue;
    candidates.push({
      exhausted: exhausted(h, `x-ratelimit-remaining-${b}`),
      ms: parseGoDuration(reset),
    });
  }
  for (const b of ANTHROPIC_BUCKETS) {
    const reset = h(`anthropic-ratelimit-${b}-reset`);
    if (reset === undefined) continue;
    candidates.push({
      exhausted: exhausted(h, `anthropic-ratelimit-${b}-remaining`),
      ms: parseResetTimestamp(reset, nowMs),
    });
  }
  const anyKnown = candidates.some((c) => c.exhausted !== undefined);
  let best: number | undefined;
  for (const c of candidates) {
    if (c.ms === undefined) continue;
    if (anyKnown && c.exhausted !== true) continue;
    if (best === undefined || c.ms > best) best = c.ms;
  }
  return best;
}

/**
 * How long the dependency asked us to wait, in this order:
 * `retry-after-ms`, then `retry-after`, else the latest reset of an exhausted
 * bucket. Undefined when it said nothing usable.
 */
export function parseRetryAfter(headers: unknown, nowMs: number): number | undefined {
  const h = readHeaders(headers);
  if (!h) return undefined;
  const ms = h('retry-after-ms');
  if (ms !== undefined && NUMBER.test(ms)) {
    const v = sane(Number.parseFloat(ms));
    if (v !== undefined) return v;
  }
  const ra = h('retry-after');
  if (ra !== undefined) {
    const v = parseRetryAfterValue(ra, nowMs);
    if (v !== undefined) return v;
  }
  return latestReset(h, nowMs);
}

/** `x-should-retry: true|false`, the Stainless SDKs' override; anything else is silence. */
export function parseShouldRetry(headers: unknown): boolean | undefined {
  const v = readHeaders(headers)?.('x-should-retry')?.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}
