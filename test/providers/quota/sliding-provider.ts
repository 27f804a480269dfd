/**
 * A provider's sliding windows of requests and tokens over what it accepted,
 * and the rate-limit figures it writes, on a virtual clock: the simulated
 * provider of the quota's property tests. `print` writes a reset the way a
 * provider prints it (rounded, say); by default exactly.
 */
export interface SlidingProvider {
  readonly windowMs: number;
  readonly requests: number;
  readonly tokens: number;
}

export function slidingProvider(
  p: SlidingProvider,
  print: (resetAt: number, now: number) => number = (resetAt) => resetAt,
) {
  const accepted: Array<{ at: number; tokens: number }> = [];
  const held = (now: number) => accepted.filter((a) => a.at + p.windowMs > now);
  const reading = (now: number) => {
    const h = held(now);
    const resetAt = print(h.length === 0 ? now : Math.max(...h.map((a) => a.at)) + p.windowMs, now);
    const tokens = h.reduce((n, a) => n + a.tokens, 0);
    return {
      requests: { remaining: Math.max(0, p.requests - h.length), limit: p.requests, resetAt },
      tokens: { remaining: Math.max(0, p.tokens - tokens), limit: p.tokens, resetAt },
    };
  };
  return {
    /** Accepts or refuses `tokens` at `now`; either way, the figures of that moment. */
    receive(tokens: number, now: number) {
      const h = held(now);
      const ok = h.length + 1 <= p.requests && h.reduce((n, a) => n + a.tokens, 0) + tokens <= p.tokens;
      if (ok) accepted.push({ at: now, tokens });
      return { ok, reading: reading(now) };
    },
  };
}
