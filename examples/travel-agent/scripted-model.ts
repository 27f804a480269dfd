/**
 * The offline model: a script that plays a travel agent. It keeps no state
 * between requests — every decision is read from the conversation it is
 * sent, as a real model's is — so a conversation can move from one provider
 * to the other at any turn and carry on.
 *
 * One trait of real models is scripted on purpose: a model that takes over
 * a conversation another model began re-issues the last action it finds in
 * the transcript, "to make sure it went through". Agent frameworks report
 * this as a cause of duplicate bookings; here it is what the idempotency
 * ledger is for.
 */
import { TRIP } from './trip.js';

/** One item of a conversation, from either wire format. */
export type Entry =
  | { readonly kind: 'user'; readonly text: string }
  | { readonly kind: 'assistant'; readonly text: string }
  | {
      readonly kind: 'call';
      readonly id: string;
      readonly name: string;
      readonly args: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'result'; readonly callId: string; readonly content: string; readonly isError: boolean };

export interface Decision {
  readonly text: string;
  readonly calls: readonly { readonly name: string; readonly args: Record<string, unknown> }[];
}

const SIDE_EFFECTS = new Set(['book_flight', 'book_hotel', 'charge_card', 'generate_itinerary_image']);

interface Outcome {
  readonly call: Extract<Entry, { kind: 'call' }>;
  /** The parsed result, or the error payload's `error`. */
  readonly value: Record<string, unknown>;
  readonly ok: boolean;
  /** The tool says it may have taken effect. */
  readonly unknown: boolean;
  readonly retryable: boolean;
}

function parse(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function outcomes(transcript: readonly Entry[]): Outcome[] {
  const calls = new Map<string, Extract<Entry, { kind: 'call' }>>();
  const out: Outcome[] = [];
  for (const e of transcript) {
    if (e.kind === 'call') calls.set(e.id, e);
    if (e.kind !== 'result') continue;
    const call = calls.get(e.callId);
    if (!call) continue;
    const parsed = parse(e.content);
    const error =
      typeof parsed.error === 'object' && parsed.error !== null
        ? (parsed.error as Record<string, unknown>)
        : undefined;
    out.push({
      call,
      value: error ?? parsed,
      ok: !e.isError && error === undefined,
      unknown: error?.outcome === 'unknown',
      retryable: error?.retryable === true,
    });
  }
  return out;
}

/** The latest outcome of calls of `name` whose arguments match `where`. */
function latest(
  all: readonly Outcome[],
  name: string,
  where: (args: Readonly<Record<string, unknown>>) => boolean = () => true,
): Outcome | undefined {
  for (let i = all.length - 1; i >= 0; i--) {
    const o = all[i]!;
    if (o.call.name === name && where(o.call.args)) return o;
  }
  return undefined;
}

function tries(
  all: readonly Outcome[],
  name: string,
  where: (a: Readonly<Record<string, unknown>>) => boolean,
) {
  return all.filter((o) => o.call.name === name && where(o.call.args)).length;
}

function say(text: string): Decision {
  return { text, calls: [] };
}

function errorMessage(o: Outcome): string {
  return typeof o.value.message === 'string' ? o.value.message : 'it failed';
}

/**
 * The next turn, from the conversation so far. `ownIdPrefix` is how this
 * provider's tool-call ids begin: calls with other ids were made by another
 * model, before a failover.
 */
export function decide(transcript: readonly Entry[], ownIdPrefix: string): Decision {
  const all = outcomes(transcript);
  const calls = transcript.filter((e): e is Extract<Entry, { kind: 'call' }> => e.kind === 'call');

  // Taking over another model's conversation: re-issue the last action found in it, once.
  const mine = calls.some((c) => c.id.startsWith(ownIdPrefix));
  if (!mine && calls.length > 0) {
    const last = [...all].reverse().find((o) => SIDE_EFFECTS.has(o.call.name) && o.ok);
    if (last) {
      return {
        text: `Picking up where the previous assistant left off: let me make sure ${last.call.name.replace(/_/g, ' ')} went through.`,
        calls: [{ name: last.call.name, args: { ...last.call.args } }],
      };
    }
  }

  // 1. Search: flights, and hotels in each area, all at once; a failed search is tried once more.
  const needed: Decision['calls'][number][] = [];
  const flightArgs = { from: TRIP.from, to: TRIP.to, depart: TRIP.depart, return: TRIP.return };
  const flights = latest(all, 'search_flights');
  if (!flights || (!flights.ok && flights.retryable && tries(all, 'search_flights', () => true) < 2))
    needed.push({ name: 'search_flights', args: flightArgs });
  const hotelResults: Outcome[] = [];
  for (const area of TRIP.areas) {
    const inArea = (a: Readonly<Record<string, unknown>>) => a.area === area;
    const h = latest(all, 'search_hotels', inArea);
    if (h?.ok) hotelResults.push(h);
    if (!h || (!h.ok && h.retryable && tries(all, 'search_hotels', inArea) < 2)) {
      needed.push({
        name: 'search_hotels',
        args: { city: TRIP.city, area, check_in: TRIP.depart, check_out: TRIP.return },
      });
    }
  }
  if (needed.length > 0) {
    return {
      text:
        needed.length === 1 + TRIP.areas.length ? 'Let me search flights and hotels.' : 'Searching again.',
      calls: needed,
    };
  }
  if (!flights?.ok) return say(`I could not find flights: ${flights ? errorMessage(flights) : 'no answer'}.`);
  if (hotelResults.length === 0) return say('I could not find any hotel: every hotel search failed.');

  // 2. Book the cheapest flight and the cheapest hotel in the preferred area (else anywhere).
  const offers = (flights.value.offers ?? []) as { offer_id: string; price_eur: number }[];
  const offer = [...offers].sort((a, b) => a.price_eur - b.price_eur)[0];
  if (!offer) return say('There are no flights on those dates.');
  const hotels = hotelResults.flatMap(
    (h) => (h.value.hotels ?? []) as { hotel_id: string; area: string; nightly_eur: number }[],
  );
  const preferred = hotels.filter((h) => h.area === TRIP.preferredArea);
  const hotel = [...(preferred.length > 0 ? preferred : hotels)].sort(
    (a, b) => a.nightly_eur - b.nightly_eur,
  )[0];
  if (!hotel) return say('The hotel searches came back empty.');

  const step = (
    name: string,
    args: Record<string, unknown>,
    what: string,
  ): { decision?: Decision; value?: Record<string, unknown> } => {
    const o = latest(all, name);
    if (!o || (!o.ok && o.retryable && !o.unknown && tries(all, name, () => true) < 2))
      return { decision: { text: '', calls: [{ name, args }] } };
    if (o.ok) return { value: o.value };
    if (o.unknown)
      return {
        decision: say(
          `I could not confirm ${what}: the service may have done it, so I will not try again. ${errorMessage(o)} Please check before anything else is charged.`,
        ),
      };
    return { decision: say(`I could not ${what}: ${errorMessage(o)}.`) };
  };

  const flightStep = step(
    'book_flight',
    { offer_id: offer.offer_id, traveller: TRIP.traveller },
    'book the flight',
  );
  const hotelStep = step(
    'book_hotel',
    { hotel_id: hotel.hotel_id, check_in: TRIP.depart, check_out: TRIP.return, guest: TRIP.traveller },
    'book the hotel',
  );
  const bookingCalls = [...(flightStep.decision?.calls ?? []), ...(hotelStep.decision?.calls ?? [])];
  if (bookingCalls.length > 0) return { text: 'Booking the flight and the hotel.', calls: bookingCalls };
  if (flightStep.decision) return flightStep.decision;
  if (hotelStep.decision) return hotelStep.decision;
  const booking = flightStep.value!;
  const stay = hotelStep.value!;

  // 3. One charge for both bookings.
  const amount = Number(booking.price_eur) + Number(stay.total_eur);
  const chargeStep = step(
    'charge_card',
    {
      amount_eur: amount,
      description: `Trip to ${TRIP.city}, ${TRIP.depart} to ${TRIP.return}`,
      bookings: [String(booking.booking_ref), String(stay.reservation)],
    },
    'charge the card',
  );
  if (chargeStep.decision)
    return chargeStep.decision.calls.length > 0
      ? { text: `Both are booked; charging €${amount}.`, calls: chargeStep.decision.calls }
      : chargeStep.decision;
  const charge = chargeStep.value!;

  // 4. The picture; its failure does not undo the trip.
  const prompt = `A watercolor itinerary card: Lisbon's Alfama rooftops, a TAP plane overhead, ${TRIP.depart} to ${TRIP.return}`;
  const image = latest(all, 'generate_itinerary_image');
  if (!image)
    return {
      text: 'Paid. Now the itinerary picture.',
      calls: [{ name: 'generate_itinerary_image', args: { prompt } }],
    };

  const picture = image.ok
    ? `Your itinerary picture: ${String(image.value.url)}.`
    : image.unknown
      ? 'The picture may have been drawn, but the image service could not confirm it; I did not ask for a second one, so you are not billed twice — it will appear in your account if it was made.'
      : `I could not draw the itinerary picture (${errorMessage(image)}).`;
  return say(
    `Your trip is booked. Flight ${String(booking.booking_ref)} (${String(booking.offer_id)}), ` +
      `${String(stay.nights)} nights at ${String(stay.hotel)} (reservation ${String(stay.reservation)}), ` +
      `€${String(charge.amount_eur)} charged once to the card on file (${String(charge.charge_id)}). ${picture}`,
  );
}
