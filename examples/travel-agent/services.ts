/**
 * The travel services the agent's tools call, on one local server
 * (127.0.0.1, random port), each endpoint with its faults from the schedule:
 *
 *   GET  /flights/search?from&to&depart&return      idempotent
 *   POST /flights/bookings   { offer_id, traveller } de-duplicates by Idempotency-Key
 *   GET  /hotels/search?city&area&check_in&check_out idempotent, rate-limited
 *   POST /hotels/bookings    { hotel_id, check_in, check_out, guest } de-duplicates by Idempotency-Key
 *   POST /payments/charges   { amount_eur, description, bookings } de-duplicates by Idempotency-Key
 *   GET  /payments/charges?idempotency_key=          the charge made under a key, if any
 *   POST|GET /v1/images                              the image API (no key support), see image-generation/
 *
 * The key-honoring endpoints behave as Stripe's do: the first request under
 * a key is done and its answer stored; a repeat with the same body gets the
 * stored answer (`Idempotent-Replayed: true`) and does nothing; a repeat with
 * another body is refused. Counters record what really happened — seats,
 * rooms, charges, images — which is what the summary trusts.
 */
import { createImageService, type ImageService } from '../image-generation/image-service.js';
import { FaultQueue, RateLimitWindow, serve, type Work } from '../shared/faults.js';
import { type Exchange, type LocalServer, startLocalServer } from '../shared/local-http.js';
import type { FaultSchedule } from './schedule.js';

export interface ServiceStats {
  readonly requests: Record<Endpoint, number>;
  /** Bookings and charges really made (a replay under a key is not another one). */
  readonly seats: number;
  readonly rooms: number;
  readonly charges: number;
  readonly chargedEur: number;
  readonly images: number;
  /** Images beyond the first for the same prompt. */
  readonly duplicateImages: number;
  /** Hotel searches refused with a 429 while the rate limit lasted: the herd the service had to turn away. */
  readonly hotelSearchesRefused: number;
  /** Requests answered from an idempotency key's stored answer instead of being done again. */
  readonly keyReplays: number;
}

export type Endpoint =
  | 'searchFlights'
  | 'searchHotels'
  | 'bookFlight'
  | 'bookHotel'
  | 'charge'
  | 'chargeLookup'
  | 'imageCreate'
  | 'imageLookup';

export interface TravelServices extends LocalServer {
  stats(): ServiceStats;
}

interface Offer {
  readonly offer_id: string;
  readonly carrier: string;
  readonly outbound: { flight: string; departs: string };
  readonly inbound: { flight: string; departs: string } | null;
  readonly price_eur: number;
}

interface Hotel {
  readonly hotel_id: string;
  readonly name: string;
  readonly area: string;
  readonly nightly_eur: number;
}

const CARRIERS = [
  { code: 'TP', name: 'TAP Air Portugal', base: 238, times: ['07:05', '19:40'] },
  { code: 'KL', name: 'KLM', base: 264, times: ['09:30', '17:15'] },
  { code: 'HV', name: 'Transavia', base: 189, times: ['06:10', '21:55'] },
] as const;

const HOTELS: Record<string, readonly [string, number][]> = {
  alfama: [
    ['Memmo Alfama', 189],
    ['Casa Amora', 142],
  ],
  baixa: [
    ['My Story Rossio', 121],
    ['Hotel Baixa House', 158],
  ],
  chiado: [
    ['Bairro Alto Hotel', 310],
    ['Chiado Loft', 134],
  ],
};

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Deterministic offers for any route, so a real model's own choice of airports works too. */
function offersFor(from: string, to: string, depart: string, back: string | null): Offer[] {
  return CARRIERS.map((c, i) => ({
    offer_id: `${c.code}${1351 + i * 170}-${from}-${to}`.toUpperCase(),
    carrier: c.name,
    outbound: { flight: `${c.code} ${1351 + i * 170}`, departs: `${depart}T${c.times[0]}` },
    inbound: back ? { flight: `${c.code} ${1352 + i * 170}`, departs: `${back}T${c.times[1]}` } : null,
    price_eur: c.base + (back ? 120 : 0),
  }));
}

function hotelsFor(city: string, area: string): Hotel[] {
  const known = HOTELS[slug(area)] ?? [
    [`${area} Guesthouse`, 118],
    [`Grand Hotel ${city}`, 205],
  ];
  return known.map(([name, nightly]) => ({ hotel_id: slug(name), name, area, nightly_eur: nightly }));
}

function nights(checkIn: string, checkOut: string): number {
  const ms = Date.parse(checkOut) - Date.parse(checkIn);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms / 86_400_000) : Number.NaN;
}

function invalid(message: string): Work {
  return { status: 400, body: { error: { type: 'invalid_request', message } } };
}

/** Stripe's rules for a key-honoring endpoint: do once, replay the stored answer, refuse another body. */
class KeyedStore {
  private readonly done = new Map<string, { body: string; work: Work }>();
  replays = 0;

  run(ex: Exchange, doWork: () => Work): Work {
    const key = ex.header('idempotency-key');
    if (key === undefined) return doWork();
    const body = JSON.stringify(ex.body ?? null);
    const prior = this.done.get(key);
    if (prior) {
      if (prior.body !== body)
        return {
          status: 422,
          body: { error: { type: 'idempotency_error', message: 'key reused with other parameters' } },
        };
      this.replays++;
      return { ...prior.work, headers: { ...prior.work.headers, 'idempotent-replayed': 'true' } };
    }
    const work = doWork();
    // Only a success is remembered: a refused request did nothing and may be sent again.
    if ((work.status ?? 200) < 300) this.done.set(key, { body, work });
    return work;
  }

  get(key: string): Work | undefined {
    return this.done.get(key)?.work;
  }
}

export async function startTravelServices(schedule: FaultSchedule): Promise<TravelServices> {
  const queue = {
    searchFlights: new FaultQueue(schedule.searchFlights),
    searchHotels: new FaultQueue(schedule.searchHotels),
    bookFlight: new FaultQueue(schedule.bookFlight),
    bookHotel: new FaultQueue(schedule.bookHotel),
    charge: new FaultQueue(schedule.charge),
  };
  const windows = {
    hotels: new RateLimitWindow(),
    // The other endpoints are not rate-limited; a window that never opens keeps `serve` uniform.
    never: new RateLimitWindow(),
  };
  const flightKeys = new KeyedStore();
  const hotelKeys = new KeyedStore();
  const paymentKeys = new KeyedStore();
  const images: ImageService = createImageService({
    renderMs: 300,
    createFaults: schedule.imageCreate,
    lookupFaults: schedule.imageLookup,
  });
  const requests: Record<Endpoint, number> = {
    searchFlights: 0,
    searchHotels: 0,
    bookFlight: 0,
    bookHotel: 0,
    charge: 0,
    chargeLookup: 0,
    imageCreate: 0,
    imageLookup: 0,
  };
  const offers = new Map<string, Offer>();
  const hotels = new Map<string, Hotel>();
  let seats = 0;
  let rooms = 0;
  let charges = 0;
  let chargedEur = 0;
  const chargesByKey = new Map<string, unknown>();

  function route(ex: Exchange): void {
    const { pathname, searchParams: q } = ex.url;
    const body = (ex.body ?? {}) as Record<string, unknown>;
    const key = `${ex.method} ${pathname}`;
    switch (key) {
      case 'GET /flights/search': {
        requests.searchFlights++;
        serve(ex, queue.searchFlights, windows.never, () => {
          const from = q.get('from') ?? '';
          const to = q.get('to') ?? '';
          const depart = q.get('depart') ?? '';
          if (!/^[A-Z]{3}$/.test(from) || !/^[A-Z]{3}$/.test(to) || depart === '')
            return invalid('from and to must be IATA codes, depart a date');
          const found = offersFor(from, to, depart, q.get('return'));
          for (const o of found) offers.set(o.offer_id, o);
          return { body: { offers: found } };
        });
        return;
      }
      case 'GET /hotels/search': {
        requests.searchHotels++;
        serve(ex, queue.searchHotels, windows.hotels, () => {
          const city = q.get('city') ?? '';
          const area = q.get('area') ?? city;
          if (city === '') return invalid('city is required');
          const found = hotelsFor(city, area);
          for (const h of found) hotels.set(h.hotel_id, h);
          return { body: { hotels: found } };
        });
        return;
      }
      case 'POST /flights/bookings': {
        requests.bookFlight++;
        serve(ex, queue.bookFlight, windows.never, () =>
          flightKeys.run(ex, () => {
            const offer = offers.get(String(body.offer_id));
            if (!offer)
              return { status: 404, body: { error: { type: 'not_found', message: 'no such offer' } } };
            seats++;
            return {
              status: 201,
              body: {
                booking_ref: `PNR-${(0x51a7 + seats * 0x3d1).toString(36).toUpperCase()}`,
                offer_id: offer.offer_id,
                traveller: body.traveller,
                status: 'confirmed',
                price_eur: offer.price_eur,
              },
            };
          }),
        );
        return;
      }
      case 'POST /hotels/bookings': {
        requests.bookHotel++;
        serve(ex, queue.bookHotel, windows.never, () =>
          hotelKeys.run(ex, () => {
            const hotel = hotels.get(String(body.hotel_id));
            if (!hotel)
              return { status: 404, body: { error: { type: 'not_found', message: 'no such hotel' } } };
            const n = nights(String(body.check_in), String(body.check_out));
            if (!(n > 0)) return invalid('check_out must be after check_in');
            rooms++;
            return {
              status: 201,
              body: {
                reservation: `H-${1000 + rooms}`,
                hotel: hotel.name,
                nights: n,
                total_eur: n * hotel.nightly_eur,
                status: 'confirmed',
              },
            };
          }),
        );
        return;
      }
      case 'POST /payments/charges': {
        requests.charge++;
        serve(ex, queue.charge, windows.never, () =>
          paymentKeys.run(ex, () => {
            const amount = body.amount_eur;
            if (typeof amount !== 'number' || !(amount > 0)) return invalid('amount_eur must be positive');
            charges++;
            chargedEur += amount;
            const charge = { charge_id: `ch_${charges}`, amount_eur: amount, status: 'succeeded' };
            const k = ex.header('idempotency-key');
            if (k !== undefined) chargesByKey.set(k, charge);
            return { status: 201, body: charge };
          }),
        );
        return;
      }
      case 'GET /payments/charges': {
        requests.chargeLookup++;
        const k = q.get('idempotency_key');
        const found = k === null ? undefined : chargesByKey.get(k);
        ex.json(200, { data: found ? [found] : [] });
        return;
      }
      default:
        if (pathname === '/v1/images') {
          if (ex.method === 'POST') requests.imageCreate++;
          else requests.imageLookup++;
          images.handle(ex);
          return;
        }
        ex.json(404, { error: { type: 'not_found', message: key } });
    }
  }

  const server = await startLocalServer(route);
  return {
    ...server,
    stats: () => ({
      requests: { ...requests },
      seats,
      rooms,
      charges,
      chargedEur,
      images: images.jobs.length,
      duplicateImages: images.duplicates,
      hotelSearchesRefused: windows.hotels.refused,
      keyReplays: flightKeys.replays + hotelKeys.replays + paymentKeys.replays,
    }),
  };
}
