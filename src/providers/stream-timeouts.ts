/**
 * Time limits on a stream that the deadline alone does not give: a stream
 * that never starts should be left while another provider can still answer,
 * and one that stops mid-answer should end, not hang until the deadline.
 */
export interface StreamTimeouts {
  /**
   * No first chunk within this many ms: the attempt fails as a timeout before
   * anything was handed over, so it is retried or failed over like any other
   * failure before the first chunk. Also bounded by the provider's share of
   * the deadline, whichever ends first.
   */
  readonly firstChunkMs?: number | undefined;
  /**
   * No chunk within this many ms of asking for the next one, after the first:
   * the request is aborted and the stream ends with `StreamInterruptedError`
   * holding the partial answer (never a silent retry: part of it was handed over).
   * Time the caller spends on a chunk does not count.
   */
  readonly idleMs?: number | undefined;
}

/** Checks stream timeouts, naming the field (under `field`, e.g. `groups.fast.stream`). */
export function resolveStreamTimeouts(input: StreamTimeouts | undefined, field = 'stream'): StreamTimeouts {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object')
    throw new RangeError(`${field}: expected an object, got ${input === null ? 'null' : typeof input}`);
  const out: { firstChunkMs?: number; idleMs?: number } = {};
  for (const [k, v] of Object.entries(input)) {
    if (k !== 'firstChunkMs' && k !== 'idleMs')
      throw new RangeError(`${field}.${k}: unknown option (firstChunkMs, idleMs)`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new RangeError(
        `${field}.${k}: expected a positive number of milliseconds, got ${typeof v === 'number' ? v : typeof v}`,
      );
    out[k] = v;
  }
  return out;
}
