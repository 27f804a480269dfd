/**
 * A stand-in for R2's quota (src/providers/quota/), with the contract's
 * shape, until that module lands: it knows no limits and never holds a
 * request. Delete once `../quota/index.js` exists.
 */
import type { Clock } from '../../policy/clock.js';
import type { ChatRequest } from '../types.js';

export interface RateLimitWindow {
  readonly remaining: number;
  readonly limit?: number;
  readonly resetAt?: number;
}
export interface RateLimitReading {
  readonly requests?: RateLimitWindow;
  readonly tokens?: RateLimitWindow;
}
export interface QuotaReservation {
  readonly tokens: number;
}
export interface Quota {
  acquire(tokens: number, opts: { signal?: AbortSignal; deadline?: number }): Promise<QuotaReservation>;
  observe(reading: RateLimitReading): void;
  settle(reservation: QuotaReservation, actualTokens: number | undefined): void;
  headroom(): number | undefined;
  delayFor(tokens: number): number;
}

export function readRateLimitHeaders(_headers: Headers, _now: number): RateLimitReading | undefined {
  return undefined;
}

/** Characters / 4 for the input, plus the output asked for. */
export function estimateTokens(request: ChatRequest): number {
  let chars = request.system?.length ?? 0;
  for (const m of request.messages) chars += m.content.length;
  return Math.ceil(chars / 4) + (request.maxTokens ?? 0);
}

export function createQuota(_opts: { rpm?: number; tpm?: number; clock: Clock }): Quota {
  return {
    acquire: (tokens) => Promise.resolve({ tokens }),
    observe: () => {},
    settle: () => {},
    headroom: () => undefined,
    delayFor: () => 0,
  };
}
