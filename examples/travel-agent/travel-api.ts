/**
 * The travel services' HTTP API as plain functions over a `fetch`. The same
 * functions run under breakwater (given `ctx.fetch`, which carries the
 * operation's signal and idempotency key) and under the naive wrapper (given
 * a bare fetch), so the comparison differs only in the resilience around them.
 * Every `fetch` passed here throws on a non-2xx answer.
 */
import type { FetchLike } from 'breakwater';

export interface FlightSearch {
  readonly from: string;
  readonly to: string;
  readonly depart: string;
  readonly return?: string | undefined;
}
export interface HotelSearch {
  readonly city: string;
  readonly area?: string | undefined;
  readonly check_in: string;
  readonly check_out: string;
}
export interface FlightBooking {
  readonly offer_id: string;
  readonly traveller: string;
}
export interface HotelBooking {
  readonly hotel_id: string;
  readonly check_in: string;
  readonly check_out: string;
  readonly guest: string;
}
export interface Charge {
  readonly amount_eur: number;
  readonly description: string;
  readonly bookings: readonly string[];
}
export interface ImageRequest {
  readonly prompt: string;
  readonly size?: string | undefined;
  readonly reference?: string | undefined;
}

const json = { 'content-type': 'application/json' };

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return q.toString();
}

export function travelApi(baseUrl: string) {
  const post = async (fetch: FetchLike, path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    const result: unknown = await res.json();
    // Stripe's header: this answer was stored under the key and replayed, the work was not done again.
    if (res.headers.get('idempotent-replayed') === 'true' && typeof result === 'object' && result !== null)
      return { ...result, idempotent_replayed: true };
    return result;
  };
  const get = async (fetch: FetchLike, path: string) => (await fetch(`${baseUrl}${path}`)).json();
  return {
    searchFlights: (fetch: FetchLike, s: FlightSearch): Promise<unknown> =>
      get(fetch, `/flights/search?${query({ from: s.from, to: s.to, depart: s.depart, return: s.return })}`),
    searchHotels: (fetch: FetchLike, s: HotelSearch): Promise<unknown> =>
      get(
        fetch,
        `/hotels/search?${query({ city: s.city, area: s.area, check_in: s.check_in, check_out: s.check_out })}`,
      ),
    bookFlight: (fetch: FetchLike, b: FlightBooking): Promise<unknown> => post(fetch, '/flights/bookings', b),
    bookHotel: (fetch: FetchLike, b: HotelBooking): Promise<unknown> => post(fetch, '/hotels/bookings', b),
    charge: (fetch: FetchLike, c: Charge): Promise<unknown> => post(fetch, '/payments/charges', c),
    /** The charge made under an idempotency key, or undefined. */
    findCharge: async (fetch: FetchLike, key: string): Promise<unknown> => {
      const { data } = (await get(fetch, `/payments/charges?${query({ idempotency_key: key })}`)) as {
        data: unknown[];
      };
      return data[0];
    },
    generateImage: (fetch: FetchLike, r: ImageRequest): Promise<unknown> => post(fetch, '/v1/images', r),
  };
}

export type TravelApi = ReturnType<typeof travelApi>;
