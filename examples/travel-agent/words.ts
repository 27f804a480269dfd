/** Failures, tools and results in the words a person reads in the demo's output. */
import type { Failure } from 'breakwater';
import { duration, euros } from '../shared/style.js';

export function failureWords(f: Failure): string {
  if (f.status === 429) return 'HTTP 429 Too Many Requests';
  if (f.status === 529) return 'HTTP 529 Overloaded';
  if (f.status === 503) return 'HTTP 503 Service Unavailable';
  if (f.status !== undefined) return `HTTP ${f.status}`;
  if (f.code === 'attempt_timeout') return 'no answer in time';
  if (f.kind === 'timeout') return 'timed out';
  if (f.kind === 'network') return f.delivery === 'not_sent' ? 'could not connect' : 'the connection was cut';
  return f.message;
}

/** What is known about whether the request reached the dependency. */
export function deliveryWords(f: Failure): string {
  switch (f.delivery) {
    case 'not_sent':
      return 'the request never went out';
    case 'not_processed':
      return 'the service said it did not act on it';
    case 'unknown':
      return 'after the request was sent, so it may have been done';
    case 'processed':
      return 'a definite answer';
  }
}

function record(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') {
    try {
      return record(JSON.parse(v));
    } catch {
      return {};
    }
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A tool call, told apart from its siblings by the argument that matters. */
export function callLabel(tool: string, args: unknown): string {
  const a = record(args);
  switch (tool) {
    case 'search_flights':
      return `search_flights ${String(a.from ?? '?')}→${String(a.to ?? '?')}`;
    case 'search_hotels':
      return `search_hotels ${String(a.area ?? a.city ?? '')}`.trim();
    case 'book_flight':
      return `book_flight ${String(a.offer_id ?? '')}`.trim();
    case 'book_hotel':
      return `book_hotel ${String(a.hotel_id ?? '')}`.trim();
    case 'charge_card':
      return typeof a.amount_eur === 'number' ? `charge_card ${euros(a.amount_eur)}` : 'charge_card';
    default:
      return tool;
  }
}

function cheapest(items: unknown, field: string): number | undefined {
  if (!Array.isArray(items)) return undefined;
  const prices = items.map((i) => Number(record(i)[field])).filter((n) => Number.isFinite(n));
  return prices.length > 0 ? Math.min(...prices) : undefined;
}

/** A tool's result in a few words; `how` adds whether the service replayed it under its key. */
export function resultWords(tool: string, value: unknown, how = true): string {
  const v = record(value);
  const once =
    how && v.idempotent_replayed === true
      ? ' — the service answered the retry from its idempotency-key cache: done once'
      : '';
  switch (tool) {
    case 'search_flights': {
      const n = Array.isArray(v.offers) ? v.offers.length : 0;
      const min = cheapest(v.offers, 'price_eur');
      return `${n} offers${min !== undefined ? `, from ${euros(min)}` : ''}`;
    }
    case 'search_hotels': {
      const n = Array.isArray(v.hotels) ? v.hotels.length : 0;
      const min = cheapest(v.hotels, 'nightly_eur');
      return `${n} hotels${min !== undefined ? `, from ${euros(min)} a night` : ''}`;
    }
    case 'book_flight':
      return `seat booked, ${String(v.booking_ref)}${once}`;
    case 'book_hotel':
      return `room booked, ${String(v.reservation)} (${String(v.nights)} nights at ${String(v.hotel)})${once}`;
    case 'charge_card':
      return `${typeof v.amount_eur === 'number' ? euros(v.amount_eur) : 'amount'} charged, ${String(v.charge_id)}${once}`;
    case 'generate_itinerary_image':
      return `${String(v.id)} ${String(v.url)}`;
    default:
      return 'done';
  }
}

export function waitWords(ms: number): string {
  return duration(ms);
}
