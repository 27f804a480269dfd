/**
 * The agent's six tools, each declared with what it does to the world —
 * which is what decides what breakwater may retry:
 *
 * | tool                     | effect         | the service de-duplicates by key | a repeat by the model    |
 * |--------------------------|----------------|----------------------------------|--------------------------|
 * | search_flights           | idempotent     | (not needed)                     | runs again, harmlessly   |
 * | search_hotels            | idempotent     | (not needed)                     | runs again, harmlessly   |
 * | book_flight              | non-idempotent | yes                              | replayed from the ledger |
 * | book_hotel               | non-idempotent | yes                              | replayed from the ledger |
 * | charge_card              | non-idempotent | yes, and a lookup by key         | replayed from the ledger |
 * | generate_itinerary_image | non-idempotent | no: a lookup by reference only   | replayed from the ledger |
 */

import type { ProfileInput, Registry } from 'breakwater';
import { z } from 'zod';
import { imageProfile, registerImageTool } from '../image-generation/image-tool.js';
import type { TravelApi } from './travel-api.js';

const date = z.iso.date().describe('YYYY-MM-DD');
const iata = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .describe('IATA airport code, e.g. AMS');

/**
 * Short waits, so the demo tells its story in seconds; the shapes are the
 * built-ins' (`idempotent`, `non-idempotent`, `payment`). A person is waiting
 * on an agent: one attempt gets a second, the whole call a few.
 */
export const toolProfiles: Record<string, ProfileInput> = {
  search: {
    extends: 'idempotent',
    name: 'search',
    timeout: { attemptMs: 1_000, totalMs: 6_000, connectMs: 500 },
    retry: { maxAttempts: 4, backoff: { initialMs: 100, maxMs: 500 }, maxRetryAfterMs: 3_000 },
  },
  booking: {
    extends: 'non-idempotent',
    name: 'booking',
    timeout: { attemptMs: 1_000, totalMs: 6_000, connectMs: 500 },
    retry: { maxAttempts: 4, backoff: { initialMs: 100, maxMs: 500 }, maxRetryAfterMs: 3_000 },
  },
  payment: {
    extends: 'payment',
    name: 'payment',
    timeout: { attemptMs: 1_000, totalMs: 8_000, connectMs: 500 },
    retry: { backoff: { initialMs: 100, maxMs: 500 }, maxRetryAfterMs: 3_000 },
  },
  image: imageProfile,
};

export const TOOL_NAMES = [
  'search_flights',
  'search_hotels',
  'book_flight',
  'book_hotel',
  'charge_card',
  'generate_itinerary_image',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The tools with a `reconcile` hook: they can find out whether an operation in doubt took effect. */
export const RECONCILING_TOOLS: ReadonlySet<string> = new Set(['charge_card', 'generate_itinerary_image']);

export function registerTravelTools(registry: Registry, api: TravelApi, baseUrl: string): void {
  registry.register({
    name: 'search_flights',
    description:
      'Round-trip flight offers between two airports. Returns offers with an offer_id and a price.',
    effect: 'idempotent',
    profile: 'search',
    input: z.object({ from: iata, to: iata, depart: date, return: date.optional() }),
    execute: (input, ctx) => api.searchFlights(ctx.fetch, input),
  });

  registry.register({
    name: 'search_hotels',
    description:
      'Hotels in a city, optionally in one area (neighbourhood), for the given nights. Returns hotels with a hotel_id and a nightly price.',
    effect: 'idempotent',
    profile: 'search',
    input: z.object({
      city: z.string().min(1),
      area: z.string().min(1).optional().describe('A neighbourhood, e.g. Alfama'),
      check_in: date,
      check_out: date,
    }),
    execute: (input, ctx) => api.searchHotels(ctx.fetch, input),
  });

  registry.register({
    name: 'book_flight',
    description: 'Books a flight offer for one traveller. Each successful call books a seat.',
    profile: 'booking',
    input: z.object({
      offer_id: z.string().min(1),
      traveller: z.string().min(1).describe('Full name as on the passport'),
    }),
    idempotency: {
      // The airline de-duplicates by Idempotency-Key, so a retry after a lost answer is safe.
      honored: true,
      // The same offer for the same traveller in this conversation is one booking, whichever turn asks.
      key: 'content',
    },
    execute: (input, ctx) => api.bookFlight(ctx.fetch, input),
  });

  registry.register({
    name: 'book_hotel',
    description: 'Books a hotel for the given nights. Each successful call books a room.',
    profile: 'booking',
    input: z.object({
      hotel_id: z.string().min(1),
      check_in: date,
      check_out: date,
      guest: z.string().min(1),
    }),
    idempotency: { honored: true, key: 'content' },
    execute: (input, ctx) => api.bookHotel(ctx.fetch, input),
  });

  registry.register({
    name: 'charge_card',
    description: 'Charges the card on file for the given bookings. Each successful call moves money.',
    profile: 'payment',
    input: z.object({
      amount_eur: z.number().positive(),
      description: z.string().min(1).max(200),
      bookings: z.array(z.string().min(1)).min(1).describe('The booking references this charge pays for'),
    }),
    idempotency: {
      honored: true,
      // The natural name of this operation: paying for these bookings. A second charge for the same
      // bookings, from any turn, replays the first; the same bookings with another amount is refused.
      key: (input) =>
        `charge-${[...input.bookings]
          .sort()
          .join('+')
          .replace(/[^\x21-\x7e]/g, '_')}`.slice(0, 255),
      // A second line of defence behind the key: the payment API can say which charge a key made,
      // so a charge whose answer was lost is found rather than made again.
      reconcile: async (key, _input, ctx) => {
        const charge = await api.findCharge(ctx.fetch, key);
        return charge === undefined ? { found: false } : { found: true, value: charge };
      },
    },
    execute: (input, ctx) => api.charge(ctx.fetch, input),
  });

  registerImageTool(registry, {
    baseUrl,
    name: 'generate_itinerary_image',
    description:
      'Draws one picture for the trip itinerary from a prompt. Each successful call renders and bills a new image.',
    profile: 'image',
    // The same picture asked for again in this conversation is the same image, not a second one.
    key: 'content',
  });
}
