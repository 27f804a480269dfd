/**
 * A payment tool an agent can call safely: the payment API de-duplicates by
 * Idempotency-Key, so breakwater retries a charge whose answer was lost under
 * the same key, and the ledger answers a second delivery of the same tool call
 * without charging again.
 *
 * Run: `npm run example:payment` (offline, against a local stand-in), or set
 * PAYMENTS_URL to an API of yours that takes POST /v1/charges.
 */
import { pathToFileURL } from 'node:url';
import { createRegistry } from 'breakwater';
import { z } from 'zod';
import { startPaymentStandIn } from './stand-in.js';

export async function runPaymentExample(log: (line: string) => void = console.log) {
  const standIn = process.env.PAYMENTS_URL ? undefined : await startPaymentStandIn();
  const paymentsUrl = process.env.PAYMENTS_URL ?? standIn?.url;

  const registry = createRegistry({
    // Say what the policy decides, as it decides it.
    observer: {
      event: (e) => {
        if (e.type === 'retry_scheduled')
          log(
            `  retry: ${e.failure.kind} (${e.failure.delivery}), attempt ${e.attempt} in ${Math.round(e.delayMs)} ms`,
          );
      },
    },
  });

  const chargeCard = registry.register({
    name: 'charge_card',
    description: 'Charges the customer card on file for an order.',
    input: z.object({
      order: z.string(),
      amount: z.number().int().positive(),
      currency: z.enum(['eur', 'usd']),
    }),
    output: z.object({ id: z.string(), status: z.string() }),
    idempotency: { honored: true }, // the API de-duplicates by Idempotency-Key
    profile: 'payment',
    execute: async (input, ctx) => {
      // ctx.fetch sends the operation's Idempotency-Key on every attempt and throws HttpError on non-2xx.
      const res = await ctx.fetch(`${paymentsUrl}/v1/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return res.json();
    },
  });

  try {
    const order = { order: 'A-17', amount: 4_200, currency: 'eur' } as const;
    // A model's tool call: its call id is where the idempotency key comes from.
    const charge = await chargeCard.call(order, { callId: 'call_8f2', deadlineMs: 20_000 });
    log(`charged: ${charge.id} (${charge.status})`);

    // The same tool call delivered again (a resumed conversation): replayed, not charged again.
    const again = await chargeCard.call(order, { callId: 'call_8f2' });
    log(`delivered again: ${again.id}, replayed from the ledger`);
    return { charge, again, charges: standIn?.charges() };
  } finally {
    await standIn?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { charges } = await runPaymentExample();
  if (charges !== undefined) console.log(`the payment API made ${charges} charge(s)`);
}
