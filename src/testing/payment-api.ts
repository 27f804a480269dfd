/**
 * A fake payment API that honors `Idempotency-Key` the way Stripe does: the
 * same key replays the stored answer, the same key still in flight gets a
 * 409, the same key with another body a 422. `GET /v1/charges?order=` lists
 * an order's charges, for reconciliation.
 */
import {
  type Answer,
  afterProcessing,
  type FakeService,
  type FakeServiceOptions,
  startServiceServer,
} from './service-server.js';

export interface Charge {
  readonly id: string;
  readonly order: string;
  readonly amount: number;
  readonly currency: string;
}

export interface PaymentApi extends FakeService {
  /** Every charge made, in order: the money that really moved. */
  readonly charges: readonly Charge[];
  chargesFor(order: string): number;
  /** Answers given by key: `replayed`, `conflict` (409) and `mismatch` (422). */
  readonly keyAnswers: { replayed: number; conflict: number; mismatch: number };
}

/** Starts the payment API on 127.0.0.1 at a free port; its action route is `POST /v1/charges`. */
export async function createFakePaymentApi(options: FakeServiceOptions = {}): Promise<PaymentApi> {
  const charges: Charge[] = [];
  const keyAnswers = { replayed: 0, conflict: 0, mismatch: 0 };
  const byKey = new Map<
    string,
    { body: string; state: 'in_flight' } | { body: string; state: 'done'; answer: unknown }
  >();

  const base = await startServiceServer({
    ...options,
    action: 'POST /v1/charges',
    handle(_req, ctx) {
      const { body, idempotencyKey: key } = ctx;
      let parsed: { amount?: unknown; currency?: unknown; order?: unknown };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        ctx.send({ status: 400, body: { error: { message: 'invalid JSON' } } });
        return;
      }
      // The key is looked at on arrival: a request held before processing keeps its key in flight.
      const admit = (): Answer | undefined => {
        if (key === undefined) return undefined;
        const seen = byKey.get(key);
        if (seen && seen.body !== body) {
          keyAnswers.mismatch++;
          return {
            status: 422,
            body: { error: { message: 'idempotency key reused with different parameters' } },
          };
        }
        if (seen?.state === 'in_flight') {
          keyAnswers.conflict++;
          return { status: 409, body: { error: { message: 'a request with this key is in progress' } } };
        }
        if (seen?.state === 'done') {
          keyAnswers.replayed++;
          return { status: 200, body: seen.answer, headers: { 'idempotent-replayed': 'true' } };
        }
        byKey.set(key, { body, state: 'in_flight' });
        return undefined;
      };
      const charge = (): Answer => {
        const c: Charge = {
          id: `ch_${charges.length + 1}`,
          order: String(parsed.order),
          amount: Number(parsed.amount),
          currency: String(parsed.currency),
        };
        charges.push(c);
        ctx.processed();
        const answer = { ...c, status: 'succeeded' };
        if (key !== undefined) byKey.set(key, { body, state: 'done', answer });
        return { status: 200, body: answer };
      };
      const early = admit();
      if (ctx.fault === 'slow_before_processing') {
        ctx.stall(early ? undefined : () => charge());
        return;
      }
      const a = early ?? charge();
      if (!afterProcessing(ctx)) ctx.send(a);
    },
    other(req, url, send) {
      // Stripe-like lookup by order, for reconciliation.
      if (req.method === 'GET' && url.pathname === '/v1/charges') {
        const order = url.searchParams.get('order');
        send({ status: 200, body: { data: charges.filter((c) => c.order === order) } });
        return true;
      }
      return false;
    },
  });
  return {
    ...base,
    get requests() {
      return base.requests();
    },
    charges,
    chargesFor: (order) => charges.filter((c) => c.order === order).length,
    keyAnswers,
  };
}
