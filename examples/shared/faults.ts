/**
 * The faults the local services inject, one per request to an endpoint, in
 * order. Each says what happened to the work as well as to the answer,
 * because that is what decides whether a retry is safe: a 500 *before* the
 * work is harmless to repeat, the same 500 *after* it is a second charge.
 */
import type { Exchange } from './local-http.js';

export type Fault =
  | { readonly kind: 'ok' }
  /** Answer `status`; `after: true` does the work first (the answer is the only thing that failed). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly after: boolean;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Cut the connection; `after: true` does the work first. */
  | { readonly kind: 'reset'; readonly after: boolean }
  /** Do the work, then hold the answer for `delayMs`: the client times out first. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Start a rate-limit window: this request and every other one until it ends get a 429 with Retry-After. */
  | { readonly kind: 'rate_limit'; readonly windowMs: number };

export const OK: Fault = { kind: 'ok' };

/** What an endpoint does when nothing goes wrong. */
export interface Work {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** In words, for the schedule printed at the start of a run. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'ok':
      return 'ok';
    case 'status': {
      const ra = f.headers?.['retry-after-ms'] ?? f.headers?.['retry-after'];
      const extra = ra !== undefined ? ` with Retry-After` : '';
      return `HTTP ${f.status}${extra}${f.after ? ' after doing the work' : ''}`;
    }
    case 'reset':
      return f.after ? 'answer lost after doing the work (connection cut)' : 'connection cut';
    case 'slow':
      return `did the work, answered only after ${f.delayMs} ms`;
    case 'rate_limit':
      return `429 rate limit for ${f.windowMs} ms`;
  }
}

/** Replays a fault list one request at a time; past its end every request is fine. */
export class FaultQueue {
  private index = 0;
  constructor(private readonly faults: readonly Fault[] = []) {}

  next(): Fault {
    const f = this.faults[this.index] ?? OK;
    this.index++;
    return f;
  }
}

/** A rate limiter's refusal window, shared by every caller of one endpoint. */
export class RateLimitWindow {
  private until = 0;
  /** Requests refused with a 429: what a thundering herd costs the dependency. */
  refused = 0;

  open(windowMs: number, now = Date.now()): void {
    this.until = Math.max(this.until, now + windowMs);
  }

  /** Milliseconds left, or 0 when the window is closed. */
  remaining(now = Date.now()): number {
    return Math.max(0, this.until - now);
  }

  refuse(ex: Exchange, now = Date.now()): void {
    this.refused++;
    const ms = Math.max(1, this.remaining(now));
    // OpenAI's pair: milliseconds for clients that read them, whole seconds for the rest.
    ex.json(
      429,
      { error: { type: 'rate_limited', message: 'too many requests' } },
      { 'retry-after-ms': String(ms), 'retry-after': String(Math.ceil(ms / 1_000)) },
    );
  }
}

/**
 * Answers one request under a fault: `work` runs (and its effect happens)
 * exactly when the fault says the service did the work.
 */
export function respond(ex: Exchange, fault: Fault, work: () => Work): void {
  const send = (w: Work) => ex.json(w.status ?? 200, w.body, w.headers);
  switch (fault.kind) {
    case 'ok':
    case 'rate_limit':
      send(work());
      return;
    case 'status':
      if (fault.after) work();
      ex.json(
        fault.status,
        { error: { type: 'fault', message: `injected HTTP ${fault.status}` } },
        fault.headers,
      );
      return;
    case 'reset':
      if (fault.after) work();
      ex.reset();
      return;
    case 'slow': {
      const w = work();
      ex.later(fault.delayMs, () => send(w));
      return;
    }
  }
}

/**
 * One request to a faulty endpoint: takes the next fault, opens or honors
 * the endpoint's rate-limit window, then answers as the fault says.
 */
export function serve(ex: Exchange, faults: FaultQueue, window: RateLimitWindow, work: () => Work): void {
  const fault = faults.next();
  if (fault.kind === 'rate_limit') window.open(fault.windowMs);
  if (window.remaining() > 0) {
    window.refuse(ex);
    return;
  }
  respond(ex, fault, work);
}
