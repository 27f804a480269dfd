import type { RateLimitReading, RateLimitWindow } from './headers.js';

/*
 * The quota of one deployment as a pure state machine: what it has admitted,
 * what the provider last said, and when a request of a given size fits. No
 * timers and no promises here; `createQuota` (quota.ts) drives it with a
 * clock. Every function takes `now` so that tests replay any schedule.
 *
 * Two models are kept, and a request waits for the stricter:
 * - the configured limits (`rpm`, `tpm`): a sliding window over what this
 *   quota admitted. A reservation counts in full while its request is in
 *   flight and for one window after its headers arrived (or it settled),
 *   because the provider counted it at some moment in between: counting it
 *   from the acquire would free it before the provider does.
 * - the provider's last reading (its headers): `remaining`, plus what this
 *   quota's own requests counted in the reading give back as they leave the
 *   window, until the reset, then `limit`; less every request not counted
 *   in it. Nothing else is assumed to come back before the reset (a step,
 *   not a slope): on a provider that refills continuously that waits longer
 *   per request but then admits a whole window at once, so the throughput
 *   is the same; on a provider with a sliding window, a slope would
 *   overshoot. Which requests a reading counted is known only in part
 *   (answers arrive out of order, and requests sent together reach the
 *   provider in any order): with a configured limit, which already holds
 *   every request sent, all those sent before the reading are taken as
 *   counted, so that the reading adds only what this quota cannot see
 *   (other processes on the key). Without one, those that had ended before
 *   the answered request was sent are, and then as many of the others as
 *   the provider's own count leaves room for (`takenAsCounted`).
 */

/** One admitted request, as the state keeps it. */
export interface QuotaEntry {
  /** Order of admission; a reading applies to entries admitted before it. */
  readonly seq: number;
  /** When it was admitted: it reached the provider no earlier. */
  readonly admittedAt: number;
  tokens: number;
  /** When its request ended; undefined while in flight. */
  settledAt: number | undefined;
  /**
   * When its response's headers arrived, if before it ended (a stream): the
   * provider had counted it by then, so its window can start there.
   */
  heardAt: number | undefined;
  /** How many requests had been admitted when it ended (`nextSeq` then). */
  settledSeq: number | undefined;
  /** A reading answering it has been observed. */
  observed: boolean;
  /**
   * When the provider lets it go, per window, as its own answer said: the
   * reset the provider wrote when it had just counted it (a sliding window
   * is back to full a window after its newest request, this one; a fixed
   * window at its end; a bucket, refilling, frees as much by its reset).
   * Known, it frees its place then — request by request, not all at the
   * next reset — and says exactly whether a later reading still held it.
   */
  releaseAt: { requests?: number; tokens?: number };
  /**
   * The provider did not count it: it was refused (a 429) or never sent.
   * Then no reading counted it, whatever the order says, and it must never
   * be given back: it never took anything (a 429's own headers are read
   * before the request is known refused, so this is checked wherever
   * "counted in a reading" is, not fixed when the reading is taken).
   */
  uncounted: boolean;
}

interface Reading extends RateLimitWindow {
  readonly resetAt: number;
  /** The entry whose response carried the reading, when known: certainly counted in it. */
  readonly answered: QuotaEntry | undefined;
  /**
   * Entries that ended before this sequence number was admitted are
   * certainly counted in the reading: they had their answer before the
   * request it answers was sent. Any other entry may have reached the
   * provider after it wrote these headers (answers arrive out of order), so
   * it counts against the reading until a newer one replaces it.
   */
  readonly cutoff: number;
  /**
   * A configured limit already holds every request this quota sent, so the
   * reading only has to add what it cannot see (other processes on the same
   * key): then every entry admitted before the reading (`seq` below this) is
   * taken as counted in it.
   */
  readonly before: number | undefined;
  /** Entries not certainly counted in the reading but taken as counted: see `takenAsCounted`. */
  readonly taken: ReadonlySet<QuotaEntry>;
  /** When it was read. */
  readonly readAt: number;
  /** What entries counted in the reading gave back as they left the window and were forgotten. */
  released: number;
}

export interface QuotaState {
  readonly rpm: number | undefined;
  readonly tpm: number | undefined;
  readonly windowMs: number;
  /** Admitted entries not yet forgotten, in admission order. */
  entries: QuotaEntry[];
  nextSeq: number;
  requests: Reading | undefined;
  tokens: Reading | undefined;
  /**
   * The longest time to a reset any reading of each window gave: about the
   * provider's window (a sliding window's reset, right after a request, is
   * the whole window; a bucket's, when empty, its whole refill).
   */
  longestResetMs: { requests: number | undefined; tokens: number | undefined };
}

/** Whether, and when, a request fits. */
export type Fit =
  | { readonly kind: 'now' }
  /**
   * Not before `waitMs`. `exact`: it will fit then if nothing else is
   * admitted; otherwise it also needs a request in flight to end or a new
   * reading, and `waitMs` is only a lower bound.
   */
  | { readonly kind: 'later'; readonly waitMs: number; readonly exact: boolean }
  /** Never: it is larger than the whole limit. */
  | { readonly kind: 'never'; readonly limit: number; readonly unit: 'requests' | 'tokens' };

export function createQuotaState(
  rpm: number | undefined,
  tpm: number | undefined,
  windowMs: number,
): QuotaState {
  return {
    rpm,
    tpm,
    windowMs,
    entries: [],
    nextSeq: 0,
    requests: undefined,
    tokens: undefined,
    longestResetMs: { requests: undefined, tokens: undefined },
  };
}

type Unit = 'requests' | 'tokens';

const amountOf = (e: QuotaEntry, unit: Unit): number => (unit === 'requests' ? 1 : e.tokens);

/** Where an entry's window starts: when the provider had certainly counted it (headers, or the end). */
const countsFrom = (e: QuotaEntry): number | undefined => e.heardAt ?? e.settledAt;

/** An entry still counts against the window: in flight, or counted by the provider less than a window ago. */
const live = (s: QuotaState, e: QuotaEntry, now: number): boolean => {
  const from = countsFrom(e);
  return from === undefined || from + s.windowMs > now;
};

/**
 * When `need` more fits under `capacity(t)`, given what counts now: the
 * amount in flight (it counts until it settles, which is not known in
 * advance) and settled amounts that leave at known times. The answer is
 * exact unless the amount in flight must end first.
 */
function firstFit(
  need: number,
  now: number,
  capacity: (t: number) => number,
  steps: readonly number[],
  inFlight: number,
  expiring: Array<{ at: number; amount: number }>,
  /** At the earliest, how long after ending now the amount in flight stops counting. */
  untilInFlightLeave: number,
): Fit {
  let used = inFlight;
  for (const x of expiring) used += x.amount;
  if (used + need <= capacity(now)) return { kind: 'now' };
  // The count only falls, and the capacity only rises, at these moments: try each in order.
  const moments = [...expiring.map((x) => x.at), ...steps.filter((t) => t > now)].sort((a, b) => a - b);
  for (const t of moments) {
    let at = inFlight;
    for (const x of expiring) if (x.at > t) at += x.amount;
    if (at + need <= capacity(t)) return { kind: 'later', waitMs: t - now, exact: true };
  }
  // Requests in flight must end first. Under a configured limit, if they ended now they would leave
  // the window a window later; under a reading, their answers' readings may show room at once (the
  // provider had counted them), so nothing later than the last known moment is certain.
  const last = moments.length > 0 ? Math.max(moments[moments.length - 1]! - now, 0) : 0;
  return { kind: 'later', waitMs: Math.max(last, inFlight > 0 ? untilInFlightLeave : 0), exact: false };
}

/** Whether the provider counted `e` in reading `r`: admitted before it, and not left in flight by it. */
const countedIn = (r: Reading, e: QuotaEntry): boolean =>
  !e.uncounted &&
  (r.before !== undefined ? e.seq < r.before : certainlyIn(r.answered, r.cutoff, e) || r.taken.has(e));

/**
 * How long the provider holds a request it counted: the quota's window, or
 * less when the longest reset seen says its window is shorter.
 */
const horizonOf = (s: QuotaState, unit: Unit): number =>
  Math.min(s.windowMs, s.longestResetMs[unit] ?? s.windowMs);

/**
 * Whether the provider certainly still held `e`, counted in `r`, when it
 * wrote `r`: one it had already let go is in `remaining` already, and must
 * not be given back a second time when it leaves the quota's window. It
 * reached the provider no earlier than its admission, so from then.
 */
const heldAt = (s: QuotaState, unit: Unit, r: Reading, e: QuotaEntry): boolean =>
  (e.releaseAt[unit] ?? e.admittedAt + horizonOf(s, unit)) > r.readAt;

/** When `e`, out of flight since `from`, stops counting against a window: a window later, or when the provider said. */
const leavesAt = (s: QuotaState, unit: Unit, e: QuotaEntry, from: number): number =>
  Math.min(from + s.windowMs, e.releaseAt[unit] ?? Number.POSITIVE_INFINITY);

/** Counted in a reading beyond doubt: the request it answers, and those that had ended before that one was sent. */
const certainlyIn = (answered: QuotaEntry | undefined, cutoff: number, e: QuotaEntry): boolean =>
  !e.uncounted && (e === answered || (e.settledSeq !== undefined && e.settledSeq <= cutoff));

/**
 * The provider's count (`limit - remaining`) says how many requests it
 * holds; what it holds beside the answered request and the recent ones
 * certainly in it may be this quota's other requests, sent at about the same
 * time (a burst reaches the provider in any order). Take as many of them as
 * counted as that room allows — those that have ended first (they certainly
 * reached it), then in order of sending — so that overlapping requests are
 * not counted twice, once in the provider's figure and once against it,
 * which would hold a steady load to a fraction of its quota. Exact for a key
 * this quota alone uses; on a key shared with other processes, their
 * requests fill the room first, at worst this quota takes one of its own
 * as counted too early (one 429, which is not sent and is retried).
 * "Recent": the provider still holds it, as far as the longest reset seen
 * tells its window.
 */
function takenAsCounted(
  s: QuotaState,
  w: RateLimitWindow,
  unit: Unit,
  answered: QuotaEntry | undefined,
  cutoff: number,
  now: number,
): ReadonlySet<QuotaEntry> {
  const taken = new Set<QuotaEntry>();
  if (answered === undefined || w.limit === undefined) return taken;
  const horizon = horizonOf(s, unit);
  let room = w.limit - w.remaining;
  const candidates: QuotaEntry[] = [];
  for (const e of s.entries) {
    // Refused or never sent: not in the provider's count, so never taken as counted in it.
    if (e.uncounted) continue;
    // Its own answer put its release after this reading's: it reached the provider after the
    // provider wrote this reading, so it is not in its count.
    if (w.resetAt !== undefined && (e.releaseAt[unit] ?? Number.NEGATIVE_INFINITY) > w.resetAt) continue;
    if (!certainlyIn(answered, cutoff, e)) candidates.push(e);
    // The provider wrote the reading no earlier than the answered request was admitted: what it
    // may still have held then is in its count.
    else if (e === answered || (e.releaseAt[unit] ?? (countsFrom(e) ?? now) + horizon) > answered.admittedAt)
      room -= amountOf(e, unit);
  }
  candidates.sort(
    (a, b) => Number(a.settledAt === undefined) - Number(b.settledAt === undefined) || a.seq - b.seq,
  );
  for (const e of candidates) {
    if (amountOf(e, unit) > room) break;
    room -= amountOf(e, unit);
    taken.add(e);
  }
  return taken;
}

/** What counts against a window: the amount in flight, and settled amounts with the time each leaves. */
function counted(s: QuotaState, unit: Unit, now: number, since: Reading | undefined) {
  let inFlight = 0;
  const expiring: Array<{ at: number; amount: number }> = [];
  for (const e of s.entries) {
    if (since !== undefined && countedIn(since, e)) continue;
    // Refused or never sent, against the provider's figures: if the provider counted the refusal its
    // figures say so already, and if not it never will. Held against them for a whole window, it
    // made a 429 hold a deployment for a minute (benchmark 3, 'room in 58 s').
    if (since !== undefined && e.uncounted) continue;
    if (!live(s, e, now)) continue;
    const amount = amountOf(e, unit);
    const from = countsFrom(e);
    if (from === undefined) inFlight += amount;
    // Against a reading, it leaves when the provider said it lets it go; a configured limit is this
    // quota's own window, which the provider's word does not shorten.
    else {
      const at = since === undefined ? from + s.windowMs : leavesAt(s, unit, e, from);
      if (at > now) expiring.push({ at, amount });
    }
  }
  return { inFlight, expiring };
}

/** The reading's capacity over time: `remaining`, plus its own counted entries as they leave; `limit` from the reset. */
function readingCapacity(s: QuotaState, r: Reading, unit: Unit) {
  const ceiling = r.limit ?? Number.POSITIVE_INFINITY;
  const returns: Array<{ at: number; amount: number }> = [];
  // Entries already out of the window but not yet forgotten have given theirs back too.
  for (const e of s.entries) {
    const from = countsFrom(e);
    if (countedIn(r, e) && from !== undefined && heldAt(s, unit, r, e))
      returns.push({ at: leavesAt(s, unit, e, from), amount: amountOf(e, unit) });
  }
  // What the provider said it holds: its own count of what it let go of cannot exceed it less what it
  // still holds. This quota knows its requests by estimate only, and a provider that counted one for
  // less (a shorter prompt than estimated) gives back only that: adding up the estimates as they
  // leave would give back more than it held. Bounded both ways (by the estimates that left, and by
  // the count less the estimates still held), an estimate off in either direction is never trusted
  // for more than the other bound allows.
  const held = ceiling - r.remaining;
  const capacity = (t: number): number => {
    if (t >= r.resetAt) return ceiling;
    let left = r.released;
    let still = 0;
    for (const x of returns) {
      if (x.at <= t) left += x.amount;
      else still += x.amount;
    }
    return Math.min(ceiling, r.remaining + Math.max(0, Math.min(left, held - still)));
  };
  return { capacity, steps: [r.resetAt, ...returns.map((x) => x.at)] };
}

/** The configured limit's model: a sliding window over what was admitted. */
function configuredFit(s: QuotaState, unit: Unit, need: number, now: number): Fit {
  const limit = unit === 'requests' ? s.rpm : s.tpm;
  if (limit === undefined) return { kind: 'now' };
  if (need > limit) return { kind: 'never', limit, unit };
  const { inFlight, expiring } = counted(s, unit, now, undefined);
  return firstFit(need, now, () => limit, [], inFlight, expiring, s.windowMs);
}

/** The provider's model: its last reading (`remaining` until the reset, `limit` after), less what was admitted since. */
function readingFit(s: QuotaState, unit: Unit, need: number, now: number): Fit {
  const r = unit === 'requests' ? s.requests : s.tokens;
  if (r === undefined) return { kind: 'now' };
  if (r.limit !== undefined && need > r.limit) return { kind: 'never', limit: r.limit, unit };
  const { inFlight, expiring } = counted(s, unit, now, r);
  const { capacity, steps } = readingCapacity(s, r, unit);
  return firstFit(need, now, capacity, steps, inFlight, expiring, 0);
}

/** The stricter of two fits: `never` over `later` over `now`; the longer wait. */
function stricter(a: Fit, b: Fit): Fit {
  if (a.kind === 'never') return a;
  if (b.kind === 'never') return b;
  if (a.kind === 'now') return b;
  if (b.kind === 'now') return a;
  if (a.waitMs !== b.waitMs) return a.waitMs > b.waitMs ? a : b;
  return { kind: 'later', waitMs: a.waitMs, exact: a.exact && b.exact };
}

/** Whether one more request of `tokens` fits now, and if not, when it might. */
export function fitOf(s: QuotaState, tokens: number, now: number): Fit {
  return [
    configuredFit(s, 'requests', 1, now),
    configuredFit(s, 'tokens', tokens, now),
    readingFit(s, 'requests', 1, now),
    readingFit(s, 'tokens', tokens, now),
  ].reduce(stricter);
}

/** Counts one request of `tokens` as admitted (call only when `fit` said `now`). */
export function admit(s: QuotaState, tokens: number, now: number): QuotaEntry {
  forget(s, now);
  const entry: QuotaEntry = {
    seq: s.nextSeq++,
    admittedAt: now,
    tokens,
    settledAt: undefined,
    settledSeq: undefined,
    heardAt: undefined,
    observed: false,
    releaseAt: {},
    uncounted: false,
  };
  s.entries.push(entry);
  return entry;
}

/** Takes back an admission made a moment ago (`admit` just returned it, nothing else happened since). */
export function unadmit(s: QuotaState, entry: QuotaEntry): void {
  if (s.entries[s.entries.length - 1] !== entry)
    throw new Error('quota: only the last admission can be taken back');
  s.entries.pop();
  s.nextSeq--;
}

/**
 * The request ended. `actualTokens` replaces the estimate only when larger:
 * providers count the requested output at admission, so a shorter answer
 * does not give the difference back within the window, while a longer
 * prompt than estimated did use more. `counted: false`: the provider
 * refused it (a 429) or never got it; it still counts against the
 * configured limits (a provider may count refused requests too), but
 * against the provider's own figures it no longer counts at all (they say
 * whether the provider counted it), and no reading ever gives it back as if
 * the provider had held it.
 */
export function settle(
  s: QuotaState,
  entry: QuotaEntry,
  actualTokens: number | undefined,
  now: number,
  counted = true,
): void {
  if (entry.settledAt !== undefined) return;
  entry.settledAt = now;
  if (!counted) entry.uncounted = true;
  entry.settledSeq = s.nextSeq;
  if (actualTokens !== undefined && Number.isFinite(actualTokens) && actualTokens > entry.tokens)
    entry.tokens = actualTokens;
  forget(s, now);
}

function reading(
  w: RateLimitWindow | undefined,
  unit: Unit,
  s: QuotaState,
  now: number,
  answered: QuotaEntry | undefined,
  cutoff: number,
  configured: boolean,
  previous: Reading | undefined,
): Reading | undefined {
  if (w === undefined) return previous;
  // An answer to an older request arriving late says less than the reading in hand.
  if (answered !== undefined && previous?.answered !== undefined && answered.seq < previous.answered.seq)
    return previous;
  if (w.resetAt !== undefined)
    s.longestResetMs[unit] = Math.max(s.longestResetMs[unit] ?? 0, w.resetAt - now);
  // A reading with no reset is taken to hold for one window, so that a lost reading cannot hold requests forever.
  const resetAt = w.resetAt === undefined ? now + s.windowMs : Math.max(now, w.resetAt);
  return {
    ...w,
    resetAt,
    answered,
    cutoff,
    before: configured ? s.nextSeq : undefined,
    taken: configured ? new Set() : takenAsCounted(s, w, unit, answered, cutoff, now),
    readAt: now,
    released: 0,
  };
}

/**
 * What the provider said; the newest reading of each window replaces the
 * one before. `answered` is the entry whose response carried it, when
 * known: what ended before it was sent is counted in the reading. Unknown,
 * only what ended before the oldest request still in flight was sent is.
 */
export function observe(
  s: QuotaState,
  r: RateLimitReading | undefined,
  now: number,
  answered?: QuotaEntry,
): void {
  if (r !== undefined) weigh(s, r, now, answered);
  if (answered === undefined) return;
  answered.observed = true;
  if (r?.requests?.resetAt !== undefined) answered.releaseAt.requests = r.requests.resetAt;
  if (r?.tokens?.resetAt !== undefined) answered.releaseAt.tokens = r.tokens.resetAt;
  // Headers mean the provider has counted the request, rate-limit figures or not.
  if (answered.settledAt === undefined) answered.heardAt ??= now;
}

function weigh(s: QuotaState, r: RateLimitReading, now: number, answered: QuotaEntry | undefined): void {
  forget(s, now);
  let cutoff = answered?.seq ?? s.nextSeq;
  if (answered === undefined)
    for (const e of s.entries) if (e.settledAt === undefined) cutoff = Math.min(cutoff, e.seq);
  s.requests = reading(r.requests, 'requests', s, now, answered, cutoff, s.rpm !== undefined, s.requests);
  s.tokens = reading(r.tokens, 'tokens', s, now, answered, cutoff, s.tpm !== undefined, s.tokens);
}

/** Drops entries out of the window; what a reading counted of them stays given back. */
function forget(s: QuotaState, now: number): void {
  if (s.entries.length === 0) return;
  // A reading may still come for a request in the window whose reading has not (its answer, or
  // its late headers), written as early as its admission: what the provider may have held then
  // must be at hand to weigh it.
  let unheard = now;
  for (const e of s.entries) if (!e.observed && live(s, e, now)) unheard = Math.min(unheard, e.admittedAt);
  const kept: QuotaEntry[] = [];
  for (const e of s.entries) {
    if (live(s, e, unheard)) {
      kept.push(e);
      continue;
    }
    if (s.requests && countedIn(s.requests, e) && heldAt(s, 'requests', s.requests, e))
      s.requests.released += 1;
    if (s.tokens && countedIn(s.tokens, e) && heldAt(s, 'tokens', s.tokens, e)) s.tokens.released += e.tokens;
  }
  if (kept.length !== s.entries.length) s.entries = kept;
}

/** The share (0..1) of the tightest known window still free, undefined when no limit is known. */
export function headroom(s: QuotaState, now: number): number | undefined {
  let share: number | undefined;
  const consider = (free: number, limit: number | undefined) => {
    if (limit === undefined || limit <= 0) return;
    const x = Math.min(1, Math.max(0, free / limit));
    share = share === undefined ? x : Math.min(share, x);
  };
  for (const unit of ['requests', 'tokens'] as const) {
    const configured = unit === 'requests' ? s.rpm : s.tpm;
    let used = 0;
    for (const e of s.entries) if (live(s, e, now)) used += amountOf(e, unit);
    if (configured !== undefined) consider(configured - used, configured);
    const r = unit === 'requests' ? s.requests : s.tokens;
    if (r !== undefined) {
      const c = counted(s, unit, now, r);
      let since = c.inFlight;
      for (const x of c.expiring) since += x.amount;
      // Without the provider's limit there is no share to speak of.
      if (r.limit !== undefined) consider(readingCapacity(s, r, unit).capacity(now) - since, r.limit);
    }
  }
  return share;
}
