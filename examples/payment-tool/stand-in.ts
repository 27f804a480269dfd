/**
 * Not part of the example: a local stand-in for a payment API, so that it runs
 * offline — the fake payment API of `breakwater/testing`. It de-duplicates by
 * Idempotency-Key, as Stripe does, and loses the answer to the first request
 * on the way back (it charges, then cuts the connection): the case where a
 * naive retry charges twice.
 */
import { createFakePaymentApi } from 'breakwater/testing';

export async function startPaymentStandIn() {
  const api = await createFakePaymentApi();
  api.inject(['reset_after_processing']); // charged, but the answer never arrives
  return { url: api.url, charges: () => api.charges.length, close: () => api.close() };
}
