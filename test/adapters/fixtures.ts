import { z } from 'zod';
import { createRegistry, type Registry, type RegistryOptions } from '../../src/tools/registry.js';

/** What every attempt of a fixture tool saw: the adapters' promise is that these come from the framework. */
export interface Seen {
  readonly tool: string;
  readonly attempt: number;
  readonly callId: string | undefined;
  readonly key: string;
  readonly signal: AbortSignal;
}

/** A connection reset after the request went out: delivery unknown. */
export const resetError = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
/** A bare 502: the dependency may have acted. */
export const badGateway = () => Object.assign(new Error('HTTP 502'), { status: 502, headers: {} });

export interface TravelFixture {
  readonly registry: Registry;
  readonly runs: { weather: number; booking: number; search: number };
  readonly seen: Seen[];
  /** Resolves when `slow_search` has started, so a test can abort mid-call. */
  readonly searchStarted: Promise<void>;
  /** The reasons `slow_search`'s attempts were aborted with. */
  readonly searchAborts: unknown[];
}

/**
 * Three tools with faults built in:
 * - `get_weather` (idempotent) loses its first attempt to a reset and succeeds on the second;
 * - `book_hotel` (non-idempotent, no key honored) answers 502: it may have booked, so it must not run again;
 * - `slow_search` (idempotent) never answers until its signal aborts.
 * `random: () => 0` makes every backoff zero, so the tests need no clock.
 */
export function travelRegistry(options: RegistryOptions = {}): TravelFixture {
  const registry = createRegistry({ random: () => 0, ...options });
  const runs = { weather: 0, booking: 0, search: 0 };
  const seen: Seen[] = [];
  const searchAborts: unknown[] = [];
  let started: () => void = () => {};
  const searchStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  registry.register({
    name: 'get_weather',
    description: 'The weather in a city.',
    effect: 'idempotent',
    input: z.object({ city: z.string() }),
    execute: async ({ city }, ctx) => {
      runs.weather++;
      seen.push({
        tool: ctx.tool,
        attempt: ctx.attempt,
        callId: ctx.callId,
        key: ctx.idempotencyKey,
        signal: ctx.signal,
      });
      if (ctx.attempt === 1) throw resetError();
      return { city, sky: 'clear' };
    },
  });
  registry.register({
    name: 'book_hotel',
    description: 'Books a hotel room.',
    input: z.object({ hotel: z.string() }),
    execute: async (_input, ctx) => {
      runs.booking++;
      seen.push({
        tool: ctx.tool,
        attempt: ctx.attempt,
        callId: ctx.callId,
        key: ctx.idempotencyKey,
        signal: ctx.signal,
      });
      throw badGateway();
    },
  });
  registry.register({
    name: 'slow_search',
    description: 'Searches, slowly.',
    effect: 'idempotent',
    input: z.object({ q: z.string() }),
    execute: (_input, ctx) => {
      runs.search++;
      seen.push({
        tool: ctx.tool,
        attempt: ctx.attempt,
        callId: ctx.callId,
        key: ctx.idempotencyKey,
        signal: ctx.signal,
      });
      return new Promise<never>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          searchAborts.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        });
        started();
      });
    },
  });
  return { registry, runs, seen, searchStarted, searchAborts };
}
